// SPDX-License-Identifier: Apache-2.0
//
// SyncClient: a blocking QMP client for command-line code and simple callers.
// It runs a Client (client.h) on a private GMainContext that it iterates only
// while one of its calls waits, so it never interferes with the caller's main
// loop (and needs none).
//
//   auto qmp = cvm::qmp::SyncClient::connect("/run/vm.qmp", 10s);
//   if (!qmp) return fail(qmp.error());
//   auto status = (*qmp)->execute("query-status");
//   (*qmp)->execute("quit");
//   auto shutdown = (*qmp)->waitForEvent("SHUTDOWN", 0ms);   // already received
//
// Every event is kept from the moment of connecting until waitForEvent() or
// takeEvents() consumes it, so an event that arrived before its command's
// reply (SHUTDOWN before quit's return) is not missed. What is kept is
// bounded (EventBufferLimits): by count and by the bytes the events took on
// the wire, so a peer that floods events cannot make us hold more than that;
// beyond it the oldest unconsumed events are dropped, with a warning.
// Errors are those of Client.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cvm/common/error.h"
#include "cvm/common/file.h"
#include "cvm/common/gptr.h"
#include "cvm/qmp/client.h"

namespace cvm::qmp {

constexpr Milliseconds kDefaultSyncCommandTimeout{ 30000 };

// What SyncClient keeps of unconsumed events.
struct EventBufferLimits {
	size_t maxEvents = 4096;
	// The sum of their wire sizes (Event::wireSize). An event bigger than
	// this on its own is dropped at once. The default holds one message of
	// the largest size the client accepts.
	size_t maxBytes = kDefaultMaxMessageSize;
};

class SyncClient
{
public:
	// Connects and negotiates within `timeout` (overrides
	// options.startupTimeout; options.context is ignored).
	static Result<std::unique_ptr<SyncClient>> connect(const std::string &socketPath, Milliseconds timeout,
							    ClientOptions options = {});
	static Result<std::unique_ptr<SyncClient>> adoptFd(UniqueFd fd, Milliseconds timeout,
							    ClientOptions options = {});
	~SyncClient();
	SyncClient(const SyncClient &) = delete;
	SyncClient &operator=(const SyncClient &) = delete;

	// Runs a command and returns its "return" value. 0 = no timeout.
	Result<JsonNodePtr> execute(std::string_view command, JsonObject *arguments = nullptr,
				    Milliseconds timeout = kDefaultSyncCommandTimeout);
	// See Client::executeMessage (for tests of QMP servers).
	Result<JsonNodePtr> executeMessage(JsonObject *message, Milliseconds timeout = kDefaultSyncCommandTimeout);

	// The first unconsumed event named `name`, waiting up to `timeout` for it;
	// 0 = no wait: only what has already arrived (processed at once). Fails
	// with Timeout, or (Disconnected) when the connection ended without it.
	Result<Event> waitForEvent(std::string_view name, Milliseconds timeout);
	// Every unconsumed event, oldest first.
	std::vector<Event> takeEvents();

	// Applies at once (the oldest events go when the buffer is over them).
	void setEventBufferLimits(EventBufferLimits limits);
	const EventBufferLimits &eventBufferLimits() const { return limits_; }
	// Wire bytes of the events kept now, and how many were dropped so far.
	size_t bufferedEventBytes() const { return bufferedBytes_; }
	uint64_t droppedEvents() const { return dropped_; }

	const Greeting &greeting() const { return *client_->greeting(); }
	ConnectionState state() const { return client_->state(); }
	// Processes what has arrived without waiting (events, the EOF).
	void poll();
	void close() { client_->close(); }

private:
	explicit SyncClient(ClientOptions options);
	static Result<std::unique_ptr<SyncClient>> start(Milliseconds timeout, ClientOptions options,
							  const std::function<void(Client &, Client::ReadyCallback)> &begin);
	Result<JsonNodePtr> waitReply(const std::function<void(Client::ReplyCallback)> &send);
	std::optional<Event> takeEvent(std::string_view name);
	void keepEvent(const Event &event);
	void makeRoom(size_t events, size_t bytes);
	void dropEvent(const std::string &name, size_t bytes, const char *why);

	GMainContextPtr context_;
	std::unique_ptr<Client> client_;
	std::deque<Event> events_;
	EventBufferLimits limits_;
	size_t bufferedBytes_ = 0;
	uint64_t dropped_ = 0;
	bool closed_ = false;
};

} // namespace cvm::qmp
