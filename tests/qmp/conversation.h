// SPDX-License-Identifier: Apache-2.0
//
// Driving our Client through the client side of a recorded transcript and
// writing down what it saw, in order, so a test can compare it with what QEMU
// sent in the recording.
#pragma once

#include <string>
#include <vector>

#include "cvm/common/error.h"
#include "cvm/qmp/client.h"
#include "cvm/qmp/transcript.h"

namespace cvm::test {

// One line per reply or event, in the order the client delivered them:
//   "return <json>"  "error <class>: <desc>"  "failed <code>: <message>"
//   "event <NAME> <data json>"
std::string describeReply(const std::string &command, const Result<JsonNodePtr> &reply);
std::string describeEvent(const qmp::Event &event);

// The log a faithful client produces for `transcript`: every reply and event
// the server sent, in wire order. With `skipNegotiation` the first client
// message (qmp_capabilities, sent by the client itself) and its reply are left
// out.
std::vector<std::string> expectedLog(const qmp::Transcript &transcript, bool skipNegotiation);

struct ConversationOptions {
	// Let the client negotiate (the transcript's first client message must be
	// a plain qmp_capabilities); otherwise the transcript's own messages do.
	bool negotiate = false;
	// Send every client message at once instead of each after the previous
	// reply (for transcripts where replies overtake each other).
	bool pipelined = false;
	qmp::Milliseconds timeout{ 10000 };
};

struct ConversationResult {
	std::vector<std::string> log;
	std::optional<Error> readyError;
	std::optional<Error> closeError;
};

// Connects a Client to `socketPath` and sends the transcript's c2s messages
// (ids removed: the client uses its own), until the connection closes or
// `timeout` passes. c2s_raw lines are skipped (use withoutRawInput()).
ConversationResult runConversation(const std::string &socketPath, const qmp::Transcript &transcript,
				   ConversationOptions options);

} // namespace cvm::test
