// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "cvm/common/digest.h"

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
