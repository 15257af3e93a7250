// SPDX-License-Identifier: Apache-2.0
//
// Client: an asynchronous QMP client on GIO. It owns the socket, the reading,
// writing and waiting; the protocol itself (greeting, negotiation, ids,
// matching, events, errors) is Session's job (session.h). SyncClient
// (sync_client.h) wraps one on a private context for CLI code.
//
//   cvm::qmp::Client client;                    // thread-default GMainContext
//   client.subscribe("SHUTDOWN", [](const Event &e) { ... e.dataString("reason") ... });
//   client.connect("/run/vm.qmp", [](const Status &s) { if (!s) report(s.error()); });
//   client.execute("query-status", nullptr, [](Result<JsonNodePtr> r) { ... });
//
// Commands may be issued at once: they are queued until qmp_capabilities has
// been negotiated. Any number may be in flight; replies are matched by our own
// string ids, never by order. Events reach subscribers in wire order relative
// to replies (QEMU sends SHUTDOWN before quit's return: the SHUTDOWN callback
// runs first). Commands and replies are logged at debug level (domain
// cvm-qmp), with the arguments of secret-carrying commands redacted.
//
// Every callback runs on the client's GMainContext, from its main loop — never
// from within the call that registered it (close() excepted, see there). A
// callback may issue commands, close the client or destroy it. Use a Client
// only from the thread that iterates its context.
//
// Errors (cvm::Error codes):
//   Remote        QEMU's error reply; tag() = the QMP class ("GenericError"),
//                 message "<command>: <desc>" (wire.h remoteErrorDesc)
//   Disconnected  the monitor went away; every pending command fails at once.
//                 Before negotiation completed: "QEMU exited during start-up
//                 (killed by signal 6 (Aborted))" — the detail is the exit
//                 status when the process is known (ClientOptions::process/pid)
//   Timeout       a command's timeout (its late reply is dropped), or no
//                 connection/greeting/negotiation within startupTimeout
//   Protocol, LimitExceeded  the peer sent something that is not QMP, or a
//                 message larger than maxMessageSize: the connection is closed
//   Cancelled     close() was called
//   NotFound, PermissionDenied, InvalidArgument, Unsupported, Io  starting failed
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <gio/gio.h>
#include <sys/types.h>

#include "cvm/common/error.h"
#include "cvm/common/file.h"
#include "cvm/common/gptr.h"
#include "cvm/qmp/session.h"
#include "cvm/qmp/wire.h"

namespace cvm::qmp {

using Milliseconds = std::chrono::milliseconds;

struct ClientOptions {
	// Where sources are attached and callbacks run. Null: the thread-default
	// context when the Client is constructed.
	GMainContext *context = nullptr;
	// Largest message accepted from QEMU (QEMU's own input limit by default).
	size_t maxMessageSize = kDefaultMaxMessageSize;
	// Negotiate capabilities (qmp_capabilities) before anything else. Off: the
	// caller sends qmp_capabilities itself (e.g. with "enable": ["oob"]).
	bool negotiate = true;
	// Connecting, the greeting and negotiation must complete within this; 0 = no limit.
	Milliseconds startupTimeout{ 30000 };
	// The timeout of commands issued without one; 0 = none.
	Milliseconds commandTimeout{ 0 };
	// connect(): while the socket does not exist or refuses connections (QEMU
	// still starting), retry until startupTimeout instead of failing at once;
	// stops as soon as the process (below) exits.
	bool waitForSocket = false;
	// The QEMU process behind the monitor, when it is ours: its exit status
	// explains a connection that ends during start-up. A reference is taken.
	// `pid` is for a child started otherwise (its status is read without
	// reaping it).
	GSubprocess *process = nullptr;
	pid_t pid = 0;
	// Prefix of log lines; default "qmp <socket path>".
	std::string name;
};

class Client
{
public:
	using ReadyCallback = std::function<void(const Status &status)>;
	using ReplyCallback = std::function<void(Result<JsonNodePtr> reply)>;
	using EventCallback = std::function<void(const Event &event)>;
	using ClosedCallback = std::function<void(const Error &error)>;
	using SubscriptionId = uint64_t;

	explicit Client(ClientOptions options = {});
	// Closes the connection; no callback runs any more (not even for pending
	// commands).
	~Client();
	Client(const Client &) = delete;
	Client &operator=(const Client &) = delete;

	// Starts the connection: exactly one of these, once. `ready` runs when
	// negotiation has completed (ok) or the connection failed before (the
	// error). An error in starting is reported through `ready` as well.
	void connect(const std::string &socketPath, ReadyCallback ready);
	// A connected stream (GSocketConnection, GUnixConnection, ...) whose input
	// and output streams are pollable. A reference is taken.
	void adopt(GIOStream *stream, ReadyCallback ready);
	// A connected stream socket (e.g. one end of socketpair()); owned from now.
	void adoptFd(UniqueFd fd, ReadyCallback ready);

	// Sends {"execute": command, "arguments": arguments} (arguments may be
	// null; they are serialized at once). `reply` gets the "return" value or
	// the error. `timeout` overrides ClientOptions::commandTimeout (0 = none).
	void execute(std::string_view command, JsonObject *arguments, ReplyCallback reply,
		     std::optional<Milliseconds> timeout = std::nullopt);
	// Sends an arbitrary message with its "id" replaced by ours: for tests of
	// QMP servers (exec-oob, malformed requests). See Session::submitMessage.
	void executeMessage(JsonObject *message, ReplyCallback reply,
			    std::optional<Milliseconds> timeout = std::nullopt);

	// Events named `event` ("" = every event). Subscribing before connect()
	// misses nothing.
	SubscriptionId subscribe(std::string_view event, EventCallback callback);
	void unsubscribe(SubscriptionId id);
	// Runs once when the connection ends, after pending commands have failed
	// (Disconnected after quit is the normal end).
	void setClosedCallback(ClosedCallback callback);

	ConnectionState state() const;
	// Null until the greeting arrived.
	const Greeting *greeting() const;
	// Why the connection ended (once state() is Closed).
	const std::optional<Error> &closeError() const;
	size_t pendingCommands() const;
	const std::string &name() const;

	// Closes the connection now: pending commands fail with Cancelled and the
	// closed callback runs, before close() returns.
	void close();

private:
	class Impl;
	std::shared_ptr<Impl> impl_;
};

} // namespace cvm::qmp
