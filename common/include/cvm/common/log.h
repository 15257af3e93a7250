// SPDX-License-Identifier: Apache-2.0
//
// Logging: every module logs through GLib structured logging with its own
// domain (define G_LOG_DOMAIN "cvm-<module>" at the top of each .cpp, before any
// include) and g_debug()/g_info()/g_message()/g_warning(). Programs install the
// writer below once. Never log secrets: keys, TEK/TIK, secret tables and tokens
// are not formatted anywhere, not even at debug level.
#pragma once

#include <string>

namespace cvm {

enum class LogLevel { Quiet, Normal, Verbose, Debug };

struct LogOptions {
	std::string program;          // prefix of each line ("cvm-launch")
	LogLevel level = LogLevel::Normal;
	bool timestamps = false;      // daemons: ISO-8601 time in front
};

// Routes GLib structured logging to stderr as "program: [domain] message".
// Normal: warnings and messages; Verbose: + info; Debug: + debug (also enabled
// by G_MESSAGES_DEBUG=all or a list of domains).
void installLogWriter(const LogOptions &options);

// Whether a debug message of `domain` would be shown (by our writer when it is
// installed, by GLib's default writer otherwise). Lets hot paths skip building
// large debug texts (whole QMP messages) nobody will read.
bool debugLogEnabled(const char *domain);

} // namespace cvm
