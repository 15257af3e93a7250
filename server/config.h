// SPDX-License-Identifier: Apache-2.0
//
// cvm-attestd's settings: a GKeyFile (--config F, group [cvm-attestd]) whose
// keys are the long command-line option names, and the command line on top
// (every setting has its option; the command line wins).
#pragma once

#include <string>
#include <vector>

#include "cvm/common/error.h"

namespace cvm::server {

struct ServerConfig {
	// Listening
	std::string listen;           // HTTPS ADDR:PORT
	std::string tlsCert;
	std::string tlsKey;
	std::string insecureListen;   // plain HTTP ADDR:PORT (loopback tests, demo)
	bool allowInsecureRemote = false; // insecure-listen on a non-loopback address
	std::string readyFile;        // written with the listening URLs once up
	// Authentication
	std::string ownerTokenFile;
	std::string ownerClientCa;    // client certificates issued by this CA are owners
	std::string hostTokenFile;    // optional: hosts must present this token
	// Storage
	std::string db;
	std::string keyFile;
	bool dbSyncFull = false;      // synchronous=FULL instead of NORMAL (WAL)
	// Trust
	std::string amdRoots;         // pinned AMD roots (DIR/<generation>/{ark,ask}.cert)
	std::string testRoots;        // explicitly trusted test roots (the simulator's)
	std::string tdxRootCa;        // intel-tdx quotes: this root (PEM/DER) instead of Intel's pinned one
	std::string cekCache;         // signed CEKs by chip id (<hex>.cert)
	std::string kdsUrl = "https://kdsintf.amd.com";
	unsigned kdsTimeout = 10;     // seconds
	bool kds = true;              // fetch missing CEKs from the KDS
	// Limits
	unsigned launchExpiry = 600;  // seconds a launch may wait for validation
	unsigned maxBody = 256 * 1024;
	unsigned workers = 0;         // 0: one per processor
	unsigned maxQueue = 4096;     // requests waiting for a worker before 503
	unsigned expirySweep = 30;    // seconds between sweeps of expired launches
	unsigned chainCache = 256;    // verified platform chains kept (0: off)
	unsigned auditLimit = 1000;   // newest audit entries returned per VM
	unsigned refusalAudits = 60;  // refused launch attempts recorded per VM and minute (0: all)
	// Logging
	bool verbose = false;
	bool debug = false;
};

// Parses argv (and the file named by --config). Returns an error for bad
// usage; handles --help (prints, exits 0) and --version.
Result<ServerConfig> parseServerCommandLine(int argc, char **argv);

// Reads settings from a key file on top of `config` (exposed for tests).
Status applyConfigFile(const std::string &path, ServerConfig &config);

// Checks consistency: something to listen on, TLS files for HTTPS, a way to
// authenticate owners, sane limits.
Status validateConfig(const ServerConfig &config);

// Whether a numeric address is a loopback one (127.0.0.0/8, ::1).
bool isLoopbackAddress(const std::string &host);

// "ADDR:PORT" or "[V6ADDR]:PORT" → host and port.
Result<std::pair<std::string, unsigned>> parseListenAddress(const std::string &text);

} // namespace cvm::server
