// SPDX-License-Identifier: Apache-2.0
//
// A misbehaving network between cvm-launch and the real cvm-attestd: an HTTP
// proxy that forwards every request to the AS, except that validate can be
// held back (until release()), left unanswered for good, or answered with
// garbage. So the AS faults after the start (slow or broken validate) are
// tested with the real AS behind, which also hears the rollback's `end`.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "test_http.h"

namespace cvm::test {

class AsProxy
{
public:
	enum class Validate {
		Forward,   // like every other request
		Hold,      // kept until release(), then forwarded
		Stall,     // never answered
		Garbage,   // HTTP 200 with a body that is not the answer
	};

	AsProxy(std::string target, Validate mode);
	~AsProxy();
	const std::string &url() const { return server_->url(); }

	// A validate request has arrived (and, unless Forward, was kept back).
	bool validateSeen() const { return validateSeen_; }
	// Forwards a held validate request (and every later one).
	void release();
	// "METHOD /path" of every request, in order of arrival.
	std::vector<std::string> requests() const;

private:
	void handle(SoupServerMessage *msg, const std::string &path);
	void forward(SoupServerMessage *msg, const std::string &path);

	std::string target_;
	Validate mode_;
	std::atomic<bool> validateSeen_{ false };
	mutable std::mutex mutex_;
	std::vector<std::string> requests_;
	SoupSession *session_ = nullptr;          // server thread only
	SoupServerMessage *held_ = nullptr;       // server thread only
	std::string heldPath_;
	std::unique_ptr<StubServer> server_;
};

} // namespace cvm::test
