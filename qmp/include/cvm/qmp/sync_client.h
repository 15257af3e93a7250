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
//   auto shutdown = (*qmp)->waitForEvent("SHUTDOWN", 5s);   // already received
//
// Every event is kept from the moment of connecting until waitForEvent() or
// takeEvents() consumes it, so an event that arrived before its command's
// reply (SHUTDOWN before quit's return) is not missed. Errors are those of
// Client.
#pragma once

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

	// The first unconsumed event named `name`, waiting up to `timeout` for it.
	// Fails with Timeout, or with the close error when the connection ended
	// without it.
	Result<Event> waitForEvent(std::string_view name, Milliseconds timeout);
	// Every unconsumed event, oldest first.
	std::vector<Event> takeEvents();

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

	GMainContextPtr context_;
	std::unique_ptr<Client> client_;
	std::deque<Event> events_;
	bool closed_ = false;
};

} // namespace cvm::qmp
