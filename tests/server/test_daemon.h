// SPDX-License-Identifier: Apache-2.0
//
// cvm-attestd in the test process: a Daemon on its own thread and main
// context, listening on loopback (plain HTTP unless TLS files are given), with
// its database, key and token files in a private temporary directory.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "config.h"
#include "cvm/attest/client.h"
#include "cvm/common/file.h"
#include "daemon.h"

namespace cvm::test {

inline constexpr const char *kOwnerToken = "owner-token-0123456789abcdef";
inline constexpr const char *kHostToken = "host-token-fedcba9876543210";

struct DaemonFiles {
	TempDir dir;
	server::ServerConfig config;

	// A config for loopback HTTP on an ephemeral port with owner and host tokens.
	static DaemonFiles create();
};

class InProcessDaemon
{
public:
	// Starts a daemon; REQUIRE-fails the test when it does not start.
	InProcessDaemon(const server::ServerConfig &config, server::Clock clock = server::systemClock);
	~InProcessDaemon();

	const std::string &url() const { return url_; }
	server::AttestationService &service() { return daemon_->service(); }

	std::unique_ptr<attest::Client> ownerClient(unsigned timeout = 10) const;
	std::unique_ptr<attest::Client> hostClient(unsigned timeout = 10) const;
	std::unique_ptr<attest::Client> client(const std::string &token, unsigned timeout = 10) const;

private:
	std::unique_ptr<server::Daemon> daemon_;
	GMainContext *context_ = nullptr;
	GMainLoop *loop_ = nullptr;
	std::string url_;
	std::thread thread_;
};

// Starts a daemon from a config; returns the error when it does not start.
Result<std::string> tryStartDaemon(const server::ServerConfig &config);

} // namespace cvm::test
