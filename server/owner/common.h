// SPDX-License-Identifier: Apache-2.0
//
// What every cvm-owner command shares: the connection options, the client
// built from them, error reporting and JSON output.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <glib.h>

#include "cvm/attest/client.h"
#include "cvm/common/error.h"

namespace cvm::owner {

struct ConnectionOptions {
	gchar *server = nullptr;
	gchar *tokenFile = nullptr;
	gchar *caFile = nullptr;
	gchar *clientCert = nullptr;
	gchar *clientKey = nullptr;
	gint timeout = 30;
	gboolean insecure = FALSE;
	gboolean json = FALSE;
	gboolean verbose = FALSE;
	gchar *vm = nullptr;

	~ConnectionOptions();
};

// The option entries for ConnectionOptions, to append to a command's own.
std::vector<GOptionEntry> connectionEntries(ConnectionOptions &o);

// Parses argv with `entries`; prints usage errors. Returns false on bad usage.
bool parseCommandLine(const char *command, const char *summary, std::vector<GOptionEntry> entries, int &argc,
		      char **&argv);

// Builds the client; refuses plain HTTP to a non-loopback server unless
// --insecure (registrations carry secrets).
Result<std::unique_ptr<attest::Client>> connect(const ConnectionOptions &o);

// Prints "cvm-owner: <message>" and returns the exit code for the error:
// 2 for transport/usage errors, 1 for refusals.
int report(const Error &error);
int usageError(const std::string &command, const std::string &message);
void printJson(JsonNode *node);

} // namespace cvm::owner
