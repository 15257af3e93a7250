// SPDX-License-Identifier: Apache-2.0
//
// JsonSplitter: cuts a byte stream into complete JSON values, the way QEMU's
// json-streamer frames QMP input. It knows nothing about QMP, sockets or the
// direction of the stream, so both our QMP client (reading QEMU) and a QMP
// server (reading a client) use it.
//
// Framing is by bracket balance, not by lines: CRLF and LF between values are
// just whitespace, pretty multi-line JSON (QEMU's pretty=on monitor) works,
// several values may arrive in one read and one value over many reads. Strings
// and escapes are honoured, so a '}' or a newline escape inside a string never
// ends a value. The splitter does not parse numbers or keywords: a complete
// value may still be invalid JSON ("{nope}"), which the JSON parser reports.
//
// Limits: a value larger than maxMessageSize or nested deeper than maxNesting
// is refused with an error instead of growing memory or recursion without
// bound. Bytes that can never be part of JSON (control characters outside
// whitespace, a stray '}', bytes that are never valid UTF-8) are reported as
// errors carrying their stream offset; the partial value is discarded and the
// splitter resynchronises: it skips input up to the next '{' or '[' (which
// starts a new value) or the next control character (which is consumed), like
// QEMU's lexer does after a parse error. A peer can thus force a known-good
// state by sending a control character such as 0x01 or a line feed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cvm::qmp {

// QEMU's own input limits (qobject/json-streamer.c): 64 MiB per value, 1024 levels.
constexpr size_t kDefaultMaxMessageSize = 64u << 20;
constexpr unsigned kDefaultMaxNesting = 1024;

struct SplitterLimits {
	size_t maxMessageSize = kDefaultMaxMessageSize;
	unsigned maxNesting = kDefaultMaxNesting;
	// QEMU accepts 'single-quoted' strings from clients as an extension. When
	// set, they are framed and rewritten to standard double-quoted JSON in the
	// value's text, so a standard parser can read it. Off for the client side:
	// QEMU never sends them.
	bool singleQuotes = false;
};

enum class SplitErrorKind {
	StrayByte,      // a byte that cannot appear at this point of a JSON text
	UnbalancedClose,// '}' or ']' that closes nothing or the wrong bracket
	TooLarge,       // the value grew beyond maxMessageSize
	TooDeep,        // nesting beyond maxNesting
	Truncated,      // the stream ended inside a value (only from finish())
};

struct SplitError {
	SplitErrorKind kind = SplitErrorKind::StrayByte;
	uint64_t offset = 0;   // stream offset of the offending byte (or of the end, for Truncated)
	uint8_t byte = 0;      // the offending byte (StrayByte, UnbalancedClose)
	size_t discarded = 0;  // bytes of the partial value thrown away, the offending byte included
	size_t limit = 0;      // the limit exceeded (TooLarge, TooDeep)

	// "stray byte 0x01 at offset 123", "message larger than 67108864 bytes at offset 7", ...
	std::string message() const;
	// The offending byte as QEMU quotes it in "JSON parse error, stray '%s'":
	// printable ASCII as is, anything else as \uXXXX (0x80..0xFF as \uFFFD).
	std::string qemuStray() const;
};

struct Frame {
	enum class Type { Value, Error };

	Type type = Type::Value;
	// Value: the text of one complete JSON value, without surrounding whitespace
	// (single-quoted strings rewritten when SplitterLimits::singleQuotes is set).
	std::string text;
	// Value: the stream offset of its first byte.
	uint64_t offset = 0;
	// Error: what was wrong.
	SplitError error;

	bool isError() const { return type == Type::Error; }
};

class JsonSplitter
{
public:
	explicit JsonSplitter(SplitterLimits limits = {});

	// Consumes bytes from `data` until one frame (a value or an error) is
	// complete or `data` is exhausted, and returns how many bytes it consumed.
	// A server that answers one command at a time (as QEMU does) stops here;
	// the unconsumed rest is fed again later.
	size_t consume(std::string_view data, std::optional<Frame> &frame);

	// Consumes all of `data` and returns every frame it completed, in order.
	std::vector<Frame> feed(std::string_view data);

	// At end of stream: a value cut short becomes a Truncated error; a bare
	// top-level scalar ("42") that was waiting for its delimiter is completed.
	std::optional<Frame> finish();

	// Forgets any partial value and recovery state (not the stream offset).
	void reset();

	// Whether a value has started but is not complete yet.
	bool midValue() const { return mode_ != Mode::Between && mode_ != Mode::Recovery; }
	// Bytes held for the incomplete value.
	size_t pendingBytes() const { return buffer_.size(); }
	// Total bytes consumed since construction.
	uint64_t offset() const { return offset_; }
	const SplitterLimits &limits() const { return limits_; }

private:
	enum class Mode { Between, Scalar, Value, String, Recovery };
	enum class Step { Continue, Complete, CompleteBefore, Fail, Lookahead };

	Step step(uint8_t c);
	Step stepBetween(uint8_t c);
	Step stepValue(uint8_t c);
	Step stepString(uint8_t c);
	Step fail(SplitErrorKind kind, uint8_t c);
	bool append(uint8_t c);
	bool open(uint8_t c);
	void startValue();

	SplitterLimits limits_;
	Mode mode_ = Mode::Between;
	std::string buffer_;
	std::string stack_;      // open brackets, innermost last
	uint8_t quote_ = 0;      // the quote of the current string
	bool escape_ = false;
	uint64_t offset_ = 0;
	uint64_t valueStart_ = 0;
	SplitError error_;
};

} // namespace cvm::qmp
