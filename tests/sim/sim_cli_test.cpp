// SPDX-License-Identifier: Apache-2.0
//
// `cvm-sev-sim init` as a command, and its exports against our own verifier
// `cvm-launch sev verify-chain`: the state directory's certs/ (ark ask cek
// oca pek pdh .cert, the --cert-dir layout) verify with its roots/ as test
// roots and fail against AMD's real roots; the --unsigned-cek export needs
// the stand-in KDS copy in kds/.
#include <catch2/catch.hpp>

#include "cvm/common/bytes.h"
#include "cvm/common/file.h"
#include "sim_process.h"
#include "test_support.h"

using namespace cvm;
using cvm::test::run;

namespace {

std::string launchExe()
{
	return cvm::test::buildPath("plugin/cvm-launch");
}

std::string chipIdOf(const std::string &out)
{
	size_t at = out.find("chip id: ");
	REQUIRE(at != std::string::npos);
	return out.substr(at + 9, 128);
}

} // namespace

TEST_CASE("init, then verify-chain with the exported test roots")
{
	auto dir = TempDir::create("cvm-sim-cli-").value();
	std::string state = dir.file("state");
	auto init = run({ sim::test::simExecutable(), "init", "--state-dir", state });
	REQUIRE(init.exitStatus == 0);
	CHECK(init.out.find("test roots: " + state + "/roots/cvm-sim/") != std::string::npos);

	auto ok = run({ launchExe(), "sev", "verify-chain", "--cert-dir", state + "/certs", "--test-roots",
			state + "/roots" });
	INFO(ok.out << ok.err);
	CHECK(ok.exitStatus == 0);
	CHECK(ok.out.find("cvm-sim") != std::string::npos);

	cvm::test::requireFixtures();
	// The chain without the sim's ARK/ASK, against AMD's real roots: refused.
	auto certs = dir.file("noroots");
	REQUIRE(makeDirectories(certs, 0700).ok());
	for (const char *n : { "cek", "oca", "pek", "pdh" })
		REQUIRE(writeFileAtomic(certs + "/" + n + ".cert", readFile(state + "/certs/" + n + ".cert").value()).ok());
	auto amd = run({ launchExe(), "sev", "verify-chain", "--cert-dir", certs, "--roots",
			 cvm::test::fixture("amd-sev/roots") });
	INFO(amd.out << amd.err);
	CHECK(amd.exitStatus == 1);

	auto again = run({ sim::test::simExecutable(), "init", "--state-dir", state });
	CHECK(again.exitStatus == 1);
	CHECK(again.err.find("already holds a simulated platform") != std::string::npos);
	CHECK(run({ sim::test::simExecutable(), "init" }).exitStatus == 2);
	CHECK(run({ sim::test::simExecutable(), "init", "--state-dir", dir.file("x"), "--api-major", "300" })
		      .exitStatus == 2);
}

TEST_CASE("init --unsigned-cek: verify-chain needs the KDS copy")
{
	auto dir = TempDir::create("cvm-sim-cli-").value();
	std::string state = dir.file("state");
	auto init = run({ sim::test::simExecutable(), "init", "--unsigned-cek", "--state-dir", state });
	REQUIRE(init.exitStatus == 0);
	std::string chip = chipIdOf(init.out);
	CHECK(fileExists(state + "/kds/" + chip + ".cert"));
	std::string chipB64 = toBase64(fromHex(chip).value());
	std::vector<std::string> base{ launchExe(), "sev", "verify-chain", "--cert-dir", state + "/certs",
				       "--test-roots", state + "/roots", "--cpu-id", chipB64 };
	auto bare = run(base);
	CHECK(bare.exitStatus == 1);
	CHECK(bare.err.find("unsigned") != std::string::npos);
	base.push_back("--cek-cache");
	base.push_back(state + "/kds");
	auto cached = run(base);
	INFO(cached.out << cached.err);
	CHECK(cached.exitStatus == 0);
}
