// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <cstring>

#include "cvm/common/secure_buffer.h"

using namespace cvm;

TEST_CASE("secure buffers copy, move and wipe")
{
	Bytes secret = { 's', 'e', 'c', 'r', 'e', 't' };
	SecureBuffer a(secret);
	REQUIRE(a.size() == 6);
	CHECK(std::memcmp(a.data(), "secret", 6) == 0);

	SecureBuffer b = std::move(a);
	CHECK(a.size() == 0);
	CHECK(a.data() == nullptr);
	CHECK(std::memcmp(b.data(), "secret", 6) == 0);

	SecureBuffer c = b.clone();
	CHECK(constantTimeEqual(b, c));

	c.truncate(3);
	CHECK(c.size() == 3);
	CHECK(c.data()[3] == 0); // the tail was wiped

	secureWipe(secret);
	CHECK(secret.empty());
}

TEST_CASE("random secure buffers differ")
{
	auto r1 = SecureBuffer::random(32);
	auto r2 = SecureBuffer::random(32);
	REQUIRE(r1.ok());
	REQUIRE(r2.ok());
	CHECK_FALSE(constantTimeEqual(*r1, *r2));
}

TEST_CASE("two secrets never share a page")
{
	SecureBuffer a(16), b(16);
	auto page = [](const void *p) { return reinterpret_cast<uintptr_t>(p) / 4096; };
	CHECK(page(a.data()) != page(b.data()));
}
