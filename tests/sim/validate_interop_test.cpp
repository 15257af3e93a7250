// SPDX-License-Identifier: Apache-2.0
//
// Interop with libvirt's virt-qemu-sev-validate (an independent Python
// implementation of the guest owner's side): given the TIK/TEK and the
// firmware, it accepts the measurement the simulator reports for SEV, SEV
// with kernel hashes and SEV-ES, and the secret packet it builds is accepted
// and decrypted by the simulator into the guest's secret area.
#include <catch2/catch.hpp>

#include "cvm/common/json.h"
#include "cvm/qmp/wire.h"
#include "cvm/sev/secret.h"
#include "cvm/sev/session.h"
#include "sev_test_support.h"
#include "sim_process.h"
#include "sim_test_support.h"
#include "test_support.h"

using namespace cvm;
using namespace cvm::sim;
using cvm::sim::test::SimProcess;
namespace st = cvm::sev::test;

namespace {

constexpr const char *kTool = "/usr/bin/virt-qemu-sev-validate";
constexpr const char *kPython = "/usr/bin/python3";
constexpr uint64_t kSecretGpa = 0x810000;

struct Case {
	uint32_t policy = 0x1;
	std::string firmware = st::kDebianOvmf;
	std::vector<std::string> simArgs;  // extra QEMU arguments
	std::vector<std::string> toolArgs; // extra validator arguments
	std::vector<std::string> faults;
};

std::string str(JsonNode *n, const char *m)
{
	return json::getString(json_node_get_object(n), m).value();
}

std::string num(JsonNode *n, const char *m)
{
	return std::to_string(json::getInt(json_node_get_object(n), m).value());
}

// Runs the case; returns the validator's exit status (0 = accepted) after
// checking, when accepted, that its secret reached the guest.
int runCase(const Case &k)
{
	auto dir = TempDir::create("cvm-sim-vqsv-").value();
	auto owner = sev::startSessionWithPdhCert(sim::test::sharedPlatform().pdhCert(), k.policy).value();
	auto files = sim::test::writeSessionFiles(dir, owner);
	char obj[1024];
	snprintf(obj, sizeof(obj),
		 "sev-guest,id=sev0,policy=0x%x,cbitpos=51,reduced-phys-bits=1,dh-cert-file=%s,session-file=%s%s",
		 k.policy, files.godh.c_str(), files.session.c_str(),
		 k.toolArgs.empty() || k.toolArgs[0] != "--kernel" ? "" : ",kernel-hashes=on");
	std::vector<std::string> args{ "-S", "-machine", "q35,confidential-guest-support=sev0", "-object", obj,
				       "-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + k.firmware };
	args.insert(args.end(), k.simArgs.begin(), k.simArgs.end());
	for (const auto &f : k.faults)
		args.push_back("--fault=" + f);
	SimProcess sim(dir, args);
	auto qmp = sim.connect();
	REQUIRE(qmp.ok());
	qmp::SyncClient &c = **qmp;
	auto info = c.execute("query-sev").value();
	std::string measurement = str(c.execute("query-sev-launch-measure")->get(), "data");

	REQUIRE(writeSecretFile(dir.file("tik.bin"), owner.keys.tik).ok());
	REQUIRE(writeSecretFile(dir.file("tek.bin"), owner.keys.tek).ok());
	ByteView pv = asBytes("my disk passphrase\n");
	Bytes passphrase(pv.begin(), pv.end());
	REQUIRE(writeSecretFile(dir.file("luks.txt"), passphrase).ok());
	std::vector<std::string> tool{ kPython, kTool, "--quiet", "--measurement", measurement,
				       "--api-major", num(info.get(), "api-major"), "--api-minor",
				       num(info.get(), "api-minor"), "--build-id", num(info.get(), "build-id"),
				       "--policy", num(info.get(), "policy"), "--firmware", k.firmware,
				       "--tik", dir.file("tik.bin"), "--tek", dir.file("tek.bin"),
				       "--inject-secret", "luks-key:" + dir.file("luks.txt"),
				       "--secret-header", dir.file("hdr.b64"), "--secret-payload", dir.file("payload.b64") };
	tool.insert(tool.end(), k.toolArgs.begin(), k.toolArgs.end());
	auto r = cvm::test::run(tool);
	INFO("validator: " << r.out << r.err);
	if (r.exitStatus != 0)
		return r.exitStatus;

	json::ObjectBuilder b;
	b.setString("packet-header", readTextFile(dir.file("hdr.b64")).value());
	b.setString("secret", readTextFile(dir.file("payload.b64")).value());
	b.setInt("gpa", kSecretGpa);
	REQUIRE(c.execute("sev-inject-launch-secret", b.object()).ok());
	json::ObjectBuilder at;
	at.setInt("gpa", kSecretGpa);
	Bytes table = fromBase64(str(c.execute("x-cvm-sim-guest-secret", at.object())->get(), "data")).value();
	auto entries = sev::parseSecretTable(table);
	REQUIRE(entries.ok());
	REQUIRE(entries->size() == 1);
	CHECK((*entries)[0].guid == sev::secret_guid::luksKey());
	ByteView v = (*entries)[0].value.view();
	CHECK(Bytes(v.begin(), v.end()) == passphrase);
	REQUIRE(c.execute("cont").ok());
	return 0;
}

void requireTool()
{
	cvm::test::requireExecutable(kPython);
	st::requireFile(kTool);
	st::requireFile(st::kDebianOvmf);
}

} // namespace

TEST_CASE("SEV: the validator accepts the sim's measurement; the sim opens its secret")
{
	requireTool();
	CHECK(runCase({}) == 0);
}

TEST_CASE("SEV with kernel hashes")
{
	requireTool();
	auto dir = TempDir::create("cvm-sim-vqsv-k-").value();
	std::string fw = st::writeKernelHashesFirmware(dir);
	std::string kernel = dir.file("vmlinuz"), initrd = dir.file("initrd.img");
	REQUIRE(writeFileAtomic(kernel, st::randomBytes(300000)).ok());
	REQUIRE(writeFileAtomic(initrd, st::randomBytes(70000)).ok());
	Case k;
	k.firmware = fw;
	k.simArgs = { "-kernel", kernel, "-initrd", initrd, "-append", "root=/dev/vda1 console=ttyS0" };
	k.toolArgs = { "--kernel", kernel, "--initrd", initrd, "--cmdline", "root=/dev/vda1 console=ttyS0" };
	CHECK(runCase(k) == 0);
}

TEST_CASE("SEV-ES with 4 vCPUs of an EPYC-Milan model")
{
	requireTool();
	Case k;
	k.policy = 0x5;
	k.simArgs = { "-smp", "4", "-cpu", "EPYC-Milan" };
	k.toolArgs = { "--num-cpus", "4", "--cpu-family", "25", "--cpu-model", "1", "--cpu-stepping", "1" };
	CHECK(runCase(k) == 0);
}

TEST_CASE("the validator refuses a launch measured with the wrong-measurement knob")
{
	requireTool();
	Case k;
	k.faults = { "wrong-measurement" };
	CHECK(runCase(k) != 0);
}
