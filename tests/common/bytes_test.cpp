// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "cvm/common/bytes.h"

using namespace cvm;

TEST_CASE("hex round trip and rejects bad input")
{
	Bytes b = { 0x00, 0x01, 0xab, 0xff };
	CHECK(toHex(b) == "0001abff");
	auto back = fromHex("0001ABff");
	REQUIRE(back.ok());
	CHECK(*back == b);
	CHECK_FALSE(fromHex("abc").ok());
	CHECK_FALSE(fromHex("zz").ok());
	CHECK(fromHex("").ok());
}

TEST_CASE("base64 is strict")
{
	CHECK(toBase64(asBytes("hello")) == "aGVsbG8=");
	auto ok = fromBase64("aGVs\nbG8=");
	REQUIRE(ok.ok());
	CHECK(asString(*ok) == "hello");
	CHECK_FALSE(fromBase64("aGVsbG8").ok());      // bad length
	CHECK_FALSE(fromBase64("aGV$bG8=").ok());     // bad character
	CHECK_FALSE(fromBase64("aG=sbG8=").ok());     // misplaced padding
	CHECK_FALSE(fromBase64("a===").ok());
	auto empty = fromBase64("");
	REQUIRE(empty.ok());
	CHECK(empty->empty());
}

TEST_CASE("little-endian access")
{
	Bytes b(16, 0);
	storeLe32(b, 0, 0x11223344);
	storeLe64(b, 4, 0x0102030405060708ull);
	storeLe16(b, 12, 0xbeef);
	CHECK(b[0] == 0x44);
	CHECK(b[3] == 0x11);
	CHECK(loadLe32(b, 0) == 0x11223344u);
	CHECK(loadLe64(b, 4) == 0x0102030405060708ull);
	CHECK(loadLe16(b, 12) == 0xbeef);
}

TEST_CASE("ByteReader checks every length and names the field")
{
	Bytes b = { 1, 2, 3, 4, 5, 6 };
	ByteReader r(b, "quote");
	auto v = r.le32("version");
	REQUIRE(v.ok());
	CHECK(*v == 0x04030201u);
	auto big = r.le32("size");
	REQUIRE_FALSE(big.ok());
	CHECK(big.error().message().find("quote is truncated: size needs 4 bytes at offset 4, 2 left") !=
	      std::string::npos);
	CHECK(r.offset() == 4); // a failed read consumes nothing
	auto rest = r.bytes(2, "tail");
	REQUIRE(rest.ok());
	CHECK(r.atEnd());
	CHECK_FALSE(r.u8("x").ok());
}

TEST_CASE("GUIDs use EFI byte order")
{
	auto g = Guid::parse("1e74f542-71dd-4d66-963e-ef4287ff173b");
	REQUIRE(g.ok());
	CHECK(toHex(g->bytes) == "42f5741edd71664d963eef4287ff173b");
	CHECK(g->toString() == "1e74f542-71dd-4d66-963e-ef4287ff173b");
	CHECK_FALSE(Guid::parse("1e74f542-71dd-4d66-963e-ef4287ff173").ok());
	CHECK_FALSE(Guid::parse("1e74f542x71dd-4d66-963e-ef4287ff173b").ok());
	CHECK_FALSE(Guid::parse("1e74f542-71dd-4d66-963e-ef4287ff17zz").ok());
	CHECK_FALSE(Guid::parse("1e74f542-71dd-4d66-963e-ef4287ff17-b").ok()); // found by fuzzing
}

TEST_CASE("constant-time compare")
{
	Bytes a = { 1, 2, 3 }, b = { 1, 2, 3 }, c = { 1, 2, 4 }, d = { 1, 2 };
	CHECK(constantTimeEqual(a, b));
	CHECK_FALSE(constantTimeEqual(a, c));
	CHECK_FALSE(constantTimeEqual(a, d));
}
