// SPDX-License-Identifier: Apache-2.0
#include "cvm/common/log.h"

#include <cstdio>
#include <cstring>
#include <mutex>

#include <glib.h>

namespace cvm {

namespace {

LogOptions g_options;
std::mutex g_mutex;
bool g_installed = false;

bool debugDomainEnabled(const char *domain)
{
	const char *env = g_getenv("G_MESSAGES_DEBUG");
	if (!env)
		return false;
	if (strcmp(env, "all") == 0)
		return true;
	return domain && strstr(env, domain) != nullptr;
}

const char *levelName(GLogLevelFlags level)
{
	switch (level & G_LOG_LEVEL_MASK) {
	case G_LOG_LEVEL_ERROR: return "error";
	case G_LOG_LEVEL_CRITICAL: return "critical";
	case G_LOG_LEVEL_WARNING: return "warning";
	case G_LOG_LEVEL_MESSAGE: return nullptr;
	case G_LOG_LEVEL_INFO: return "info";
	case G_LOG_LEVEL_DEBUG: return "debug";
	default: return nullptr;
	}
}

GLogWriterOutput writer(GLogLevelFlags level, const GLogField *fields, gsize nFields, gpointer)
{
	const char *message = nullptr;
	const char *domain = nullptr;
	for (gsize i = 0; i < nFields; ++i) {
		if (strcmp(fields[i].key, "MESSAGE") == 0)
			message = static_cast<const char *>(fields[i].value);
		else if (strcmp(fields[i].key, "GLIB_DOMAIN") == 0)
			domain = static_cast<const char *>(fields[i].value);
	}

	int l = level & G_LOG_LEVEL_MASK;
	bool show;
	switch (g_options.level) {
	case LogLevel::Quiet:
		show = l <= G_LOG_LEVEL_WARNING;
		break;
	case LogLevel::Normal:
		show = l <= G_LOG_LEVEL_MESSAGE;
		break;
	case LogLevel::Verbose:
		show = l <= G_LOG_LEVEL_INFO;
		break;
	case LogLevel::Debug:
	default:
		show = true;
		break;
	}
	if (!show && l == G_LOG_LEVEL_DEBUG && debugDomainEnabled(domain))
		show = true;
	if (!show && l == G_LOG_LEVEL_INFO && debugDomainEnabled(domain))
		show = true;
	if (!show)
		return G_LOG_WRITER_HANDLED;

	std::lock_guard<std::mutex> lock(g_mutex);
	if (g_options.timestamps) {
		GDateTime *now = g_date_time_new_now_utc();
		gchar *ts = g_date_time_format_iso8601(now);
		fprintf(stderr, "%s ", ts);
		g_free(ts);
		g_date_time_unref(now);
	}
	const char *name = levelName(level);
	fprintf(stderr, "%s:", g_options.program.empty() ? g_get_prgname() ?: "cvm" : g_options.program.c_str());
	if (name)
		fprintf(stderr, " %s:", name);
	if (domain && (l >= G_LOG_LEVEL_INFO || g_options.level == LogLevel::Debug))
		fprintf(stderr, " [%s]", domain);
	fprintf(stderr, " %s\n", message ? message : "");
	fflush(stderr);
	return G_LOG_WRITER_HANDLED;
}

} // namespace

void installLogWriter(const LogOptions &options)
{
	g_options = options;
	g_installed = true;
	static std::once_flag once;
	std::call_once(once, [] { g_log_set_writer_func(writer, nullptr, nullptr); });
}

bool debugLogEnabled(const char *domain)
{
	if (!g_installed)
		return !g_log_writer_default_would_drop(G_LOG_LEVEL_DEBUG, domain);
	return g_options.level == LogLevel::Debug || debugDomainEnabled(domain);
}

} // namespace cvm
