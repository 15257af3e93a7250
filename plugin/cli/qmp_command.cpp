// SPDX-License-Identifier: Apache-2.0
//
// cvm-launch qmp: one QMP command against a monitor socket, for admins and
// scripts, and `qmp record`, the recording proxy (docs/qmp.md).
//
//   cvm-launch qmp --socket PATH [--timeout S] COMMAND [ARGUMENTS-JSON]
//       prints the "return" value as JSON on stdout, exit 0; a QMP error is
//       printed as "CLASS: desc" on stderr, exit 1; bad usage, bad JSON
//       arguments and transport/protocol errors exit 2.
//   cvm-launch qmp record --listen PATH --upstream PATH --out FILE
//       relays one client to QEMU's monitor and writes the transcript.
#define G_LOG_DOMAIN "cvm-cli"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

#include "cli.h"
#include "commands.h"
#include "cvm/common/json.h"
#include "cvm/common/scope_exit.h"
#include "cvm/qmp/recorder.h"
#include "cvm/qmp/sync_client.h"

namespace cvm::cli {

namespace {

constexpr int kExitRemote = 1;

// The seconds of --timeout as milliseconds, at least 1 ms (0 ms would mean
// "no timeout" to the client): false when it is not a number of seconds from
// 0.001 to 86400.
bool parseTimeout(const char *text, qmp::Milliseconds &out)
{
	char *end = nullptr;
	double seconds = g_ascii_strtod(text, &end);
	if (!end || *end || end == text || !(seconds >= 0.001) || seconds > 86400)
		return false;
	// Up to the next whole ms (the epsilon absorbs 0.003 * 1000 = 3.0000000000000004).
	out = qmp::Milliseconds(static_cast<int64_t>(std::ceil(seconds * 1000 - 1e-6)));
	return true;
}

int runRecord(int argc, char **argv)
{
	gchar *listen = nullptr, *upstream = nullptr, *out = nullptr;
	gboolean verbose = FALSE, debug = FALSE;
	GOptionEntry entries[] = {
		{ "listen", 'l', 0, G_OPTION_ARG_FILENAME, &listen, "Socket to listen on for the client", "PATH" },
		{ "upstream", 'u', 0, G_OPTION_ARG_FILENAME, &upstream, "QEMU's QMP monitor socket", "PATH" },
		{ "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Transcript to write (.jsonl)", "FILE" },
		{ "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Say what happens", nullptr },
		{ "debug", 0, 0, G_OPTION_ARG_NONE, &debug, "Debug output", nullptr },
		{},
	};
	ScopeExit cleanup([&] {
		g_free(listen);
		g_free(upstream);
		g_free(out);
	});
	std::string prg = argv[0];
	if (!parseOptions(prg, "", "Record a QMP conversation through a relay socket.", entries, argc, argv))
		return kExitUsage;
	setupLogging(verbose, debug);
	if (argc != 1)
		return usage(prg, "unexpected argument " + std::string(argv[1]));
	if (!listen || !upstream || !out)
		return usage(prg, "--listen, --upstream and --out are required");
	qmp::RecorderOptions options;
	options.listenPath = listen;
	options.upstreamPath = upstream;
	options.listening = [&] { g_info("listening on %s, relaying to %s", listen, upstream); };
	auto transcript = qmp::Recorder::run(options);
	if (!transcript)
		return fail(transcript.error(), kExitUsage);
	if (Status saved = transcript->save(out); !saved)
		return fail(saved.error(), kExitFailure);
	g_info("wrote %zu lines to %s", transcript->entries().size(), out);
	return kExitOk;
}

} // namespace

int runQmpCommand(int argc, char **argv)
{
	if (argc >= 2 && std::strcmp(argv[1], "record") == 0) {
		std::string prg = std::string(argv[0]) + " record";
		argv[1] = const_cast<char *>(prg.c_str());
		return runRecord(argc - 1, argv + 1);
	}
	gchar *socket = nullptr, *timeoutText = nullptr;
	gboolean verbose = FALSE, debug = FALSE;
	GOptionEntry entries[] = {
		{ "socket", 's', 0, G_OPTION_ARG_FILENAME, &socket, "QEMU's QMP monitor socket", "PATH" },
		{ "timeout", 't', 0, G_OPTION_ARG_STRING, &timeoutText, "Seconds to wait for QEMU (default 30)", "S" },
		{ "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Say what happens", nullptr },
		{ "debug", 0, 0, G_OPTION_ARG_NONE, &debug, "Log the QMP messages (secrets redacted)", nullptr },
		{},
	};
	ScopeExit cleanup([&] {
		g_free(socket);
		g_free(timeoutText);
	});
	std::string prg = argv[0];
	if (!parseOptions(prg, "COMMAND [ARGUMENTS-JSON]", "Run one QMP command and print its return value.",
			  entries, argc, argv))
		return kExitUsage;
	setupLogging(verbose, debug);
	if (!socket)
		return usage(prg, "--socket is required");
	if (argc < 2 || argc > 3)
		return usage(prg, argc < 2 ? "a QMP command is required" : "too many arguments");
	qmp::Milliseconds timeout{ 30000 };
	if (timeoutText && !parseTimeout(timeoutText, timeout))
		return usage(prg, "--timeout must be a number of seconds from 0.001 (1 ms) to 86400, not '" +
					  std::string(timeoutText) + "'");
	JsonNodePtr arguments;
	if (argc == 3) {
		auto parsed = json::parseObject(argv[2]);
		if (!parsed)
			return usage(prg, "the arguments must be a JSON object: " + parsed.error().message());
		arguments = std::move(*parsed);
	}

	auto client = qmp::SyncClient::connect(socket, timeout);
	if (!client)
		return fail(client.error(), kExitUsage);
	auto reply = (*client)->execute(argv[1], arguments ? json_node_get_object(arguments.get()) : nullptr, timeout);
	if (!reply) {
		const Error &e = reply.error();
		if (e.code() != ErrorCode::Remote)
			return fail(e, kExitUsage);
		fprintf(stderr, "%s: %s\n", e.tag().c_str(), std::string(qmp::remoteErrorDesc(e, argv[1])).c_str());
		return kExitRemote;
	}
	printJson(reply->get());
	return kExitOk;
}

} // namespace cvm::cli
