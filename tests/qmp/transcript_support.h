// SPDX-License-Identifier: Apache-2.0
//
// Reading the shared QMP fixtures in tests: the byte streams of a *.raw capture
// and the messages of a *.jsonl transcript.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cvm/common/gptr.h"

namespace cvm::test {

// The two directions of a *.raw capture ("<<< b'...'" server, ">>> b'...'"
// client), each as the concatenation of its chunks, and the chunks themselves
// in order.
struct RawCapture {
	std::string server;
	std::string client;
	std::vector<std::string> clientChunks;
	std::vector<std::string> serverChunks;
};

RawCapture readRawCapture(std::string_view fixtureName);

// One line of a *.jsonl transcript: its key ("s2c", "c2s", ...) and value.
struct TranscriptLine {
	std::string key;
	JsonNodePtr value;
	int line = 0;
};

std::vector<TranscriptLine> readTranscript(std::string_view fixtureName);

// Decodes a Python bytes literal body (the part between the quotes of b'...').
std::string decodePythonBytes(std::string_view literal);

} // namespace cvm::test
