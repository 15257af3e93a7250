// SPDX-License-Identifier: Apache-2.0
//
// cvm-attestd assembled: storage key, database, trust, workers, service and the
// libsoup server listening where the configuration says. Runs on the
// GMainContext that is thread-default when it is created (the program's main
// loop, or a test's thread).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config.h"
#include "cvm/common/error.h"
#include "service.h"

namespace cvm::server {

class Daemon
{
public:
	static Result<std::unique_ptr<Daemon>> create(const ServerConfig &config, Clock clock = systemClock);
	~Daemon();
	Daemon(const Daemon &) = delete;
	Daemon &operator=(const Daemon &) = delete;

	// "http://127.0.0.1:PORT/", "https://…", one per listener.
	std::vector<std::string> urls() const;
	AttestationService &service();

	struct Parts;

private:
	explicit Daemon(std::unique_ptr<Parts> parts);
	std::unique_ptr<Parts> parts_;
};

// A token file's contents without surrounding whitespace; refuses an empty one.
Result<SecureBuffer> readTokenFile(const std::string &path);

} // namespace cvm::server
