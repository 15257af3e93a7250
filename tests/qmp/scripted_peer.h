// SPDX-License-Identifier: Apache-2.0
//
// A fake QMP server for tests: the server end of a socketpair, played by a
// script on its own thread, so a test can be precise about what a peer sends
// and when (hostile or not). The script must not use Catch's assertions (they
// are not thread-safe): it records what it saw, the test checks it afterwards.
//
//   Peer peer([](Peer &p) {
//           p.handshake();                     // greeting + reply to qmp_capabilities
//           p.reply(p.receiveId(), "{}");
//           p.waitForEof();
//   });
//   auto qmp = SyncClient::adoptFd(peer.takeClientFd(), 3s);
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <thread>

#include "cvm/common/file.h"
#include "cvm/common/gptr.h"
#include "cvm/qmp/json_splitter.h"

namespace cvm::test {

// QEMU 7.2's greeting, framed.
extern const std::string kGreeting;

class Peer
{
public:
	using Script = std::function<void(Peer &)>;

	explicit Peer(Script script);
	// Stops a dripping script, closes the peer's end, joins the thread.
	~Peer();
	Peer(const Peer &) = delete;
	Peer &operator=(const Peer &) = delete;

	// The client's end (once).
	UniqueFd takeClientFd() { return std::move(clientFd_); }

	void send(std::string_view bytes);
	// One byte at a time with `pause` between them (stops when the test ends).
	void drip(std::string_view bytes, std::chrono::microseconds pause);
	// The next client message (bytes that do not frame are skipped), or null
	// at EOF.
	JsonNodePtr receive();
	// The string id of the next client message ("" at EOF or without one).
	std::string receiveId();
	void reply(const std::string &id, const std::string &value = "{}");
	// Greeting, then the reply to qmp_capabilities.
	void handshake();
	// Blocks until the client closes its end.
	void waitForEof();

private:
	int fd_ = -1;
	UniqueFd clientFd_;
	std::thread thread_;
	std::atomic<bool> stop_{ false };
	qmp::JsonSplitter splitter_;
	std::string buffer_;
};

} // namespace cvm::test
