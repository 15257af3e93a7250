// SPDX-License-Identifier: Apache-2.0
//
// Not a test on its own: a test program for scripts_test.cpp, which runs it
// with different environments to check how the Catch main reports skips.
// PROBE_FAIL=1 makes one case fail for real.
#include <catch2/catch.hpp>

#include <cstdio>

#include <glib.h>

#include "test_support.h"

TEST_CASE("a case without fixtures")
{
	printf("probe: ran the fixture-free case\n");
	CHECK(1 + 1 == 2);
}

TEST_CASE("a case that needs the fixtures")
{
	cvm::test::requireFixtures();
	printf("probe: the fixtures are there\n");
}

TEST_CASE("a case that may fail")
{
	CHECK(g_strcmp0(g_getenv("PROBE_FAIL"), "1") != 0);
	printf("probe: ran the last case\n");
}
