// SPDX-License-Identifier: Apache-2.0
//
// Shared pieces of the cvm-launch command line: exit codes, option parsing with
// GOption, error and JSON output. Each command group lives in its own file
// (<group>_command.cpp) and is registered in main.cpp.
#pragma once

#include <string>

#include <glib.h>

#include "cvm/common/error.h"
#include "cvm/common/gptr.h"

namespace cvm::cli {

// Exit codes shared by every command (and compatible with virt-qemu-sev-validate
// where a command mirrors it): 0 success, 1 the operation failed or a
// verification verdict was negative, 2 usage or transport/protocol errors.
constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// Parses argv (argv[0] is the command name, e.g. "cvm-launch sev measure") with
// `entries`. Prints the error and a hint on stderr and returns false on bad
// usage; handles --help itself (prints and exits 0). `description`, when
// given, is printed after the options in --help.
bool parseOptions(const std::string &command, const char *parameterString, const char *summary,
		  const GOptionEntry *entries, int &argc, char **&argv, const char *description = nullptr);

// "cvm-launch: <message>" on stderr; returns exitCode.
int fail(const std::string &message, int exitCode = kExitFailure);
int fail(const Error &error, int exitCode = kExitFailure);
int usage(const std::string &command, const std::string &message);

// Prints one JSON object on stdout (pretty) followed by a newline.
void printJson(JsonNode *node);

// Installs the stderr log writer; --verbose / --debug flags and G_MESSAGES_DEBUG.
void setupLogging(bool verbose, bool debug);

} // namespace cvm::cli
