// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "cvm/common/digest.h"
#include "cvm/common/file.h"

using namespace cvm;

// Vectors: FIPS 180-2 appendix examples ("abc") as published by NIST.
TEST_CASE("SHA-2 digests of \"abc\" match the FIPS 180-2 examples")
{
	auto s256 = sha256(asBytes("abc"));
	REQUIRE(s256.ok());
	CHECK(toHex(*s256) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	auto s384 = sha384(asBytes("abc"));
	REQUIRE(s384.ok());
	CHECK(toHex(*s384) == "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
			     "8086072ba1e7cc2358baeca134c825a7");
	auto s512 = sha512(asBytes("abc"));
	REQUIRE(s512.ok());
	CHECK(toHex(*s512) == "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
			     "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
}

TEST_CASE("parts and streaming give the digest of the concatenation")
{
	auto whole = sha384(asBytes("abc"));
	auto parts = digest(DigestAlgorithm::Sha384, { asBytes("a"), asBytes(""), asBytes("bc") });
	REQUIRE(parts.ok());
	CHECK(*parts == *whole);

	auto h = Hasher::create(DigestAlgorithm::Sha384);
	REQUIRE(h.ok());
	REQUIRE(h->update(asBytes("ab")).ok());
	REQUIRE(h->update(asBytes("c")).ok());
	auto streamed = h->finish();
	REQUIRE(streamed.ok());
	CHECK(*streamed == *whole);
	CHECK_FALSE(h->update(asBytes("x")).ok());
	CHECK_FALSE(h->finish().ok());
	CHECK(digestSize(DigestAlgorithm::Sha256) == 32);
	CHECK(digestSize(DigestAlgorithm::Sha512) == 64);
}

// RFC 4231 test cases 1 and 2 (HMAC-SHA-256 and -384).
TEST_CASE("HMAC matches the RFC 4231 vectors")
{
	Bytes key1(20, 0x0b);
	auto m1 = hmac(DigestAlgorithm::Sha256, key1, { asBytes("Hi "), asBytes("There") });
	REQUIRE(m1.ok());
	CHECK(toHex(*m1) == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	auto m2 = hmac(DigestAlgorithm::Sha384, asBytes("Jefe"), { asBytes("what do ya want for nothing?") });
	REQUIRE(m2.ok());
	CHECK(toHex(*m2) == "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
			    "8e2240ca5e69e2c78b3239ecfab21649");
	// An empty key is valid HMAC (RFC 2104 pads it with zeros).
	auto empty = hmac(DigestAlgorithm::Sha256, {}, { asBytes("") });
	REQUIRE(empty.ok());
	CHECK(toHex(*empty) == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST_CASE("a file is hashed in bounded reads to the digest of its bytes")
{
	auto dir = TempDir::create("cvm-digest-");
	REQUIRE(dir.ok());
	// Not a multiple of the 1 MiB read size, so the last read is short.
	Bytes data((5u << 19) + 123);
	for (size_t i = 0; i < data.size(); ++i)
		data[i] = static_cast<uint8_t>(i * 131 + (i >> 13));
	std::string path = dir->file("blob");
	REQUIRE(writeFileAtomic(path, data).ok());

	auto h = Hasher::create(DigestAlgorithm::Sha256);
	REQUIRE(h.ok());
	REQUIRE(h->update(asBytes("prefix")).ok());
	auto n = updateFromFile(*h, path);
	REQUIRE(n.ok());
	CHECK(*n == data.size());
	auto streamed = h->finish();
	auto whole = digest(DigestAlgorithm::Sha256, { asBytes("prefix"), data });
	REQUIRE(streamed.ok());
	CHECK(*streamed == *whole);

	auto d = digestFile(DigestAlgorithm::Sha256, path);
	REQUIRE(d.ok());
	CHECK(*d == *sha256(data));

	auto missing = digestFile(DigestAlgorithm::Sha256, dir->file("absent"));
	REQUIRE_FALSE(missing.ok());
	CHECK(missing.error().code() == ErrorCode::NotFound);
	auto isDir = digestFile(DigestAlgorithm::Sha256, dir->path());
	REQUIRE_FALSE(isDir.ok());
}
