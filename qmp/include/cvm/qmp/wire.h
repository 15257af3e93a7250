// SPDX-License-Identifier: Apache-2.0
//
// The QMP wire format: building and classifying messages, for both ends of a
// connection (our client, and QMP servers such as the simulator or the replay
// server). Pure functions over json-glib; no I/O. Framing is JsonSplitter's
// job (json_splitter.h); this file starts from one framed value's text.
//
// Server → client: greeting {"QMP": {"version": ..., "capabilities": [...]}},
// replies {"return": V, "id": ID} / {"error": {"class": C, "desc": D}, "id": ID}
// and events {"event": N, "data": {...}, "timestamp": {...}}; each is one line of
// ASCII JSON ended by CRLF. Client → server: {"execute": N, "arguments": {...},
// "id": ID}. Member order is never significant.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cvm/common/error.h"
#include "cvm/common/gptr.h"

namespace cvm::qmp {

enum class MessageKind {
	Greeting, // {"QMP": ...}
	Event,    // {"event": ...}
	Return,   // {"return": ...}
	Error,    // {"error": ...}
	Command,  // {"execute": ...} or {"exec-oob": ...}
	Unknown,  // none of these members
};

const char *messageKindName(MessageKind kind);

// Parses one framed value; fails unless it is a JSON object.
Result<JsonNodePtr> parseMessage(std::string_view text);

// Classifies by the identifying member only (the parse* functions below check
// the rest). A message with several identifying members is Unknown.
MessageKind classify(JsonObject *message);

// --- greeting -------------------------------------------------------------

struct Version {
	int64_t major = 0;
	int64_t minor = 0;
	int64_t micro = 0;
	std::string package;
	std::string toString() const; // "7.2.22 (Debian 1:7.2+dfsg-7)"
};

struct Greeting {
	Version version;
	std::vector<std::string> capabilities;
	bool hasCapability(std::string_view name) const;
};

Result<Greeting> parseGreeting(JsonObject *message);
// Compact JSON text (no framing).
std::string buildGreeting(const Greeting &greeting);

// --- events ---------------------------------------------------------------

struct Event {
	std::string name;
	JsonNodePtr data;          // the "data" member, or null when absent
	int64_t seconds = -1;      // timestamp (QEMU sends -1/-1 when the clock failed)
	int64_t microseconds = -1;
	// Bytes of the message it arrived in (0 when not from the wire): what
	// buffering it costs, for SyncClient's event budget.
	size_t wireSize = 0;

	Event clone() const;
	// Member of "data" as a string ("" when absent), e.g. SHUTDOWN's "reason".
	std::string dataString(std::string_view member) const;
};

Result<Event> parseEvent(JsonObject *message);
// `data` may be null. A negative `seconds` stamps the current time.
std::string buildEvent(std::string_view name, JsonNode *data, int64_t seconds = -1,
		       int64_t microseconds = 0);

// --- replies --------------------------------------------------------------

struct Reply {
	JsonNodePtr id;            // null when the reply had no id
	bool ok = false;
	JsonNodePtr value;         // "return" (ok)
	std::string errorClass;    // "error"."class" (!ok)
	std::string errorDesc;     // "error"."desc"  (!ok)
};

Result<Reply> parseReply(JsonObject *message);
std::string buildReturn(JsonNode *value, JsonNode *id);
std::string buildErrorReply(std::string_view errorClass, std::string_view desc, JsonNode *id);

// The Error a QMP error reply becomes: code Remote, tag = the QMP class,
// message "<command>: <desc>".
Error remoteError(std::string_view command, std::string_view errorClass, std::string_view desc);
// QEMU's desc back from such an Error (the message without "<command>: ").
std::string_view remoteErrorDesc(const Error &error, std::string_view command);

// --- commands -------------------------------------------------------------

struct Command {
	std::string name;
	JsonNodePtr arguments;     // an object, or null when absent
	JsonNodePtr id;            // null when absent
	bool oob = false;          // "exec-oob"
};

// Client side: compact JSON text of {"execute": name, "arguments": ..., "id": ...}.
// `arguments` and `id` may be null (left out).
std::string buildCommand(std::string_view name, JsonObject *arguments, JsonNode *id, bool oob = false);

// Server side: checks a request the way QEMU does and fails with QEMU's own
// texts ("QMP input lacks member 'execute'", "QMP input member 'arguments' must
// be an object", ...). `message` may be any JSON value ("QMP input must be a
// JSON object"). exec-oob is only accepted when `oobEnabled`.
Result<Command> parseCommand(JsonNode *message, bool oobEnabled = false);

// --- ids ------------------------------------------------------------------

// The "id" member (borrowed), or null.
JsonNode *messageId(JsonObject *message);
// A canonical text for an id of any JSON type, usable as a map key.
std::string idKey(JsonNode *id);

// --- encoding -------------------------------------------------------------

// QEMU's output is ASCII only: every non-ASCII character of a serialized JSON
// text is replaced by \uXXXX escapes (upper-case hex; surrogate pairs beyond
// the BMP). Safe on a whole JSON text because non-ASCII only occurs in strings.
std::string toAsciiJson(std::string_view utf8Json);
// A server message as QEMU frames it: ASCII JSON + "\r\n".
std::string frameServerMessage(std::string_view json);
// A client message: JSON + "\n" (QEMU frames input by bracket balance; the
// newline only helps line-oriented tools such as socat).
std::string frameClientMessage(std::string_view json);

// --- secrets --------------------------------------------------------------

// Commands whose arguments carry secrets and are never logged in clear:
// sev-inject-launch-secret (the launch secret packet), and object-add of a
// "secret" object (QEMU's way of passing passwords and keys).
bool isSensitiveCommand(std::string_view name, JsonObject *arguments);
// The command text for logs: arguments replaced by "<redacted>" when sensitive.
std::string loggableCommand(std::string_view name, JsonObject *arguments, JsonNode *id,
			    bool sensitive);

constexpr std::string_view kRedacted = "<redacted>";

// For writing a client message down (the recorder): when it is a sensitive
// command with arguments, a copy in which every member of "arguments" is
// "<redacted>" except those that only say what it acts on ("qom-type", "id");
// null otherwise (nothing to hide). The replay server takes "<redacted>" in a
// transcript for "any value".
JsonNodePtr redactSensitiveArguments(JsonObject *message);

} // namespace cvm::qmp
