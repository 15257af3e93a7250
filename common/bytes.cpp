// SPDX-License-Identifier: Apache-2.0
#include "cvm/common/bytes.h"

#include <cstring>

#include <glib.h>
#include <openssl/crypto.h>

namespace cvm {

Bytes concat(std::initializer_list<ByteView> parts)
{
	size_t total = 0;
	for (ByteView p : parts)
		total += p.size();
	Bytes out;
	out.reserve(total);
	for (ByteView p : parts)
		out.insert(out.end(), p.begin(), p.end());
	return out;
}

std::string toHex(ByteView data)
{
	static const char digits[] = "0123456789abcdef";
	std::string out;
	out.resize(data.size() * 2);
	for (size_t i = 0; i < data.size(); ++i) {
		out[2 * i] = digits[data[i] >> 4];
		out[2 * i + 1] = digits[data[i] & 0xf];
	}
	return out;
}

static int hexValue(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

Result<Bytes> fromHex(std::string_view hex)
{
	if (hex.size() % 2)
		return Error(ErrorCode::InvalidArgument, "hex string has an odd number of digits");
	Bytes out(hex.size() / 2);
	for (size_t i = 0; i < out.size(); ++i) {
		int hi = hexValue(hex[2 * i]);
		int lo = hexValue(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return Error(ErrorCode::InvalidArgument,
				     "invalid hex digit at position " + std::to_string(hi < 0 ? 2 * i : 2 * i + 1));
		out[i] = static_cast<uint8_t>(hi << 4 | lo);
	}
	return out;
}

std::string toBase64(ByteView data)
{
	if (data.empty())
		return {};
	gchar *text = g_base64_encode(data.data(), data.size());
	std::string out(text);
	g_free(text);
	return out;
}

static bool isBase64Char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

Result<Bytes> fromBase64(std::string_view text)
{
	// g_base64_decode() silently skips invalid characters: validate first.
	std::string clean;
	clean.reserve(text.size());
	for (char c : text) {
		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		clean.push_back(c);
	}
	if (clean.size() % 4)
		return Error(ErrorCode::InvalidData, "base64 text length is not a multiple of 4");
	size_t pad = 0;
	for (size_t i = 0; i < clean.size(); ++i) {
		char c = clean[i];
		if (c == '=') {
			if (i < clean.size() - 2)
				return Error(ErrorCode::InvalidData, "misplaced '=' in base64 text");
			++pad;
			continue;
		}
		if (pad)
			return Error(ErrorCode::InvalidData, "data after '=' padding in base64 text");
		if (!isBase64Char(c))
			return Error(ErrorCode::InvalidData,
				     "invalid character in base64 text at position " + std::to_string(i));
	}
	if (clean.empty())
		return Bytes{};

	gsize len = 0;
	guchar *raw = g_base64_decode(clean.c_str(), &len);
	Bytes out(raw, raw + len);
	g_free(raw);
	return out;
}

bool constantTimeEqual(ByteView a, ByteView b)
{
	if (a.size() != b.size())
		return false;
	if (a.empty())
		return true;
	return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

uint16_t loadLe16(ByteView d, size_t o)
{
	assert(o + 2 <= d.size());
	return static_cast<uint16_t>(d[o] | d[o + 1] << 8);
}

uint32_t loadLe32(ByteView d, size_t o)
{
	assert(o + 4 <= d.size());
	return static_cast<uint32_t>(d[o]) | static_cast<uint32_t>(d[o + 1]) << 8 |
	       static_cast<uint32_t>(d[o + 2]) << 16 | static_cast<uint32_t>(d[o + 3]) << 24;
}

uint64_t loadLe64(ByteView d, size_t o)
{
	return static_cast<uint64_t>(loadLe32(d, o)) | static_cast<uint64_t>(loadLe32(d, o + 4)) << 32;
}

void storeLe16(MutableByteView d, size_t o, uint16_t v)
{
	assert(o + 2 <= d.size());
	d[o] = v & 0xff;
	d[o + 1] = v >> 8;
}

void storeLe32(MutableByteView d, size_t o, uint32_t v)
{
	assert(o + 4 <= d.size());
	for (int i = 0; i < 4; ++i)
		d[o + i] = (v >> (8 * i)) & 0xff;
}

void storeLe64(MutableByteView d, size_t o, uint64_t v)
{
	storeLe32(d, o, static_cast<uint32_t>(v));
	storeLe32(d, o + 4, static_cast<uint32_t>(v >> 32));
}

ByteView slice(ByteView data, Field field)
{
	assert(field.end() <= data.size());
	return data.subspan(field.offset, field.size);
}

void storeBytes(MutableByteView data, size_t offset, ByteView value)
{
	assert(offset + value.size() <= data.size());
	if (!value.empty())
		std::memcpy(data.data() + offset, value.data(), value.size());
}

Status ByteReader::need(size_t n, std::string_view field) const
{
	if (n > remaining())
		return Error(ErrorCode::InvalidData,
			     what_ + " is truncated: " + std::string(field) + " needs " +
				     std::to_string(n) + " bytes at offset " + std::to_string(offset_) +
				     ", " + std::to_string(remaining()) + " left");
	return {};
}

Result<uint8_t> ByteReader::u8(std::string_view field)
{
	CVM_CHECK(need(1, field));
	return data_[offset_++];
}

Result<uint16_t> ByteReader::le16(std::string_view field)
{
	CVM_CHECK(need(2, field));
	uint16_t v = loadLe16(data_, offset_);
	offset_ += 2;
	return v;
}

Result<uint32_t> ByteReader::le32(std::string_view field)
{
	CVM_CHECK(need(4, field));
	uint32_t v = loadLe32(data_, offset_);
	offset_ += 4;
	return v;
}

Result<uint64_t> ByteReader::le64(std::string_view field)
{
	CVM_CHECK(need(8, field));
	uint64_t v = loadLe64(data_, offset_);
	offset_ += 8;
	return v;
}

Result<uint16_t> ByteReader::be16(std::string_view field)
{
	CVM_CHECK(need(2, field));
	uint16_t v = static_cast<uint16_t>(data_[offset_] << 8 | data_[offset_ + 1]);
	offset_ += 2;
	return v;
}

Result<uint32_t> ByteReader::be32(std::string_view field)
{
	CVM_CHECK(need(4, field));
	uint32_t v = 0;
	for (int i = 0; i < 4; ++i)
		v = v << 8 | data_[offset_ + i];
	offset_ += 4;
	return v;
}

Result<ByteView> ByteReader::bytes(size_t n, std::string_view field)
{
	CVM_CHECK(need(n, field));
	ByteView v = data_.subspan(offset_, n);
	offset_ += n;
	return v;
}

Status ByteReader::skip(size_t n, std::string_view field)
{
	CVM_CHECK(need(n, field));
	offset_ += n;
	return {};
}

Result<Guid> Guid::parse(std::string_view text)
{
	// 8-4-4-4-12
	if (text.size() != 36 || text[8] != '-' || text[13] != '-' || text[18] != '-' ||
	    text[23] != '-')
		return Error(ErrorCode::InvalidArgument,
			     "'" + std::string(text) + "' is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)");
	std::string hex;
	for (char c : text)
		if (c != '-')
			hex.push_back(c);
	auto raw = fromHex(hex);
	if (!raw || raw->size() != 16)
		return Error(ErrorCode::InvalidArgument, "'" + std::string(text) + "' is not a GUID");
	const Bytes &b = *raw;
	Guid g;
	// data1 (4), data2 (2), data3 (2) little-endian; the rest as written.
	const uint8_t order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };
	for (int i = 0; i < 16; ++i)
		g.bytes[i] = b[order[i]];
	return g;
}

Guid Guid::fromBytes(ByteView raw16)
{
	assert(raw16.size() == 16);
	Guid g;
	std::memcpy(g.bytes.data(), raw16.data(), 16);
	return g;
}

std::string Guid::toString() const
{
	const uint8_t order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };
	uint8_t be[16];
	for (int i = 0; i < 16; ++i)
		be[i] = bytes[order[i]];
	std::string h = toHex(ByteView(be, 16));
	return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
	       "-" + h.substr(20);
}

} // namespace cvm
