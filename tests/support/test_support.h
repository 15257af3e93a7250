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

// Exits with 77 (meson: skipped) and a reason when the shared fixtures are absent.
void requireFixtures();
// Exits with 77 when `path` is not executable (a tool not installed here).
void requireExecutable(const std::string &path);

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
