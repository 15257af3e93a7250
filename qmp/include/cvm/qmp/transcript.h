// SPDX-License-Identifier: Apache-2.0
//
// QMP transcripts: a recorded conversation, one JSON object per line (.jsonl),
// the format of ../shared/fixtures/qmp-qemu-7.2/ (see its README):
//
//   {"meta": {...}}        information about the recording (argv, version, exit)
//   {"note": "..."}        a human annotation (not on the wire)
//   {"c2s": {...}}         a client message (sent as JSON + "\n")
//   {"c2s_raw": "..."}     raw client bytes, one character per byte (latin-1)
//   {"s2c": {...}}         a server message (sent as ASCII JSON + "\r\n")
//
// The replay server (replay.h) plays them; the recorder (recorder.h) writes
// them. Parsing checks every line and names file:line in its errors.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cvm/common/error.h"
#include "cvm/common/gptr.h"

namespace cvm::qmp {

enum class TranscriptKind { Meta, Note, ClientMessage, ClientRaw, ServerMessage };

// "meta", "note", "c2s", "c2s_raw", "s2c".
const char *transcriptKey(TranscriptKind kind);

struct TranscriptEntry {
	TranscriptKind kind = TranscriptKind::Note;
	JsonNodePtr value;   // Meta, ClientMessage, ServerMessage: an object
	std::string text;    // Note: the text; ClientRaw: the bytes
	int line = 0;        // 1-based line in the file (0 when built in memory)

	TranscriptEntry clone() const;
	JsonObject *object() const { return value ? json_node_get_object(value.get()) : nullptr; }
};

class Transcript
{
public:
	explicit Transcript(std::string name = "transcript") : name_(std::move(name)) {}
	Transcript(Transcript &&) = default;
	Transcript &operator=(Transcript &&) = default;

	static Result<Transcript> load(const std::string &path);
	// `name` is used in locations ("name:line").
	static Result<Transcript> parse(std::string_view text, std::string name);

	const std::string &name() const { return name_; }
	const std::vector<TranscriptEntry> &entries() const { return entries_; }
	// "01-basic-handshake.jsonl:12"
	std::string location(const TranscriptEntry &entry) const;

	// Appending (the recorder). Objects are referenced, not copied.
	void addMeta(JsonNode *object);
	void addNote(std::string_view text);
	void addClientMessage(JsonNode *object);
	void addClientRaw(std::string_view bytes);
	void addServerMessage(JsonNode *object);

	// The .jsonl text (ASCII, one entry per line).
	std::string serialize() const;
	Status save(const std::string &path) const;

	// The conversation without raw client input and the replies to it (a
	// client library never sends malformed bytes): c2s_raw lines go, and so
	// do the return/error messages after them up to the next client message.
	// Events stay.
	Transcript withoutRawInput() const;
	Transcript clone() const;

	size_t clientMessages() const;

private:
	std::string name_;
	std::vector<TranscriptEntry> entries_;
};

} // namespace cvm::qmp
