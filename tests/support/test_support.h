// SPDX-License-Identifier: Apache-2.0
//
// Helpers shared by the test programs: fixture paths and running our binaries.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cvm/common/bytes.h"

namespace cvm::test {

// $CVM_FIXTURES/<rel> (../shared/fixtures by default).
std::string fixture(std::string_view rel);
// tests/data/<rel>.
std::string testData(std::string_view rel);
// <build dir>/<rel>, e.g. "plugin/cvm-launch".
std::string buildPath(std::string_view rel);
std::string sourcePath(std::string_view rel);

// Skipping, per test case: skipTestCase() ends the current TEST_CASE (an
// exception our Catch main recognises); the program's other cases still run,
// and it exits 77 (meson: skipped) when something was skipped and nothing
// failed. Call these only from within a TEST_CASE, on the test's thread.
[[noreturn]] void skipTestCase(const std::string &reason);
// Skips the test case when the shared fixtures are absent, unless
// CVM_REQUIRE_FIXTURES is set (not "0"): then their absence is a failure.
// scripts/test sets it, because CI has them.
void requireFixtures();
// Skips the test case when `path` is not executable (a tool not installed here).
void requireExecutable(const std::string &path);

// The libvirt suites need scripts/test-services' libvirtd (with this build's
// hook and, for SEV, cvm-sev-shim as its default emulator). Without it they
// skip (exit 77), unless this run must test under libvirtd — CVM_TEST_SEV_SHIM
// or CI set (scripts/test exports the first when it starts libvirtd): then
// the whole program fails (exit 1), so a libvirtd that hung or was never
// started cannot turn the suite into silent skips.
bool libvirtRequired();
[[noreturn]] void libvirtUnavailable(const std::string &why);

// What skipTestCase() throws (Catch reports it; the main makes it exit 77).
struct Skipped {
	std::string reason;
};
constexpr const char *kSkipPrefix = "SKIP: ";

Bytes readFixture(std::string_view rel);

struct CommandResult {
	int exitStatus = -1; // exit code, or 128+signal
	std::string out;
	std::string err;
};

// Runs argv (no shell) with optional stdin and extra environment ("K=V").
CommandResult run(const std::vector<std::string> &argv, std::string_view input = {},
		  const std::vector<std::string> &env = {}, int timeoutSeconds = 120);

} // namespace cvm::test
