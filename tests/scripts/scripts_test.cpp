// SPDX-License-Identifier: Apache-2.0
//
// What CI's verdict rests on: scripts/test (a failing `meson setup` fails the
// run, a stale testlog.json of an earlier run is never counted),
// scripts/count-tests (sums, skips named, the summary last) and the Catch
// main's skips (per test case; exit 77 only when nothing failed; a missing
// fixture fails under CVM_REQUIRE_FIXTURES).
//
// scripts/test runs on a copy of itself in a temporary tree with stand-ins
// for meson, ninja and scripts/bootstrap first in PATH, so nothing is built
// and no service is touched.
#include <catch2/catch.hpp>

#include <fstream>

#include <glib.h>
#include <sys/stat.h>

#include "cvm/common/file.h"
#include "test_support.h"

using namespace cvm;

namespace {

std::string probe()
{
	return test::buildPath("tests/scripts/test-scripts-skip-probe");
}

std::string lastLine(const std::string &text)
{
	std::string t = text;
	while (!t.empty() && t.back() == '\n')
		t.pop_back();
	size_t nl = t.rfind('\n');
	return nl == std::string::npos ? t : t.substr(nl + 1);
}

void writeFile(const std::string &path, const std::string &text, mode_t mode = 0644)
{
	std::ofstream(path) << text;
	REQUIRE(chmod(path.c_str(), mode) == 0);
}

std::string logLine(const std::string &name, const std::string &result)
{
	return R"({"name": ")" + name + R"(", "result": ")" + result + "\"}\n";
}

} // namespace

TEST_CASE("a missing fixture skips only its test case: the others run, exit 77")
{
	auto r = test::run({ probe() }, {}, { "CVM_FIXTURES=/nonexistent/fixtures", "CVM_REQUIRE_FIXTURES=" });
	INFO(r.out << r.err);
	CHECK(r.exitStatus == 77);
	CHECK_THAT(r.out, Catch::Contains("ran the fixture-free case") && Catch::Contains("ran the last case"));
	CHECK_THAT(r.out, !Catch::Contains("the fixtures are there"));
	CHECK_THAT(r.err, Catch::Contains("SKIP: 1 test case was skipped"));
}

TEST_CASE("CVM_REQUIRE_FIXTURES=1 turns a missing fixture into a failure")
{
	auto r = test::run({ probe() }, {}, { "CVM_FIXTURES=/nonexistent/fixtures", "CVM_REQUIRE_FIXTURES=1" });
	INFO(r.out << r.err);
	CHECK(r.exitStatus == 1);
	CHECK_THAT(r.out, Catch::Contains("CVM_REQUIRE_FIXTURES is set"));
	CHECK_THAT(r.out, Catch::Contains("ran the fixture-free case"));
}

TEST_CASE("a skip never hides a real failure; present fixtures pass")
{
	auto failed = test::run({ probe() }, {},
				{ "CVM_FIXTURES=/nonexistent/fixtures", "CVM_REQUIRE_FIXTURES=", "PROBE_FAIL=1" });
	CHECK(failed.exitStatus == 1);
	CHECK_THAT(failed.out, Catch::Contains("PROBE_FAIL"));
	auto dir = TempDir::create("cvmt-scripts-");
	REQUIRE(dir.ok());
	auto ok = test::run({ probe() }, {}, { "CVM_FIXTURES=" + dir->path(), "CVM_REQUIRE_FIXTURES=1" });
	INFO(ok.out << ok.err);
	CHECK(ok.exitStatus == 0);
	CHECK_THAT(ok.out, Catch::Contains("the fixtures are there"));
}

TEST_CASE("count-tests: sums every build, names the skipped tests, and ends with the summary")
{
	auto dir = TempDir::create("cvmt-scripts-");
	REQUIRE(dir.ok());
	for (const char *b : { "a", "b" })
		REQUIRE(g_mkdir_with_parents(dir->file(std::string(b) + "/meson-logs").c_str(), 0755) == 0);
	writeFile(dir->file("a/meson-logs/testlog.json"),
		  logLine("common/bytes", "OK") + logLine("qmp/cli", "SKIP") + logLine("qmp/wire", "OK"));
	writeFile(dir->file("b/meson-logs/testlog.json"), logLine("unit/x", "EXPECTEDFAIL") + logLine("unit/y", "SKIP"));
	std::string script = test::sourcePath("scripts/count-tests");
	auto r = test::run({ script, dir->file("a"), dir->file("b") });
	INFO(r.out << r.err);
	CHECK(r.exitStatus == 0);
	CHECK(lastLine(r.out) == "tests: 3 passed, 0 failed");
	CHECK_THAT(r.out, Catch::Contains("skipped: 2") && Catch::Contains("qmp/cli") && Catch::Contains("unit/y"));

	writeFile(dir->file("b/meson-logs/testlog.json"), logLine("unit/x", "FAIL") + logLine("unit/z", "TIMEOUT"));
	auto failed = test::run({ script, dir->file("a"), dir->file("b") });
	CHECK(failed.exitStatus == 1);
	CHECK(lastLine(failed.out) == "tests: 2 passed, 2 failed");

	// A build without a log (its setup or build failed) is a failure.
	auto missing = test::run({ script, dir->file("a"), dir->file("none") });
	CHECK(missing.exitStatus == 1);
	CHECK(lastLine(missing.out) == "tests: 2 passed, 1 failed");
}

namespace {

// A tree with a copy of scripts/test and count-tests, and stand-ins: a
// bootstrap that does nothing, a meson whose `setup` succeeds or fails as
// told and whose `test` writes a testlog.json of one passing test, a ninja
// that succeeds.
struct FakeTree {
	TempDir dir;
	std::string bin;

	explicit FakeTree(TempDir d) : dir(std::move(d)), bin(dir.file("bin")) {}

	static FakeTree create()
	{
		auto d = TempDir::create("cvmt-scripts-");
		REQUIRE(d.ok());
		FakeTree t(std::move(*d));
		REQUIRE(g_mkdir_with_parents(t.dir.file("tree/scripts").c_str(), 0755) == 0);
		REQUIRE(g_mkdir_with_parents(t.bin.c_str(), 0755) == 0);
		for (const char *s : { "test", "count-tests" }) {
			auto text = readTextFile(test::sourcePath(std::string("scripts/") + s));
			REQUIRE(text.ok());
			writeFile(t.dir.file(std::string("tree/scripts/") + s), *text, 0755);
		}
		writeFile(t.dir.file("tree/scripts/bootstrap"), "#!/bin/sh\nexit 0\n", 0755);
		writeFile(t.bin + "/ninja", "#!/bin/sh\nexit 0\n", 0755);
		writeFile(t.bin + "/meson",
			  "#!/bin/sh\n"
			  "case \"$1\" in\n"
			  "setup)\n"
			  "  [ -n \"${FAKE_SETUP_FAILS:-}\" ] && { echo 'meson: setup failed' >&2; exit 1; }\n"
			  "  shift; [ \"$1\" = --reconfigure ] && shift\n"
			  "  mkdir -p \"$1/meson-logs\" && touch \"$1/build.ninja\"; exit 0 ;;\n"
			  "test)\n"
			  "  mkdir -p \"$3/meson-logs\"\n"
			  "  echo '{\"name\": \"fake/ok\", \"result\": \"OK\"}' > \"$3/meson-logs/testlog.json\"; exit 0 ;;\n"
			  "esac\n"
			  "exit 2\n",
			  0755);
		return t;
	}

	test::CommandResult runTest(const std::vector<std::string> &env)
	{
		// Whatever the caller's CVM_REQUIRE_FIXTURES, the script's default is checked.
		std::vector<std::string> e = { "PATH=" + bin + ":" + g_getenv("PATH"), "CVM_REQUIRE_FIXTURES=" };
		e.insert(e.end(), env.begin(), env.end());
		return test::run({ dir.file("tree/scripts/test"), "--quick" }, {}, e, 60);
	}
};

} // namespace

TEST_CASE("scripts/test: a failing meson setup fails the run, and an old testlog.json is not counted")
{
	auto t = FakeTree::create();
	// What an earlier, successful run left behind.
	std::string build = t.dir.file("tree/build");
	REQUIRE(g_mkdir_with_parents((build + "/meson-logs").c_str(), 0755) == 0);
	writeFile(build + "/build.ninja", "");
	writeFile(build + "/meson-logs/testlog.json", logLine("stale/ok", "OK"));

	auto r = t.runTest({ "FAKE_SETUP_FAILS=1" });
	INFO(r.out << r.err);
	CHECK(r.exitStatus != 0);
	CHECK_THAT(r.err + r.out, Catch::Contains("meson: setup failed"));
	CHECK(lastLine(r.out) == "tests: 0 passed, 1 failed");
	CHECK_FALSE(g_file_test((build + "/meson-logs/testlog.json").c_str(), G_FILE_TEST_EXISTS));
}

TEST_CASE("scripts/test: a good run counts this run's log, with CVM_REQUIRE_FIXTURES exported")
{
	auto t = FakeTree::create();
	// The stand-in meson test records the variable it was given.
	auto meson = readTextFile(t.bin + "/meson");
	REQUIRE(meson.ok());
	std::string patched = *meson;
	patched.replace(patched.find("test)\n"), 6,
			"test)\n  echo \"CVM_REQUIRE_FIXTURES=${CVM_REQUIRE_FIXTURES:-unset}\" > \"$3/env\"\n");
	writeFile(t.bin + "/meson", patched, 0755);

	auto r = t.runTest({});
	INFO(r.out << r.err);
	CHECK(r.exitStatus == 0);
	CHECK(lastLine(r.out) == "tests: 1 passed, 0 failed");
	auto env = readTextFile(t.dir.file("tree/build/env"));
	REQUIRE(env.ok());
	CHECK(*env == "CVM_REQUIRE_FIXTURES=1\n");
}
