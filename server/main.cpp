// SPDX-License-Identifier: Apache-2.0
//
// cvm-attestd: the guest owner's attestation server.
#define G_LOG_DOMAIN "cvm-attestd"

#include <cstdio>
#include <string>

#include <glib-unix.h>
#include <glib.h>

#include "config.h"
#include "cvm/common/file.h"
#include "cvm/common/gptr.h"
#include "cvm/common/log.h"
#include "daemon.h"

int main(int argc, char **argv)
{
	g_set_prgname("cvm-attestd");
	auto config = cvm::server::parseServerCommandLine(argc, argv);
	if (!config) {
		fprintf(stderr, "cvm-attestd: %s\nTry 'cvm-attestd --help' for more information.\n",
			config.error().message().c_str());
		return 2;
	}
	cvm::LogOptions log;
	log.program = "cvm-attestd";
	log.level = config->debug ? cvm::LogLevel::Debug : config->verbose ? cvm::LogLevel::Verbose
									   : cvm::LogLevel::Normal;
	// Under systemd, hand records to the journal with their structured
	// fields (CVM_VM_ID, CVM_LAUNCH_ID, ...) instead of flattening them.
	if (g_log_writer_is_journald(fileno(stderr))) {
		static GLogLevelFlags threshold = config->debug	  ? G_LOG_LEVEL_DEBUG
						  : config->verbose ? G_LOG_LEVEL_INFO
								    : G_LOG_LEVEL_MESSAGE;
		g_log_set_writer_func(
			[](GLogLevelFlags level, const GLogField *fields, gsize n, gpointer) -> GLogWriterOutput {
				if ((level & G_LOG_LEVEL_MASK) > threshold)
					return G_LOG_WRITER_HANDLED;
				return g_log_writer_journald(level, fields, n, nullptr);
			},
			nullptr, nullptr);
	} else {
		cvm::installLogWriter(log);
	}

	cvm::GMainLoopPtr loop(g_main_loop_new(nullptr, FALSE));
	auto daemon = cvm::server::Daemon::create(*config);
	if (!daemon) {
		fprintf(stderr, "cvm-attestd: %s\n", daemon.error().message().c_str());
		return 1;
	}
	std::string urls;
	for (const auto &url : (*daemon)->urls()) {
		g_message("listening on %s", url.c_str());
		urls += url + "\n";
	}
	if (!config->readyFile.empty()) {
		auto s = cvm::writeFileAtomic(config->readyFile, cvm::asBytes(urls), 0644);
		if (!s) {
			fprintf(stderr, "cvm-attestd: %s\n", s.error().message().c_str());
			return 1;
		}
	}
	auto quit = [](gpointer data) -> gboolean {
		g_message("shutting down");
		g_main_loop_quit(static_cast<GMainLoop *>(data));
		return G_SOURCE_REMOVE;
	};
	g_unix_signal_add(SIGTERM, quit, loop.get());
	g_unix_signal_add(SIGINT, quit, loop.get());
	g_main_loop_run(loop.get());
	daemon->reset();
	return 0;
}
