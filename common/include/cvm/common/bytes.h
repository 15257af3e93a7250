// SPDX-License-Identifier: Apache-2.0
//
// Byte buffers, hex/base64, little-endian access and a bounds-checked reader.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cvm/common/error.h"

namespace cvm {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;
using MutableByteView = std::span<uint8_t>;

inline ByteView asBytes(std::string_view s)
{
	return ByteView(reinterpret_cast<const uint8_t *>(s.data()), s.size());
}

inline std::string_view asString(ByteView b)
{
	return std::string_view(reinterpret_cast<const char *>(b.data()), b.size());
}

Bytes concat(std::initializer_list<ByteView> parts);

// Lower-case hex.
std::string toHex(ByteView data);
// Accepts upper/lower case; rejects odd length and non-hex characters.
Result<Bytes> fromHex(std::string_view hex);

// Standard base64 (RFC 4648 with padding), through GLib.
std::string toBase64(ByteView data);
// Strict: rejects characters outside the alphabet, bad padding and bad length.
// ASCII whitespace (line breaks in PEM-like files) is ignored.
Result<Bytes> fromBase64(std::string_view text);

// Compares in time independent of the contents (CRYPTO_memcmp). Different
// lengths compare unequal (the length is not secret).
bool constantTimeEqual(ByteView a, ByteView b);

// A fixed wire-layout field: described once, used by parser and writer.
struct Field {
	size_t offset;
	size_t size;
	constexpr size_t end() const { return offset + size; }
};

// Little-endian loads/stores at a given offset. The caller has checked the
// length (asserted here): use ByteReader for input whose size is not known.
uint16_t loadLe16(ByteView data, size_t offset);
uint32_t loadLe32(ByteView data, size_t offset);
uint64_t loadLe64(ByteView data, size_t offset);
void storeLe16(MutableByteView data, size_t offset, uint16_t value);
void storeLe32(MutableByteView data, size_t offset, uint32_t value);
void storeLe64(MutableByteView data, size_t offset, uint64_t value);
ByteView slice(ByteView data, Field field);
void storeBytes(MutableByteView data, size_t offset, ByteView value);

inline void appendLe16(Bytes &out, uint16_t v)
{
	out.push_back(v & 0xff);
	out.push_back(v >> 8);
}
inline void appendLe32(Bytes &out, uint32_t v)
{
	for (int i = 0; i < 4; ++i)
		out.push_back((v >> (8 * i)) & 0xff);
}
inline void appendLe64(Bytes &out, uint64_t v)
{
	for (int i = 0; i < 8; ++i)
		out.push_back((v >> (8 * i)) & 0xff);
}
inline void append(Bytes &out, ByteView v) { out.insert(out.end(), v.begin(), v.end()); }

// Sequential bounds-checked reader for untrusted input. Every read checks the
// remaining length first and fails with a message naming the field.
class ByteReader
{
public:
	explicit ByteReader(ByteView data, std::string what = "input")
		: data_(data), what_(std::move(what))
	{
	}

	size_t offset() const { return offset_; }
	size_t remaining() const { return data_.size() - offset_; }
	bool atEnd() const { return offset_ == data_.size(); }

	Result<uint8_t> u8(std::string_view field);
	Result<uint16_t> le16(std::string_view field);
	Result<uint32_t> le32(std::string_view field);
	Result<uint64_t> le64(std::string_view field);
	Result<uint16_t> be16(std::string_view field);
	Result<uint32_t> be32(std::string_view field);
	Result<ByteView> bytes(size_t n, std::string_view field);
	Status skip(size_t n, std::string_view field);

private:
	Status need(size_t n, std::string_view field) const;

	ByteView data_;
	std::string what_;
	size_t offset_ = 0;
};

// A GUID in EFI byte order (data1/2/3 little-endian), as used by OVMF tables,
// the SEV secret table and TDVF metadata.
struct Guid {
	std::array<uint8_t, 16> bytes{};

	// Parses "1e74f542-71dd-4d66-963e-ef4287ff173b" into EFI byte order.
	static Result<Guid> parse(std::string_view text);
	static Guid fromBytes(ByteView raw16);
	std::string toString() const;
	bool operator==(const Guid &) const = default;
};

} // namespace cvm
