// SPDX-License-Identifier: Apache-2.0
//
// ReplayServer: plays a recorded QMP conversation (transcript.h) as the
// server, on a real unix socket, for tests — the idea of libvirt's
// qemumonitortestutils. Link cvm_qmp_testing_dep (not part of the product).
//
//   auto transcript = Transcript::load(fixture("qmp-qemu-7.2/06-runstate-events-q35.jsonl"));
//   auto server = ReplayServer::start(std::move(*transcript));
//   ... run the code under test against (*server)->socketPath() ...
//   REQUIRE((*server)->finish().ok());       // every expected command came, in order
//
// It accepts one connection and walks the transcript: server messages (the
// greeting, replies, events) are sent when their line is reached, so events
// recorded between commands arrive at the same point of the conversation;
// at a client line it waits for the next client message and compares it with
// the recorded one:
// - c2s: as JSON, member order and the "id" member ignored; a recorded
//   "<redacted>" (a secret the recorder left out, wire.h kRedacted) matches
//   any value. Replies carry the id the client really used for the command
//   they answer (matched through the recorded ids; a reply recorded without
//   id answers the oldest recorded id-less command), so clients with their
//   own id scheme replay;
// - c2s_raw: byte for byte.
// The first difference ends the replay: the client gets an error reply naming
// it and the connection closes; finish() returns the failure with file:line.
// The client leaving before every recorded client message was sent is a
// failure too (an unused expectation), and so is a message after the end.
// At the end of the transcript the server closes the connection (QEMU's EOF
// after quit), unless ReplayOptions::closeAtEnd is off.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <gio/gio.h>

#include "cvm/common/error.h"
#include "cvm/common/file.h"
#include "cvm/common/gptr.h"
#include "cvm/qmp/client.h"
#include "cvm/qmp/transcript.h"

namespace cvm::qmp {

struct ReplayOptions {
	// Where to listen; empty: "qmp.sock" in a private temporary directory.
	std::string socketPath;
	// How long to wait for the client to connect, and for each client
	// message; 0 = no limit.
	Milliseconds timeout{ 10000 };
	// Close the connection after the last line (as QEMU does after quit).
	// Off: wait for the client to close, failing on anything it still sends.
	bool closeAtEnd = true;
};

class ReplayServer
{
public:
	// Listens at once (the socket exists on return) and serves from a thread.
	static Result<std::unique_ptr<ReplayServer>> start(Transcript transcript, ReplayOptions options = {});
	~ReplayServer();
	ReplayServer(const ReplayServer &) = delete;
	ReplayServer &operator=(const ReplayServer &) = delete;

	const std::string &socketPath() const { return path_; }

	// Waits for the replay to end and returns the verdict: ok when the client
	// sent exactly the recorded client messages, in order.
	Status finish(Milliseconds timeout = Milliseconds(30000));
	// Client messages matched so far.
	size_t matched() const { return matched_; }

private:
	class Player;

	ReplayServer(Transcript transcript, ReplayOptions options);
	void run();
	// The wait for GIO (-1 = no limit).
	int64_t waitUs() const { return options_.timeout.count() > 0 ? options_.timeout.count() * 1000 : -1; }

	Transcript transcript_;
	ReplayOptions options_;
	std::optional<TempDir> dir_;
	std::string path_;
	GObjectPtr<GSocket> listener_;
	GObjectPtr<GCancellable> cancellable_;
	std::thread thread_;
	std::mutex mutex_;
	std::condition_variable finished_;
	bool done_ = false;
	std::optional<Error> failure_;
	std::atomic<size_t> matched_{ 0 };
};

} // namespace cvm::qmp
