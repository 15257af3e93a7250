// SPDX-License-Identifier: Apache-2.0
//
// Session: the client side of the QMP protocol as a state machine without I/O
// (greeting -> negotiating -> running -> closed). Bytes from QEMU go in through
// receive(), bytes for QEMU come out of pendingOutput(), time goes in through
// expire(); what happens is reported to a SessionListener. The GIO client
// (client.h) drives one over a socket; tests and fuzz targets drive it
// directly. Most code wants Client or SyncClient, not this.
//
// What it does:
// - parses the greeting, then sends qmp_capabilities before anything else
//   (unless SessionOptions::negotiate is off); commands submitted earlier are
//   queued and sent once negotiation has completed;
// - gives every command its own string id ("cvm-<n>") and matches replies by
//   id, never by order or member order; a reply with an id it does not know
//   (e.g. one that arrives after its command timed out) is dropped with a
//   debug log. An error reply without an id (QEMU could not read the command,
//   so could not echo the id) fails the oldest command in flight, which is the
//   one it answers since QEMU answers in-band commands in order;
// - reports events in wire order relative to replies (QEMU sends SHUTDOWN
//   before quit's return: the listener sees the event first);
// - turns error replies into Error{Remote, tag = QMP class, "<command>: <desc>"};
// - fails every pending command at once when the connection ends (EOF, a
//   framing or protocol error, close()); an EOF before negotiation completed is
//   "QEMU exited during start-up";
// - logs every message at debug level, with the arguments of commands that
//   carry secrets (wire.h isSensitiveCommand) redacted.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "cvm/common/error.h"
#include "cvm/common/gptr.h"
#include "cvm/qmp/json_splitter.h"
#include "cvm/qmp/wire.h"

namespace cvm::qmp {

enum class ConnectionState {
	Connecting,       // no stream yet (Client only)
	AwaitingGreeting,
	Negotiating,      // qmp_capabilities sent, reply pending
	Running,
	Closed,
};

const char *connectionStateName(ConnectionState state);

// Identifies a submitted command; never 0.
using CommandToken = uint64_t;

// Times are g_get_monotonic_time() microseconds (any monotonic clock works, as
// long as one is used throughout).
struct Deadline {
	int64_t at = -1;       // absolute time, -1 = none
	int64_t timeout = 0;   // the duration it was set from (for messages)

	static Deadline after(int64_t now, int64_t timeoutUs)
	{
		return timeoutUs > 0 ? Deadline{ now + timeoutUs, timeoutUs } : Deadline{};
	}
	bool none() const { return at < 0; }
};

// "5 s", "1.5 s", "250 ms".
std::string formatDuration(int64_t microseconds);

// The error for a monitor that went away before negotiation completed:
// "QEMU exited during start-up (<detail>)", code Disconnected.
Error startupExitError(std::string_view detail);

struct SessionOptions {
	// Largest message accepted from the peer; a bigger one is a connection error.
	size_t maxMessageSize = kDefaultMaxMessageSize;
	// Send qmp_capabilities after the greeting. Off: the session is running
	// once the greeting arrived and the caller negotiates itself (to replay
	// transcripts that do, or to enable capabilities such as "oob").
	bool negotiate = true;
	// Prefix of log lines ("qmp /run/vm1.sock").
	std::string name = "qmp";
};

// Called from within Session's methods. The listener may submit commands from
// its callbacks, and may abort() the session (after which no further callback
// comes); it must not destroy the Session from within a callback.
class SessionListener
{
public:
	// Negotiation completed (or the greeting arrived, without negotiation).
	virtual void sessionReady(const Greeting &greeting) = 0;
	virtual void sessionEvent(const Event &event) = 0;
	// A command finished: its return value, or why not.
	virtual void sessionReply(CommandToken token, Result<JsonNodePtr> reply) = 0;
	// The session ended (after every pending command has been failed).
	virtual void sessionClosed(const Error &error) = 0;

protected:
	~SessionListener() = default;
};

class Session
{
public:
	explicit Session(SessionListener &listener, SessionOptions options = {});
	~Session();
	Session(const Session &) = delete;
	Session &operator=(const Session &) = delete;

	ConnectionState state() const { return state_; }
	// Null until the greeting arrived.
	const Greeting *greeting() const { return greeting_ ? &*greeting_ : nullptr; }
	const SessionOptions &options() const { return options_; }
	void setName(std::string name) { options_.name = std::move(name); }

	// Queues {"execute": command, "arguments": arguments} (arguments may be
	// null). Fails with the close error once the session is closed.
	Result<CommandToken> submit(std::string_view command, JsonObject *arguments, Deadline deadline = {});
	// Queues an arbitrary message as it is, with its "id" replaced by ours: for
	// testing QMP servers with requests our API cannot express (exec-oob, a
	// missing "execute", extra members). Not for production commands.
	Result<CommandToken> submitMessage(JsonObject *message, Deadline deadline = {});

	// Bytes from the peer.
	void receive(std::string_view bytes);
	// The peer closed its side. `startupDetail` explains an EOF before
	// negotiation completed (e.g. "killed by signal 6 (Aborted)"); a default
	// text is used when it is empty.
	void receiveEof(std::string_view startupDetail = {});

	// The greeting and negotiation must complete by then.
	void setStartupDeadline(Deadline deadline);
	// Fails what is due at `now`: commands (Timeout; a late reply is dropped)
	// and an unfinished start-up (Timeout, closes the session).
	void expire(int64_t now);
	// The earliest deadline, -1 when there is none.
	int64_t nextDeadline() const;

	// Ends the session: fails every pending command with `error` (as context of
	// the command name) and notifies sessionClosed.
	void close(const Error &error);
	// Ends the session without any callback (the owner is going away).
	void abort();
	// Why the session closed (valid once state() is Closed).
	const std::optional<Error> &closeError() const { return closeError_; }

	// Bytes to send; the owner writes a prefix and consumes it. Sent bytes are
	// wiped (they may carry a launch secret).
	std::string_view pendingOutput() const;
	bool hasOutput() const { return outputOffset_ < output_.size(); }
	void consumeOutput(size_t n);

	// Commands submitted and not yet answered (queued ones included).
	size_t pendingCommands() const { return pending_.size(); }

private:
	struct Outgoing {
		CommandToken token;
		std::string text;     // wiped once sent or dropped
		std::string logText;  // arguments redacted when sensitive
	};
	struct Pending {
		std::string name;
		bool sensitive = false;
		bool negotiation = false;
		bool sent = false;
		Deadline deadline;
	};

	Result<CommandToken> enqueue(std::string_view name, bool sensitive, std::string text,
				     std::string logText, Deadline deadline);
	void flushQueue();
	void appendOutput(Outgoing &message);
	void handleFrame(const Frame &frame);
	void handleMessage(JsonObject *message, std::string_view text);
	void handleGreeting(JsonObject *message);
	void handleReply(JsonObject *message, std::string_view text);
	void handleEvent(JsonObject *message, std::string_view text);
	void finishNegotiation(const Reply &reply);
	void becomeRunning();
	void complete(CommandToken token, Result<JsonNodePtr> result);
	void forget(CommandToken token);
	void fail(const Error &error);
	std::optional<CommandToken> tokenOf(JsonNode *id) const;
	std::string idFor(CommandToken token) const;

	SessionListener &listener_;
	SessionOptions options_;
	JsonSplitter splitter_;
	ConnectionState state_ = ConnectionState::AwaitingGreeting;
	std::optional<Greeting> greeting_;
	std::optional<Error> closeError_;
	bool aborted_ = false;

	CommandToken nextToken_ = 1;
	std::map<CommandToken, Pending> pending_;          // ordered: oldest first
	std::deque<Outgoing> queue_;                       // waiting for Running
	std::set<std::pair<int64_t, CommandToken>> deadlines_;
	Deadline startupDeadline_;

	std::string output_;
	size_t outputOffset_ = 0;
};

} // namespace cvm::qmp
