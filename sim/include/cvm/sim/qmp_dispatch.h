// SPDX-License-Identifier: Apache-2.0
//
// The command side of a QEMU-7.2-shaped QMP server: a table of commands with
// their argument schema, validated the way QEMU's qobject input visitor does
// before a handler runs ("Parameter 'mnonce' is missing", "Parameter 'bogus'
// is unexpected", "Invalid parameter type for 'mnonce', expected: string"),
// and QmpSession, the per-connection protocol (greeting, capabilities
// negotiation, framing, ids) with no I/O so it can be unit-tested and fuzzed.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cvm/common/error.h"
#include "cvm/common/gptr.h"
#include "cvm/qmp/json_splitter.h"
#include "cvm/qmp/wire.h"

namespace cvm::sim {

enum class ArgType { String, Int, Uint32, Uint64, Bool, StringList, Any };

struct ArgSpec {
	std::string name;
	ArgType type = ArgType::String;
	bool optional = false;
};

// A QMP error reply as an Error: message = desc, tag = class.
inline constexpr std::string_view kGenericError = "GenericError";
inline constexpr std::string_view kCommandNotFound = "CommandNotFound";
Error qmpError(std::string desc, std::string_view errorClass = kGenericError);

// Arguments are borrowed for the call; the handler returns the "return"
// value (an empty object when it has nothing to say).
using QmpHandler = std::function<Result<JsonNodePtr>(JsonObject *arguments)>;

struct QmpCommandDef {
	std::string name;
	std::vector<ArgSpec> args;
	QmpHandler handler;
};

// QEMU's checks of `arguments` (may be null) against `spec`, in QEMU's order:
// each declared member (missing / wrong type), then anything undeclared.
Status checkArguments(const std::vector<ArgSpec> &spec, JsonObject *arguments);

class QmpDispatcher
{
public:
	void add(QmpCommandDef def);
	bool has(std::string_view name) const;
	// Validates and runs; CommandNotFound for unknown names.
	Result<JsonNodePtr> dispatch(std::string_view name, JsonObject *arguments) const;

private:
	std::map<std::string, QmpCommandDef, std::less<>> commands_;
};

// The greeting's version: QEMU 7.2.x.
qmp::Version defaultQemuVersion();

struct QmpSessionOptions {
	qmp::Version version = defaultQemuVersion();
	std::vector<std::string> capabilities{ "oob" };
};

// One client connection's protocol. Input is framed by JsonSplitter (single
// quotes allowed, like QEMU); every output message is CRLF-framed ASCII JSON.
class QmpSession
{
public:
	QmpSession(const QmpDispatcher &dispatcher, QmpSessionOptions options = {});

	// The greeting (framed), sent when the client connects.
	std::string greeting() const;

	void receive(std::string_view bytes);
	// Handles at most one complete request (or framing error) from what was
	// received; false when nothing complete is buffered.
	bool processOne();

	// An event for this client: queued only once negotiation is complete
	// (QEMU delivers no events in capabilities-negotiation mode).
	void queueEvent(std::string_view framedEvent);

	// Bytes to send, in order (the caller writes them).
	std::string takeOutput();
	bool hasOutput() const { return !output_.empty(); }
	// Whether received bytes wait to be processed.
	bool hasInput() const { return !input_.empty(); }

	bool negotiated() const { return negotiated_; }
	// Commands answered so far (qmp_capabilities included).
	unsigned commandCount() const { return commands_; }
	// The name of the command most recently dispatched ("" for framing errors).
	const std::string &lastCommand() const { return lastCommand_; }

	// Hook run before each command: returning false swallows it (no reply).
	std::function<bool(const std::string &name)> beforeCommand;
	// Hook that may replace a reply text before it is framed.
	std::function<void(const std::string &name, std::string &replyJson)> rewriteReply;

private:
	void handleValue(const std::string &text);
	void handleCommand(JsonNode *message);
	Result<JsonNodePtr> negotiate(const qmp::Command &command);
	void send(std::string json);

	const QmpDispatcher &dispatcher_;
	QmpSessionOptions options_;
	qmp::JsonSplitter splitter_;
	std::string input_;
	std::string partial_; // bytes of the value being framed (for error texts)
	std::string output_;
	std::string lastCommand_;
	bool negotiated_ = false;
	bool oob_ = false;
	unsigned commands_ = 0;
};

} // namespace cvm::sim
