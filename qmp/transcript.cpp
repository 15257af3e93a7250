// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-qmp"

#include "cvm/qmp/transcript.h"

#include "cvm/common/file.h"
#include "cvm/common/json.h"
#include "cvm/qmp/wire.h"

namespace cvm::qmp {

namespace {

constexpr size_t kMaxTranscriptSize = 256u << 20;

JsonNodePtr ref(JsonNode *node)
{
	return JsonNodePtr(node ? json_node_ref(node) : nullptr);
}

// c2s_raw strings hold one character per byte (Python's latin-1 decoding).
Result<std::string> latin1ToBytes(const char *utf8)
{
	std::string out;
	for (const char *p = utf8; *p; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);
		if (c > 0xFF)
			return Error(ErrorCode::InvalidData,
				     "c2s_raw holds a character above U+00FF (not a byte)");
		out.push_back(static_cast<char>(c));
	}
	return out;
}

std::string bytesToLatin1(std::string_view bytes)
{
	std::string out;
	for (unsigned char b : bytes) {
		char buf[6];
		gint n = g_unichar_to_utf8(b, buf);
		out.append(buf, static_cast<size_t>(n));
	}
	return out;
}

Result<TranscriptEntry> parseLine(std::string_view line)
{
	JsonNodePtr node = CVM_TRY(json::parseObject(line));
	JsonObject *o = json_node_get_object(node.get());
	if (json_object_get_size(o) != 1)
		return Error(ErrorCode::InvalidData, "a transcript line must have exactly one member");
	GList *members = json_object_get_members(o);
	std::string key = static_cast<const char *>(members->data);
	g_list_free(members);
	JsonNode *value = json_object_get_member(o, key.c_str());

	TranscriptEntry e;
	if (key == "meta" || key == "c2s" || key == "s2c") {
		if (!JSON_NODE_HOLDS_OBJECT(value))
			return Error(ErrorCode::InvalidData, "member '" + key + "' must be an object");
		e.kind = key == "meta" ? TranscriptKind::Meta
			 : key == "c2s" ? TranscriptKind::ClientMessage : TranscriptKind::ServerMessage;
		e.value = ref(value);
	} else if (key == "note" || key == "c2s_raw") {
		std::string s = CVM_TRY(json::nodeString(value, key));
		if (key == "note") {
			e.kind = TranscriptKind::Note;
			e.text = std::move(s);
		} else {
			e.kind = TranscriptKind::ClientRaw;
			e.text = CVM_TRY(latin1ToBytes(s.c_str()));
		}
	} else {
		return Error(ErrorCode::InvalidData, "unknown transcript key '" + key + "'");
	}
	return e;
}

bool isReply(const TranscriptEntry &e)
{
	if (e.kind != TranscriptKind::ServerMessage)
		return false;
	MessageKind k = classify(e.object());
	return k == MessageKind::Return || k == MessageKind::Error;
}

} // namespace

const char *transcriptKey(TranscriptKind kind)
{
	switch (kind) {
	case TranscriptKind::Meta: return "meta";
	case TranscriptKind::Note: return "note";
	case TranscriptKind::ClientMessage: return "c2s";
	case TranscriptKind::ClientRaw: return "c2s_raw";
	case TranscriptKind::ServerMessage: return "s2c";
	}
	return "note";
}

TranscriptEntry TranscriptEntry::clone() const
{
	TranscriptEntry e;
	e.kind = kind;
	e.value = ref(value.get());
	e.text = text;
	e.line = line;
	return e;
}

Result<Transcript> Transcript::load(const std::string &path)
{
	auto text = readTextFile(path, kMaxTranscriptSize);
	if (!text)
		return text.error().withContext("cannot read transcript " + path);
	return parse(*text, path);
}

Result<Transcript> Transcript::parse(std::string_view text, std::string name)
{
	Transcript t(std::move(name));
	int lineNo = 0;
	while (!text.empty()) {
		++lineNo;
		size_t end = text.find('\n');
		std::string_view line = text.substr(0, end);
		text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
		if (!line.empty() && line.back() == '\r')
			line.remove_suffix(1);
		if (line.find_first_not_of(" \t") == std::string_view::npos)
			continue;
		auto entry = parseLine(line);
		if (!entry)
			return Error(ErrorCode::InvalidData,
				     t.name_ + ":" + std::to_string(lineNo) + ": " + entry.error().message());
		entry->line = lineNo;
		t.entries_.push_back(std::move(entry).value());
	}
	return t;
}

std::string Transcript::location(const TranscriptEntry &entry) const
{
	std::string base = name_;
	size_t slash = base.rfind('/');
	if (slash != std::string::npos)
		base = base.substr(slash + 1);
	return base + ":" + std::to_string(entry.line);
}

void Transcript::addMeta(JsonNode *object)
{
	entries_.push_back({ TranscriptKind::Meta, ref(object), {}, 0 });
}

void Transcript::addNote(std::string_view text)
{
	entries_.push_back({ TranscriptKind::Note, nullptr, std::string(text), 0 });
}

void Transcript::addClientMessage(JsonNode *object)
{
	entries_.push_back({ TranscriptKind::ClientMessage, ref(object), {}, 0 });
}

void Transcript::addClientRaw(std::string_view bytes)
{
	entries_.push_back({ TranscriptKind::ClientRaw, nullptr, std::string(bytes), 0 });
}

void Transcript::addServerMessage(JsonNode *object)
{
	entries_.push_back({ TranscriptKind::ServerMessage, ref(object), {}, 0 });
}

std::string Transcript::serialize() const
{
	std::string out;
	for (const auto &e : entries_) {
		JsonObjectPtr line(json_object_new());
		const char *key = transcriptKey(e.kind);
		if (e.kind == TranscriptKind::Note)
			json_object_set_string_member(line.get(), key, e.text.c_str());
		else if (e.kind == TranscriptKind::ClientRaw)
			json_object_set_string_member(line.get(), key, bytesToLatin1(e.text).c_str());
		else
			json_object_set_member(line.get(), key, json_node_ref(e.value.get()));
		out += toAsciiJson(json::serialize(line.get()));
		out.push_back('\n');
	}
	return out;
}

Status Transcript::save(const std::string &path) const
{
	// Private: a recording is of a live monitor (redacted, but still a
	// record of what an admin did).
	std::string text = serialize();
	return writeFileAtomic(path, asBytes(text), 0600);
}

Transcript Transcript::withoutRawInput() const
{
	Transcript t(name_);
	bool afterRaw = false;
	for (const auto &e : entries_) {
		if (e.kind == TranscriptKind::ClientRaw) {
			afterRaw = true;
			continue;
		}
		if (e.kind == TranscriptKind::ClientMessage)
			afterRaw = false;
		if (afterRaw && isReply(e))
			continue;
		t.entries_.push_back(e.clone());
	}
	return t;
}

Transcript Transcript::clone() const
{
	Transcript t(name_);
	for (const auto &e : entries_)
		t.entries_.push_back(e.clone());
	return t;
}

size_t Transcript::clientMessages() const
{
	size_t n = 0;
	for (const auto &e : entries_)
		if (e.kind == TranscriptKind::ClientMessage || e.kind == TranscriptKind::ClientRaw)
			++n;
	return n;
}

} // namespace cvm::qmp
