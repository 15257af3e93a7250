// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <gio/gio.h>

#include "cvm/common/error.h"

using namespace cvm;

static Result<int> half(int v)
{
	if (v % 2)
		return Error(ErrorCode::InvalidArgument, "odd");
	return v / 2;
}

static Result<int> quarter(int v)
{
	int h = CVM_TRY(half(v));
	return CVM_TRY(half(h));
}

TEST_CASE("CVM_TRY propagates the first error")
{
	CHECK(*quarter(8) == 2);
	auto r = quarter(6);
	REQUIRE_FALSE(r.ok());
	CHECK(r.error().message() == "odd");
	CHECK(r.error().withContext("quarter").message() == "quarter: odd");
}

TEST_CASE("GErrors map to our codes")
{
	GError *e = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "slow");
	Error err = Error::fromGError(e, "connect");
	g_error_free(e);
	CHECK(err.code() == ErrorCode::Timeout);
	CHECK(err.message() == "connect: slow");
}
