// SPDX-License-Identifier: Apache-2.0
//
// The owner's intel-tdx path with the programs themselves: `cvm-launch tdx
// reference` publishes the document, `cvm-owner register --scheme intel-tdx
// --reference` uploads it to a cvm-attestd process, `cvm-owner show` reads it
// back; explicit --mrtd/--mrconfigid..., and the usage errors.
#include <catch2/catch.hpp>

#include "cvm/attest/protocol.h"
#include "cvm/common/file.h"
#include "cvm/common/json.h"
#include "daemon_process.h"
#include "tdx_test_support.h"
#include "test_support.h"

using namespace cvm;
using namespace cvm::attest;

namespace {

const std::string kToken = "tdx-cli-owner-token-0a1b2c3d4e5f";

test::CommandResult run(const std::string &program, std::vector<std::string> args)
{
	args.insert(args.begin(), test::buildPath(program));
	return test::run(args, {}, {}, 60);
}

} // namespace

TEST_CASE("cvm-owner registers an intel-tdx VM from cvm-launch's reference document")
{
	test::requireFixtures();
	auto dir = TempDir::create("cvm-tdx-owner-").value();
	REQUIRE(writeSecretFile(dir.file("owner.token"), asBytes(kToken)).ok());
	REQUIRE(writeSecretFile(dir.file("luks"), asBytes("passphrase")).ok());
	test::DaemonProcess daemon(dir.path(), { "--insecure-listen", "127.0.0.1:0", "--db", dir.file("as.db"),
						 "--key-file", dir.file("as.key"), "--owner-token-file",
						 dir.file("owner.token"), "--amd-roots", test::fixture("amd-sev/roots"),
						 "--no-kds" });
	std::vector<std::string> conn = { "--server", daemon.url(), "--token-file", dir.file("owner.token") };
	auto owner = [&](std::vector<std::string> args) {
		args.insert(args.end(), conn.begin(), conn.end());
		return run("server/cvm-owner", args);
	};

	cvm::test::tdx::ImageSpec spec;
	spec.sections = cvm::test::tdx::qemuSections(0, 0x8000, 0x8000, 0x2000);
	spec.descriptorOffset = 56 * 1024;
	std::string fw = dir.file("tdvf.fd");
	REQUIRE(writeFileAtomic(fw, cvm::test::tdx::buildTdvfImage(spec)).ok());
	std::string ref = dir.file("ref.json");
	auto published = run("plugin/cvm-launch", { "tdx", "reference", "--firmware", fw, "--output", ref, "--json" });
	INFO(published.err);
	REQUIRE(published.exitStatus == 0);
	auto doc = tdx::referenceDocumentFromJson(readTextFile(ref).value()).value();

	std::string configId(96, 'c');
	auto reg = owner({ "register", "--vm", "td-a", "--scheme", "intel-tdx", "--reference", ref, "--mrconfigid",
			   configId, "--secret", "luks-key:" + dir.file("luks"), "--json" });
	INFO(reg.err);
	REQUIRE(reg.exitStatus == 0);
	VmInfo info = parseVmInfo(json_node_get_object(json::parseObject(reg.out).value().get())).value();
	CHECK(info.scheme == Scheme::IntelTdx);
	CHECK(info.tdx.mrtd == doc.values.mrtd);
	CHECK(toHex(*info.tdx.mrConfigId) == configId);
	CHECK(info.secrets.size() == 1);

	auto show = owner({ "show", "--vm", "td-a" });
	REQUIRE(show.exitStatus == 0);
	CHECK_THAT(show.out, Catch::Contains("intel-tdx"));
	CHECK_THAT(show.out, Catch::Contains(toHex(doc.values.mrtd[0])));

	std::string mrtd(96, 'd');
	auto explicitValues = owner({ "register", "--vm", "td-b", "--scheme", "intel-tdx", "--mrtd", mrtd, "--rtmr",
				      "2:" + std::string(96, 'e'), "--td-attributes", "0x10000000" });
	INFO(explicitValues.err);
	REQUIRE(explicitValues.exitStatus == 0);
	CHECK_THAT(explicitValues.out, Catch::Contains("1 MRTD(s)"));
	CHECK_THAT(owner({ "show", "--vm", "td-b" }).out, Catch::Contains(std::string(96, 'e')));

	// Usage errors: no MRTD, SEV options with intel-tdx, TDX options without it, bad values.
	CHECK(owner({ "register", "--vm", "x", "--scheme", "intel-tdx" }).exitStatus == 2);
	CHECK(owner({ "register", "--vm", "x", "--scheme", "intel-tdx", "--mrtd", mrtd, "--policy", "1" }).exitStatus ==
	      2);
	CHECK(owner({ "register", "--vm", "x", "--policy", "1", "--launch-digest", std::string(64, 'a'), "--mrtd", mrtd })
		      .exitStatus == 2);
	CHECK(owner({ "register", "--vm", "x", "--scheme", "intel-tdx", "--mrtd", "abcd" }).exitStatus == 2);
	CHECK(owner({ "register", "--vm", "x", "--scheme", "intel-tdx", "--mrtd", mrtd, "--rtmr", "4:00" }).exitStatus ==
	      2);
	CHECK(owner({ "register", "--vm", "x", "--scheme", "intel-tdx", "--reference", fw }).exitStatus == 2);
}
