// SPDX-License-Identifier: Apache-2.0
//
// cvm-owner register --firmware …: the digests it registers are the ones the
// firmware will compute. Checked against SHA-256 over the measured bytes
// assembled here (firmware ‖ hashes table), and for SEV-ES against
// `cvm-launch sev measure`.
#include <catch2/catch.hpp>

#include "cvm/attest/protocol.h"
#include "cvm/common/digest.h"
#include "cvm/common/file.h"
#include "cvm/common/json.h"
#include "cvm/sev/kernel_hashes.h"
#include "daemon_process.h"
#include "sev_test_support.h"
#include "test_support.h"

using namespace cvm;
using namespace cvm::attest;

namespace {

const std::string kToken = "digest-owner-token-0123456789";

struct Setup {
	TempDir dir = std::move(TempDir::create("cvm-owner-digest-").value());
	std::unique_ptr<test::DaemonProcess> daemon;

	Setup()
	{
		REQUIRE(writeSecretFile(dir.file("owner.token"), asBytes(kToken)).ok());
		daemon = std::make_unique<test::DaemonProcess>(
			dir.path(), std::vector<std::string>{ "--insecure-listen", "127.0.0.1:0", "--db", dir.file("as.db"),
							      "--key-file", dir.file("as.key"), "--owner-token-file",
							      dir.file("owner.token"), "--amd-roots",
							      test::fixture("amd-sev/roots"), "--no-kds" });
	}

	// Registers `vm` with these digest options; returns the registered digests.
	test::CommandResult registerVm(const std::string &vm, const std::string &policy, std::vector<std::string> args)
	{
		std::vector<std::string> argv = { test::buildPath("server/cvm-owner"), "register", "--vm", vm, "--policy",
						  policy, "--server", daemon->url(), "--token-file",
						  dir.file("owner.token"), "--json" };
		argv.insert(argv.end(), args.begin(), args.end());
		return test::run(argv, {}, {}, 60);
	}
};

std::vector<std::string> digestsOf(const test::CommandResult &r)
{
	INFO(r.err);
	REQUIRE(r.exitStatus == 0);
	auto node = json::parseObject(r.out);
	REQUIRE(node.ok());
	auto info = parseVmInfo(json_node_get_object(node->get()));
	REQUIRE(info.ok());
	std::vector<std::string> out;
	for (const auto &d : info->sev.launchDigests)
		out.push_back(toHex(d));
	return out;
}

std::string sha256Hex(ByteView data)
{
	return toHex(sha256(data).value());
}

Bytes hashOf(ByteView data)
{
	return sha256(data).value();
}

} // namespace

TEST_CASE("register --firmware: SEV digest of the firmware, and of firmware + kernel hashes table")
{
	test::requireFixtures();
	sev::test::requireFile(sev::test::kDebianOvmf);
	Setup s;

	Bytes firmware = readFile(sev::test::kDebianOvmf).value();
	auto plain = digestsOf(s.registerVm("plain", "0x1", { "--firmware", sev::test::kDebianOvmf }));
	CHECK(plain == std::vector<std::string>{ sha256Hex(firmware) });

	// Direct kernel boot: LD = SHA-256(FW || padded hashes table), the
	// entries hashing the cmdline with its NUL, the initrd and the kernel.
	std::string fw = sev::test::writeKernelHashesFirmware(s.dir);
	Bytes kernel = sev::test::randomBytes(300000), initrd = sev::test::randomBytes(70000);
	REQUIRE(writeFileAtomic(s.dir.file("vmlinuz"), kernel, 0644).ok());
	REQUIRE(writeFileAtomic(s.dir.file("initrd"), initrd, 0644).ok());
	std::string cmdline = "console=ttyS0 root=/dev/vda1";
	sev::KernelHashes h;
	Bytes c(cmdline.begin(), cmdline.end());
	c.push_back(0);
	auto copy = [](Bytes d, sev::Digest256 &to) { std::copy(d.begin(), d.end(), to.begin()); };
	copy(hashOf(c), h.cmdline);
	copy(hashOf(initrd), h.initrd);
	copy(hashOf(kernel), h.kernel);
	Bytes measured = readFile(fw).value();
	append(measured, sev::buildSevHashTable(h));
	auto direct = digestsOf(s.registerVm("direct", "0x1",
					     { "--firmware", fw, "--kernel", s.dir.file("vmlinuz"), "--initrd",
					       s.dir.file("initrd"), "--cmdline", cmdline, "--launch-digest",
					       std::string(64, 'a') }));
	CHECK(direct == std::vector<std::string>{ std::string(64, 'a'), sha256Hex(measured) });

	// Debian's OVMF has no hashes-table area: the owner is told, nothing is registered.
	auto refused = s.registerVm("refused", "0x1", { "--firmware", sev::test::kDebianOvmf, "--kernel",
							 s.dir.file("vmlinuz") });
	CHECK(refused.exitStatus != 0);
	CHECK(refused.err.find("hash") != std::string::npos);
	auto orphan = s.registerVm("orphan", "0x1", { "--firmware", fw, "--initrd", s.dir.file("initrd") });
	CHECK(orphan.exitStatus == 2);
	CHECK(orphan.err.find("--kernel") != std::string::npos);
}

TEST_CASE("register --firmware for SEV-ES: vCPU count and CPU signature as cvm-launch sev measure has them")
{
	test::requireFixtures();
	sev::test::requireFile(sev::test::kDebianOvmf);
	test::requireExecutable(test::buildPath("plugin/cvm-launch"));
	Setup s;
	std::vector<std::string> es = { "--firmware", sev::test::kDebianOvmf, "--num-cpus",   "4",
					"--cpu-family", "25", "--cpu-model", "1", "--cpu-stepping", "1" };
	auto measure = test::run({ test::buildPath("plugin/cvm-launch"), "sev", "measure", "--sev-es", "--json",
				   "--firmware", sev::test::kDebianOvmf, "--num-cpus", "4", "--cpu-family", "25",
				   "--cpu-model", "1", "--cpu-stepping", "1" });
	INFO(measure.err);
	REQUIRE(measure.exitStatus == 0);
	auto m = json::parseObject(measure.out);
	REQUIRE(m.ok());
	std::string expected = json_object_get_string_member(json_node_get_object(m->get()), "launch-digest");

	auto reg = s.registerVm("es", "0x5", es);
	CHECK(digestsOf(reg) == std::vector<std::string>{ expected });
	// Each vCPU is measured: another count is another digest.
	es[3] = "2";
	auto two = digestsOf(s.registerVm("es2", "0x5", es));
	CHECK(two != std::vector<std::string>{ expected });
	CHECK(two.size() == 1);

	// SEV-ES needs the vCPU state; SEV has none.
	auto noSku = s.registerVm("es3", "0x5", { "--firmware", sev::test::kDebianOvmf, "--num-cpus", "2" });
	CHECK(noSku.exitStatus == 2);
	CHECK(noSku.err.find("--cpu-family") != std::string::npos);
	auto notEs = s.registerVm("sev", "0x1", es);
	CHECK(notEs.exitStatus == 2);
	CHECK(notEs.err.find("amd-sev-es") != std::string::npos);
}
