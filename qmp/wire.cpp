// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-qmp"

#include "cvm/qmp/wire.h"

#include <cstdio>

#include "cvm/common/json.h"

namespace cvm::qmp {

namespace {

bool holdsString(JsonNode *node)
{
	return node && JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == G_TYPE_STRING;
}

JsonNode *member(JsonObject *object, const char *name)
{
	return object ? json_object_get_member(object, name) : nullptr;
}

// Adds a copy of `node` (kept sealed nodes stay shared, which json-glib allows).
void setNode(JsonObject *object, const char *name, JsonNode *node)
{
	json_object_set_member(object, name, json_node_copy(node));
}

std::string serializeObject(JsonObject *object)
{
	return json::serialize(object, false);
}

JsonNodePtr refNode(JsonNode *node)
{
	return JsonNodePtr(node ? json_node_ref(node) : nullptr);
}

Error invalid(std::string message)
{
	return Error(ErrorCode::Protocol, std::move(message));
}

} // namespace

const char *messageKindName(MessageKind kind)
{
	switch (kind) {
	case MessageKind::Greeting: return "greeting";
	case MessageKind::Event: return "event";
	case MessageKind::Return: return "return";
	case MessageKind::Error: return "error";
	case MessageKind::Command: return "command";
	case MessageKind::Unknown: return "unknown";
	}
	return "unknown";
}

Result<JsonNodePtr> parseMessage(std::string_view text)
{
	auto node = json::parse(text);
	if (!node)
		return Error(ErrorCode::Protocol, "malformed QMP message: " + node.error().message());
	if (!JSON_NODE_HOLDS_OBJECT(node->get()))
		return Error(ErrorCode::Protocol, "malformed QMP message: not a JSON object");
	return std::move(node).value();
}

MessageKind classify(JsonObject *message)
{
	static const struct {
		const char *member;
		MessageKind kind;
	} kKeys[] = {
		{ "QMP", MessageKind::Greeting },     { "event", MessageKind::Event },
		{ "return", MessageKind::Return },    { "error", MessageKind::Error },
		{ "execute", MessageKind::Command },  { "exec-oob", MessageKind::Command },
	};
	MessageKind found = MessageKind::Unknown;
	int count = 0;
	for (const auto &k : kKeys) {
		if (message && json_object_has_member(message, k.member)) {
			// execute + exec-oob is one (invalid) command, not two kinds.
			if (count == 0 || found != k.kind)
				++count;
			found = k.kind;
		}
	}
	return count == 1 ? found : MessageKind::Unknown;
}

// --- greeting -------------------------------------------------------------

std::string Version::toString() const
{
	std::string s = std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(micro);
	if (!package.empty())
		s += " (" + package + ")";
	return s;
}

bool Greeting::hasCapability(std::string_view name) const
{
	for (const auto &c : capabilities)
		if (c == name)
			return true;
	return false;
}

Result<Greeting> parseGreeting(JsonObject *message)
{
	auto run = [&]() -> Result<Greeting> {
		JsonObject *qmp = CVM_TRY(json::getObject(message, "QMP"));
		JsonObject *version = CVM_TRY(json::getObject(qmp, "version"));
		JsonObject *qemu = CVM_TRY(json::getObject(version, "qemu"));
		Greeting g;
		g.version.major = CVM_TRY(json::getInt(qemu, "major"));
		g.version.minor = CVM_TRY(json::getInt(qemu, "minor"));
		g.version.micro = CVM_TRY(json::getInt(qemu, "micro"));
		g.version.package = CVM_TRY(json::getOptionalString(version, "package")).value_or("");
		JsonArray *caps = CVM_TRY(json::getArray(qmp, "capabilities"));
		for (guint i = 0; i < json_array_get_length(caps); ++i)
			g.capabilities.push_back(
				CVM_TRY(json::nodeString(json_array_get_element(caps, i), "capability")));
		return g;
	};
	auto g = run();
	if (!g)
		return invalid("malformed QMP greeting: " + g.error().message());
	return g;
}

std::string buildGreeting(const Greeting &greeting)
{
	json::ObjectBuilder qemu;
	qemu.setInt("micro", greeting.version.micro)
		.setInt("minor", greeting.version.minor)
		.setInt("major", greeting.version.major);
	json::ObjectBuilder version;
	version.setObject("qemu", std::move(qemu)).setString("package", greeting.version.package);
	JsonArrayPtr caps(json_array_new());
	for (const auto &c : greeting.capabilities)
		json_array_add_string_element(caps.get(), c.c_str());
	JsonNodePtr capsNode(json_node_new(JSON_NODE_ARRAY));
	json_node_set_array(capsNode.get(), caps.get());
	json::ObjectBuilder qmp;
	qmp.setObject("version", std::move(version)).setNode("capabilities", std::move(capsNode));
	json::ObjectBuilder root;
	root.setObject("QMP", std::move(qmp));
	return root.serialize();
}

// --- events ---------------------------------------------------------------

Event Event::clone() const
{
	Event e;
	e.name = name;
	e.data = refNode(data.get());
	e.seconds = seconds;
	e.microseconds = microseconds;
	e.wireSize = wireSize;
	return e;
}

std::string Event::dataString(std::string_view name) const
{
	if (!data || !JSON_NODE_HOLDS_OBJECT(data.get()))
		return {};
	auto s = json::getOptionalString(json_node_get_object(data.get()), name);
	return s && *s ? **s : std::string();
}

Result<Event> parseEvent(JsonObject *message)
{
	Event e;
	auto name = json::getString(message, "event");
	if (!name)
		return invalid("malformed QMP event: " + name.error().message());
	e.name = std::move(name).value();
	e.data = refNode(member(message, "data"));
	JsonNode *ts = member(message, "timestamp");
	if (ts && JSON_NODE_HOLDS_OBJECT(ts)) {
		JsonObject *t = json_node_get_object(ts);
		e.seconds = json::getInt(t, "seconds").valueOr(-1);
		e.microseconds = json::getInt(t, "microseconds").valueOr(-1);
	}
	return e;
}

std::string buildEvent(std::string_view name, JsonNode *data, int64_t seconds, int64_t microseconds)
{
	if (seconds < 0) {
		gint64 now = g_get_real_time();
		seconds = now / G_USEC_PER_SEC;
		microseconds = now % G_USEC_PER_SEC;
	}
	json::ObjectBuilder ts;
	ts.setInt("seconds", seconds).setInt("microseconds", microseconds);
	json::ObjectBuilder root;
	root.setObject("timestamp", std::move(ts)).setString("event", name);
	if (data)
		setNode(root.object(), "data", data);
	return root.serialize();
}

// --- replies --------------------------------------------------------------

Result<Reply> parseReply(JsonObject *message)
{
	Reply r;
	r.id = refNode(member(message, "id"));
	if (JsonNode *value = member(message, "return")) {
		r.ok = true;
		r.value = refNode(value);
		return r;
	}
	auto error = json::getObject(message, "error");
	if (!error)
		return invalid("malformed QMP reply: " + error.error().message());
	auto cls = json::getString(*error, "class");
	auto desc = json::getString(*error, "desc");
	if (!cls || !desc)
		return invalid("malformed QMP error reply: " +
			       (!cls ? cls.error() : desc.error()).message());
	r.errorClass = std::move(cls).value();
	r.errorDesc = std::move(desc).value();
	return r;
}

std::string buildReturn(JsonNode *value, JsonNode *id)
{
	JsonObjectPtr o(json_object_new());
	if (value)
		setNode(o.get(), "return", value);
	else
		json_object_set_object_member(o.get(), "return", json_object_new());
	if (id)
		setNode(o.get(), "id", id);
	return serializeObject(o.get());
}

std::string buildErrorReply(std::string_view errorClass, std::string_view desc, JsonNode *id)
{
	JsonObjectPtr o(json_object_new());
	if (id)
		setNode(o.get(), "id", id);
	JsonObject *e = json_object_new();
	json_object_set_string_member(e, "class", std::string(errorClass).c_str());
	json_object_set_string_member(e, "desc", std::string(desc).c_str());
	json_object_set_object_member(o.get(), "error", e);
	return serializeObject(o.get());
}

Error remoteError(std::string_view command, std::string_view errorClass, std::string_view desc)
{
	return Error(ErrorCode::Remote, std::string(command) + ": " + std::string(desc),
		     std::string(errorClass));
}

std::string_view remoteErrorDesc(const Error &error, std::string_view command)
{
	std::string_view m = error.message();
	std::string prefix = std::string(command) + ": ";
	if (m.substr(0, prefix.size()) == prefix)
		m.remove_prefix(prefix.size());
	return m;
}

// --- commands -------------------------------------------------------------

namespace {

// Characters that a JSON string holds as they are (no escape needed) and that
// every QMP command name and our ids are made of.
bool plainJsonText(std::string_view s)
{
	for (char c : s)
		if (!g_ascii_isalnum(c) && c != '-' && c != '_' && c != '.' && c != ':')
			return false;
	return true;
}

} // namespace

std::string buildCommand(std::string_view name, JsonObject *arguments, JsonNode *id, bool oob)
{
	// Written directly, byte for byte what json-glib would make of the same
	// object: this is every command's hot path, and a JsonObject plus a
	// generator cost more than the rest of sending it.
	bool plainId = !id || (holdsString(id) && plainJsonText(json_node_get_string(id)));
	if (!plainJsonText(name) || !plainId) {
		JsonObjectPtr o(json_object_new());
		json_object_set_string_member(o.get(), oob ? "exec-oob" : "execute", std::string(name).c_str());
		if (arguments)
			json_object_set_object_member(o.get(), "arguments", json_object_ref(arguments));
		if (id)
			setNode(o.get(), "id", id);
		return serializeObject(o.get());
	}
	std::string text = oob ? "{\"exec-oob\":\"" : "{\"execute\":\"";
	text.append(name);
	text.push_back('"');
	if (arguments) {
		text += ",\"arguments\":";
		text += serializeObject(arguments);
	}
	if (id) {
		text += ",\"id\":\"";
		text += json_node_get_string(id);
		text.push_back('"');
	}
	text.push_back('}');
	return text;
}

Result<Command> parseCommand(JsonNode *message, bool oobEnabled)
{
	auto generic = [](std::string desc) {
		return Error(ErrorCode::InvalidData, std::move(desc), "GenericError");
	};
	if (!message || !JSON_NODE_HOLDS_OBJECT(message))
		return generic("QMP input must be a JSON object");
	JsonObject *o = json_node_get_object(message);

	Command cmd;
	bool haveExecute = false, haveOob = false;
	GList *members = json_object_get_members(o);
	std::optional<Error> problem;
	for (GList *l = members; l && !problem; l = l->next) {
		std::string key = static_cast<const char *>(l->data);
		JsonNode *value = json_object_get_member(o, key.c_str());
		if (key == "execute" || key == "exec-oob") {
			if (key == "exec-oob" && !oobEnabled) {
				problem = generic("QMP input member 'exec-oob' is unexpected");
			} else if (!holdsString(value)) {
				problem = generic("QMP input member '" + key + "' must be a string");
			} else {
				(key == "execute" ? haveExecute : haveOob) = true;
				cmd.name = json_node_get_string(value);
			}
		} else if (key == "arguments") {
			if (!JSON_NODE_HOLDS_OBJECT(value))
				problem = generic("QMP input member 'arguments' must be an object");
			else
				cmd.arguments = refNode(value);
		} else if (key == "id") {
			cmd.id = refNode(value);
		} else {
			problem = generic("QMP input member '" + key + "' is unexpected");
		}
	}
	g_list_free(members);
	if (problem)
		return *problem;
	if (!haveExecute && !haveOob)
		return generic("QMP input lacks member 'execute'");
	if (haveExecute && haveOob)
		return generic("QMP input must not have both 'execute' and 'exec-oob'");
	cmd.oob = haveOob;
	return cmd;
}

// --- ids ------------------------------------------------------------------

JsonNode *messageId(JsonObject *message)
{
	return member(message, "id");
}

std::string idKey(JsonNode *id)
{
	return id ? json::serialize(id, false) : std::string();
}

// --- encoding -------------------------------------------------------------

std::string toAsciiJson(std::string_view utf8Json)
{
	std::string out;
	out.reserve(utf8Json.size());
	auto escape = [&out](gunichar u) {
		char buf[16];
		snprintf(buf, sizeof(buf), "\\u%04X", static_cast<unsigned>(u) & 0xFFFFu);
		out += buf;
	};
	size_t i = 0;
	while (i < utf8Json.size()) {
		auto c = static_cast<unsigned char>(utf8Json[i]);
		if (c < 0x80) {
			out.push_back(static_cast<char>(c));
			++i;
			continue;
		}
		gunichar u = g_utf8_get_char_validated(utf8Json.data() + i,
							static_cast<gssize>(utf8Json.size() - i));
		if (u == static_cast<gunichar>(-1) || u == static_cast<gunichar>(-2)) {
			escape(0xFFFD);
			++i;
			continue;
		}
		if (u >= 0x10000) {
			gunichar v = u - 0x10000;
			escape(0xD800 + (v >> 10));
			escape(0xDC00 + (v & 0x3FF));
		} else {
			escape(u);
		}
		i += static_cast<size_t>(g_utf8_skip[c]);
	}
	return out;
}

std::string frameServerMessage(std::string_view json)
{
	return toAsciiJson(json) + "\r\n";
}

std::string frameClientMessage(std::string_view json)
{
	std::string s(json);
	s.push_back('\n');
	return s;
}

// --- secrets --------------------------------------------------------------

bool isSensitiveCommand(std::string_view name, JsonObject *arguments)
{
	if (name == "sev-inject-launch-secret")
		return true;
	if (name == "object-add" && arguments) {
		JsonNode *type = json_object_get_member(arguments, "qom-type");
		if (holdsString(type)) {
			std::string_view t = json_node_get_string(type);
			return t == "secret" || t == "secret_keyring";
		}
	}
	return false;
}

std::string loggableCommand(std::string_view name, JsonObject *arguments, JsonNode *id, bool sensitive)
{
	if (!sensitive || !arguments)
		return buildCommand(name, arguments, id);
	JsonObjectPtr o(json_object_new());
	json_object_set_string_member(o.get(), "execute", std::string(name).c_str());
	json_object_set_string_member(o.get(), "arguments", std::string(kRedacted).c_str());
	if (id)
		setNode(o.get(), "id", id);
	return serializeObject(o.get());
}

JsonNodePtr redactSensitiveArguments(JsonObject *message)
{
	std::string name;
	for (const char *key : { "execute", "exec-oob" })
		if (JsonNode *n = member(message, key); holdsString(n))
			name = json_node_get_string(n);
	JsonNode *args = member(message, "arguments");
	JsonObject *arguments = args && JSON_NODE_HOLDS_OBJECT(args) ? json_node_get_object(args) : nullptr;
	if (name.empty() || !args || !isSensitiveCommand(name, arguments))
		return nullptr;
	// New objects: parsed ones are immutable (and shared).
	JsonObjectPtr copy(json_object_new());
	JsonObjectPtr redacted(json_object_new());
	GList *members = json_object_get_members(message);
	for (GList *l = members; l; l = l->next) {
		const char *key = static_cast<const char *>(l->data);
		if (!g_str_equal(key, "arguments"))
			setNode(copy.get(), key, json_object_get_member(message, key));
	}
	g_list_free(members);
	if (arguments) {
		members = json_object_get_members(arguments);
		for (GList *l = members; l; l = l->next) {
			const char *key = static_cast<const char *>(l->data);
			if (g_str_equal(key, "qom-type") || g_str_equal(key, "id"))
				setNode(redacted.get(), key, json_object_get_member(arguments, key));
			else
				json_object_set_string_member(redacted.get(), key, std::string(kRedacted).c_str());
		}
		g_list_free(members);
		json_object_set_object_member(copy.get(), "arguments", redacted.release());
	} else {
		json_object_set_string_member(copy.get(), "arguments", std::string(kRedacted).c_str());
	}
	JsonNodePtr node(json_node_new(JSON_NODE_OBJECT));
	json_node_take_object(node.get(), copy.release());
	return node;
}

} // namespace cvm::qmp
