// SPDX-License-Identifier: Apache-2.0
//
// std::unique_ptr aliases for GLib/GObject/json-glib objects. C++ code owns
// these through RAII; g_autoptr is kept for C callbacks.
#pragma once

#include <memory>
#include <string>

#include <glib-object.h>
#include <glib.h>
#include <json-glib/json-glib.h>

namespace cvm {

struct GObjectUnref {
	void operator()(gpointer p) const { if (p) g_object_unref(p); }
};
template<typename T>
using GObjectPtr = std::unique_ptr<T, GObjectUnref>;

// Takes a new reference (for objects we borrow but want to keep).
template<typename T>
GObjectPtr<T> gobjectRef(T *p)
{
	return GObjectPtr<T>(p ? static_cast<T *>(g_object_ref(p)) : nullptr);
}

struct GErrorFree {
	void operator()(GError *e) const { if (e) g_error_free(e); }
};
using GErrorPtr = std::unique_ptr<GError, GErrorFree>;

struct GFree {
	void operator()(gpointer p) const { g_free(p); }
};
using GCharPtr = std::unique_ptr<gchar, GFree>;

struct GStrvFree {
	void operator()(gchar **p) const { g_strfreev(p); }
};
using GStrvPtr = std::unique_ptr<gchar *, GStrvFree>;

struct GBytesUnref {
	void operator()(GBytes *b) const { if (b) g_bytes_unref(b); }
};
using GBytesPtr = std::unique_ptr<GBytes, GBytesUnref>;

struct GMainContextUnref {
	void operator()(GMainContext *c) const { if (c) g_main_context_unref(c); }
};
using GMainContextPtr = std::unique_ptr<GMainContext, GMainContextUnref>;

struct GMainLoopUnref {
	void operator()(GMainLoop *l) const { if (l) g_main_loop_unref(l); }
};
using GMainLoopPtr = std::unique_ptr<GMainLoop, GMainLoopUnref>;

struct GSourceDestroy {
	void operator()(GSource *s) const
	{
		if (s) {
			g_source_destroy(s);
			g_source_unref(s);
		}
	}
};
// Owns a GSource *and* its attachment: resetting it detaches the source.
using GSourcePtr = std::unique_ptr<GSource, GSourceDestroy>;

struct GKeyFileFree {
	void operator()(GKeyFile *k) const { if (k) g_key_file_free(k); }
};
using GKeyFilePtr = std::unique_ptr<GKeyFile, GKeyFileFree>;

struct GOptionContextFree {
	void operator()(GOptionContext *c) const { if (c) g_option_context_free(c); }
};
using GOptionContextPtr = std::unique_ptr<GOptionContext, GOptionContextFree>;

struct JsonNodeFree {
	void operator()(JsonNode *n) const { if (n) json_node_unref(n); }
};
using JsonNodePtr = std::unique_ptr<JsonNode, JsonNodeFree>;

struct JsonObjectUnref {
	void operator()(JsonObject *o) const { if (o) json_object_unref(o); }
};
using JsonObjectPtr = std::unique_ptr<JsonObject, JsonObjectUnref>;

struct JsonArrayUnref {
	void operator()(JsonArray *a) const { if (a) json_array_unref(a); }
};
using JsonArrayPtr = std::unique_ptr<JsonArray, JsonArrayUnref>;

// Converts a borrowed C string that may be null.
inline std::string toString(const char *s)
{
	return s ? std::string(s) : std::string();
}

} // namespace cvm
