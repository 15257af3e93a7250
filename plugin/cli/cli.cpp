// SPDX-License-Identifier: Apache-2.0
#include "cli.h"

#include <cstdio>

#include "cvm/common/json.h"
#include "cvm/common/log.h"

namespace cvm::cli {

bool parseOptions(const std::string &command, const char *parameterString, const char *summary,
		  const GOptionEntry *entries, int &argc, char **&argv, const char *description)
{
	GOptionContextPtr ctx(g_option_context_new(parameterString));
	if (summary)
		g_option_context_set_summary(ctx.get(), summary);
	if (description)
		g_option_context_set_description(ctx.get(), description);
	g_option_context_add_main_entries(ctx.get(), entries, nullptr);
	g_option_context_set_strict_posix(ctx.get(), FALSE);
	g_set_prgname(command.c_str());
	GError *raw = nullptr;
	if (!g_option_context_parse(ctx.get(), &argc, &argv, &raw)) {
		GErrorPtr err(raw);
		usage(command, err->message);
		return false;
	}
	return true;
}

int fail(const std::string &message, int exitCode)
{
	fprintf(stderr, "%s: %s\n", g_get_prgname() ? g_get_prgname() : "cvm-launch", message.c_str());
	return exitCode;
}

int fail(const Error &error, int exitCode)
{
	return fail(error.message(), exitCode);
}

int usage(const std::string &command, const std::string &message)
{
	fprintf(stderr, "%s: %s\nTry '%s --help' for more information.\n", command.c_str(),
		message.c_str(), command.c_str());
	return kExitUsage;
}

void printJson(JsonNode *node)
{
	std::string text = json::serialize(node, true);
	fprintf(stdout, "%s\n", text.c_str());
	fflush(stdout);
}

void setupLogging(bool verbose, bool debug)
{
	LogOptions options;
	options.program = g_get_prgname() ? g_get_prgname() : "cvm-launch";
	options.level = debug ? LogLevel::Debug : verbose ? LogLevel::Verbose : LogLevel::Normal;
	installLogWriter(options);
}

} // namespace cvm::cli
