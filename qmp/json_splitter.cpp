// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-qmp"

#include "cvm/qmp/json_splitter.h"

#include <cstdio>

namespace cvm::qmp {

namespace {

bool isWhitespace(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// Characters of numbers and keywords (true, false, null): the splitter only
// needs to know where such a token ends; the parser judges its spelling.
bool isScalarChar(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c == '-' || c == '+' || c == '.';
}

// Bytes that never occur in UTF-8. Other invalid sequences are left to the
// parser, which validates the whole text; these are refused early because
// QEMU's lexer uses them (0xFE, 0xFF) as resynchronisation points.
bool isImpossibleUtf8(uint8_t c)
{
	return c == 0xC0 || c == 0xC1 || c >= 0xF5;
}

// Where recovery from an error ends. '{' and '[' start the next value; control
// characters (other than tab) and 0xFE/0xFF are consumed, as QEMU's lexer does.
bool isConsumedResyncPoint(uint8_t c)
{
	return (c < 0x20 && c != '\t') || c >= 0xFE;
}

std::string hexByte(uint8_t c)
{
	char buf[8];
	snprintf(buf, sizeof(buf), "0x%02x", c);
	return buf;
}

} // namespace

std::string SplitError::message() const
{
	std::string at = " at offset " + std::to_string(offset);
	switch (kind) {
	case SplitErrorKind::StrayByte:
		if (byte >= 0x20 && byte < 0x7f)
			return std::string("unexpected character '") + static_cast<char>(byte) + "'" + at;
		return "unexpected byte " + hexByte(byte) + at;
	case SplitErrorKind::UnbalancedClose:
		return std::string("unbalanced '") + static_cast<char>(byte) + "'" + at;
	case SplitErrorKind::TooLarge:
		return "message larger than " + std::to_string(limit) + " bytes" + at;
	case SplitErrorKind::TooDeep:
		return "message nested deeper than " + std::to_string(limit) + " levels" + at;
	case SplitErrorKind::Truncated:
		return "stream ended inside a message (" + std::to_string(discarded) +
		       " bytes received" + at + ")";
	}
	return "framing error" + at;
}

std::string SplitError::qemuStray() const
{
	if (byte >= 0x80)
		return "\xEF\xBF\xBD"; // U+FFFD, as QEMU reports an invalid UTF-8 byte
	return std::string(1, static_cast<char>(byte));
}

JsonSplitter::JsonSplitter(SplitterLimits limits) : limits_(limits) {}

void JsonSplitter::reset()
{
	mode_ = Mode::Between;
	buffer_.clear();
	stack_.clear();
	quote_ = 0;
	escape_ = false;
}

void JsonSplitter::startValue()
{
	buffer_.clear();
	stack_.clear();
	escape_ = false;
	valueStart_ = offset_;
}

bool JsonSplitter::append(uint8_t c)
{
	if (buffer_.size() >= limits_.maxMessageSize)
		return false;
	buffer_.push_back(static_cast<char>(c));
	return true;
}

JsonSplitter::Step JsonSplitter::fail(SplitErrorKind kind, uint8_t c)
{
	error_ = SplitError{};
	error_.kind = kind;
	error_.offset = offset_;
	error_.byte = c;
	error_.discarded = buffer_.size() + 1;
	if (kind == SplitErrorKind::TooLarge)
		error_.limit = limits_.maxMessageSize;
	else if (kind == SplitErrorKind::TooDeep)
		error_.limit = limits_.maxNesting;
	buffer_.clear();
	stack_.clear();
	escape_ = false;
	// A stray control character is itself a resynchronisation point.
	bool resynced = (kind == SplitErrorKind::StrayByte || kind == SplitErrorKind::UnbalancedClose) &&
			isConsumedResyncPoint(c);
	mode_ = resynced ? Mode::Between : Mode::Recovery;
	return Step::Fail;
}

bool JsonSplitter::open(uint8_t c)
{
	if (stack_.size() >= limits_.maxNesting)
		return false;
	stack_.push_back(static_cast<char>(c));
	return true;
}

JsonSplitter::Step JsonSplitter::stepBetween(uint8_t c)
{
	if (isWhitespace(c))
		return Step::Continue;
	if (c == '{' || c == '[') {
		startValue();
		if (!open(c))
			return fail(SplitErrorKind::TooDeep, c);
		if (!append(c))
			return fail(SplitErrorKind::TooLarge, c);
		mode_ = Mode::Value;
		return Step::Continue;
	}
	if (c == '"' || (c == '\'' && limits_.singleQuotes)) {
		startValue();
		if (!append('"'))
			return fail(SplitErrorKind::TooLarge, c);
		quote_ = c;
		mode_ = Mode::String;
		return Step::Continue;
	}
	if (isScalarChar(c)) {
		startValue();
		if (!append(c))
			return fail(SplitErrorKind::TooLarge, c);
		mode_ = Mode::Scalar;
		return Step::Continue;
	}
	if (c == '}' || c == ']')
		return fail(SplitErrorKind::UnbalancedClose, c);
	return fail(SplitErrorKind::StrayByte, c);
}

JsonSplitter::Step JsonSplitter::stepValue(uint8_t c)
{
	if (isWhitespace(c) || isScalarChar(c) || c == ':' || c == ',')
		return append(c) ? Step::Continue : fail(SplitErrorKind::TooLarge, c);
	if (c == '{' || c == '[') {
		if (!open(c))
			return fail(SplitErrorKind::TooDeep, c);
		return append(c) ? Step::Continue : fail(SplitErrorKind::TooLarge, c);
	}
	if (c == '}' || c == ']') {
		char expected = c == '}' ? '{' : '[';
		if (stack_.empty() || stack_.back() != expected)
			return fail(SplitErrorKind::UnbalancedClose, c);
		if (!append(c))
			return fail(SplitErrorKind::TooLarge, c);
		stack_.pop_back();
		return stack_.empty() ? Step::Complete : Step::Continue;
	}
	if (c == '"' || (c == '\'' && limits_.singleQuotes)) {
		if (!append('"'))
			return fail(SplitErrorKind::TooLarge, c);
		quote_ = c;
		mode_ = Mode::String;
		return Step::Continue;
	}
	return fail(SplitErrorKind::StrayByte, c);
}

JsonSplitter::Step JsonSplitter::stepString(uint8_t c)
{
	// JSON forbids raw control characters in strings; QEMU's lexer rejects
	// them too (a raw newline inside a string is "stray").
	if (c < 0x20 || isImpossibleUtf8(c))
		return fail(SplitErrorKind::StrayByte, c);
	bool ok;
	if (escape_) {
		escape_ = false;
		if (c == '\'' && limits_.singleQuotes)
			ok = append('\''); // \' is QEMU's extension; plain ' needs no escape in JSON
		else
			ok = append('\\') && append(c);
	} else if (c == '\\') {
		escape_ = true;
		ok = true;
	} else if (c == quote_) {
		ok = append('"');
		if (ok) {
			mode_ = stack_.empty() ? Mode::Between : Mode::Value;
			if (stack_.empty())
				return Step::Complete;
		}
	} else if (c == '"') {
		ok = append('\\') && append('"'); // a double quote inside a 'single-quoted' string
	} else {
		ok = append(c);
	}
	return ok ? Step::Continue : fail(SplitErrorKind::TooLarge, c);
}

JsonSplitter::Step JsonSplitter::step(uint8_t c)
{
	switch (mode_) {
	case Mode::Recovery:
		if (c == '{' || c == '[') {
			mode_ = Mode::Between;
			return Step::Lookahead;
		}
		if (isConsumedResyncPoint(c))
			mode_ = Mode::Between;
		return Step::Continue;
	case Mode::Between:
		return stepBetween(c);
	case Mode::Scalar:
		if (isScalarChar(c))
			return append(c) ? Step::Continue : fail(SplitErrorKind::TooLarge, c);
		// The token ended at the byte before: complete it, then look at this
		// byte again from the top level.
		return Step::CompleteBefore;
	case Mode::Value:
		return stepValue(c);
	case Mode::String:
		return stepString(c);
	}
	return Step::Continue;
}

size_t JsonSplitter::consume(std::string_view data, std::optional<Frame> &frame)
{
	frame.reset();
	size_t i = 0;
	while (i < data.size()) {
		// Long runs of ordinary string bytes are the bulk of large messages:
		// copy them in one go.
		if (mode_ == Mode::String && !escape_) {
			size_t j = i;
			while (j < data.size()) {
				uint8_t b = static_cast<uint8_t>(data[j]);
				if (b == quote_ || b == '\\' || b == '"' || b < 0x20 || isImpossibleUtf8(b))
					break;
				++j;
			}
			size_t run = j - i;
			if (run > 0 && buffer_.size() + run <= limits_.maxMessageSize) {
				buffer_.append(data.data() + i, run);
				i = j;
				offset_ += run;
				continue;
			}
		}

		uint8_t c = static_cast<uint8_t>(data[i]);
		Step s = step(c);
		if (s == Step::Lookahead)
			continue;
		if (s == Step::CompleteBefore) {
			mode_ = Mode::Between;
			frame.emplace();
			frame->type = Frame::Type::Value;
			frame->text = std::move(buffer_);
			frame->offset = valueStart_;
			buffer_.clear();
			return i;
		}
		++i;
		++offset_;
		if (s == Step::Complete) {
			mode_ = Mode::Between;
			frame.emplace();
			frame->type = Frame::Type::Value;
			frame->text = std::move(buffer_);
			frame->offset = valueStart_;
			buffer_.clear();
			return i;
		}
		if (s == Step::Fail) {
			frame.emplace();
			frame->type = Frame::Type::Error;
			frame->error = error_;
			return i;
		}
	}
	return i;
}

std::vector<Frame> JsonSplitter::feed(std::string_view data)
{
	std::vector<Frame> frames;
	while (!data.empty()) {
		std::optional<Frame> frame;
		size_t used = consume(data, frame);
		data.remove_prefix(used);
		if (frame)
			frames.push_back(std::move(*frame));
		else if (used == 0)
			break;
	}
	return frames;
}

std::optional<Frame> JsonSplitter::finish()
{
	std::optional<Frame> frame;
	if (mode_ == Mode::Scalar) {
		frame.emplace();
		frame->type = Frame::Type::Value;
		frame->text = std::move(buffer_);
		frame->offset = valueStart_;
	} else if (midValue()) {
		frame.emplace();
		frame->type = Frame::Type::Error;
		frame->error.kind = SplitErrorKind::Truncated;
		frame->error.offset = offset_;
		frame->error.discarded = buffer_.size();
	}
	reset();
	return frame;
}

} // namespace cvm::qmp
