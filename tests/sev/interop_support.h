// SPDX-License-Identifier: Apache-2.0
//
// Shared by the interop tests: running our CLI, and batching requests for
// vqsv_driver.py (one Python process runs virt-qemu-sev-validate and the
// independent checks for a whole test case).
#pragma once

#include <string>
#include <vector>

#include "cvm/common/file.h"
#include "cvm/common/json.h"
#include "test_support.h"

namespace cvm::sev::test {

inline constexpr const char *kTool = "/usr/bin/virt-qemu-sev-validate";
inline constexpr const char *kPython = "/usr/bin/python3";

// Exits 77 when python3 or the tool is not installed.
void requireTool();

// `cvm-launch sev ARGS...`
cvm::test::CommandResult ours(std::vector<std::string> args);

JsonNodePtr stringArray(const std::vector<std::string> &v);
JsonNodePtr arrayOf(std::vector<json::ObjectBuilder> &items);
// A "runs" request: the tool's main() with this argv.
json::ObjectBuilder run(const std::string &id, const std::vector<std::string> &argv);

struct Driver {
	std::vector<json::ObjectBuilder> runs, digests, packets, sessions;

	// Runs the driver on every request; the results object lives in `holder`.
	JsonObject *execute(const TempDir &dir, JsonNodePtr &holder);
};

std::string resultString(JsonObject *results, const std::string &id);
// The exit code of a "runs" request, -1 when missing.
int resultRc(JsonObject *results, const std::string &id);

} // namespace cvm::sev::test
