// SPDX-License-Identifier: Apache-2.0
//
// plain-start="attest" through the real system libvirtd whose default
// emulator is cvm-sev-shim (CVM_TEST_SEV_SHIM=1 scripts/test-services): the
// hook refuses a plain `virsh start` and hands the start over to a detached
// `cvm-launch start`, which brings the domain up attested (the secret in the
// guest, the record running) and writes its output to
// <state-dir>/<uuid>.start.log. The [autostart] case restarts the libvirtd of
// scripts/test-services as after a host boot (libvirt autostarts once per
// boot) so that libvirt's autostart is what gets handed over.
// Domains: cvmt-plugin-ho-*.
#include <catch2/catch.hpp>

#include <cstdio>
#include <functional>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "cvm/common/file.h"
#include "cvm/common/json.h"
#include "cvm/sev/secret.h"
#include "daemon_process.h"
#include "launch_rig.h"
#include "test_support.h"

using namespace cvm;
using namespace cvm::test;

namespace {

const char *kUri = "qemu:///system";
const char *kStateDir = "/run/cvm-launch";   // the hook's (default configuration)
const char *kServices = "/run/cvm-test-services";

CommandResult virsh(std::vector<std::string> args)
{
	args.insert(args.begin(), { "virsh", "-q", "-c", kUri });
	return run(args, {}, {}, 120);
}

std::string firstLine(const std::string &s)
{
	return s.substr(0, s.find('\n'));
}

std::string between(const std::string &s, const std::string &open, const std::string &close)
{
	size_t a = s.find(open);
	if (a == std::string::npos)
		return {};
	a += open.size();
	return s.substr(a, s.find(close, a) - a);
}

[[noreturn]] void skip(const std::string &why)
{
	test::libvirtUnavailable(why);
}

// The shim's platform state dir; exits 77 saying what is missing.
std::string shimPlatform()
{
	if (virsh({ "version" }).exitStatus != 0)
		skip("no libvirtd (scripts/test-services start)");
	auto build = readTextFile(std::string(kServices) + "/hook-build");
	const char *root = getenv("CVM_BUILD_ROOT");
	if (!build || !root || firstLine(*build) != root)
		skip("the hook wrapper does not run this build's hook");
	std::string emulator = between(virsh({ "domcapabilities" }).out, "<path>", "</path>");
	auto config = run({ emulator, "--cvm-sev-shim-config" });
	std::string dir = between(config.out, "state-dir=", "\n");
	if (config.exitStatus != 0 || dir.empty())
		skip("libvirtd's default emulator " + emulator +
		     " is not cvm-sev-shim (CVM_TEST_SEV_SHIM=1 scripts/test-services start BUILDDIR)");
	return dir;
}

bool waitFor(const std::function<bool()> &condition, int seconds)
{
	for (int i = 0; i < seconds * 10; ++i) {
		if (condition())
			return true;
		usleep(100000);
	}
	return condition();
}

// A registered VM and a persistent domain with plain-start="attest".
struct HandOverRig {
	std::string platform = shimPlatform();
	TempDir dir = std::move(TempDir::create("cvmt-plugin-ho-").value());
	std::unique_ptr<DaemonProcess> as;
	Bytes luksKey = Bytes(32);
	std::string name = "cvmt-plugin-ho-" + std::to_string(getpid());
	std::string vm = "ho-" + std::to_string(getpid());

	HandOverRig()
	{
		REQUIRE(RAND_bytes(luksKey.data(), 32) == 1);
		REQUIRE(writeSecretFile(dir.file("luks.key"), luksKey).ok());
		REQUIRE(writeSecretFile(dir.file("owner.token"), asBytes("owner-token-" + vm)).ok());
		REQUIRE(chmod(dir.path().c_str(), 0711) == 0);   // the nvram lives here
		as = std::make_unique<DaemonProcess>(
			dir.path(), std::vector<std::string>{ "--insecure-listen", "127.0.0.1:0", "--owner-token-file",
							      dir.file("owner.token"), "--db", dir.file("as.db"),
							      "--key-file", dir.file("as.key"), "--test-roots",
							      platform + "/roots", "--no-kds" });
		auto reg = owner({ "register", "--vm", vm, "--policy", "0x1", "--firmware", "/usr/share/OVMF/OVMF_CODE.fd",
				   "--secret", "luks-key:" + dir.file("luks.key"), "--max-launches", "2" });
		INFO(reg.err);
		REQUIRE(reg.exitStatus == 0);
		std::string emulator = between(virsh({ "domcapabilities" }).out, "<path>", "</path>");
		std::string xml = "<domain type='qemu'>\n  <name>" + name +
				  "</name>\n  <memory unit='MiB'>256</memory>\n  <vcpu>1</vcpu>\n  <metadata>\n"
				  "    <cvm:launch xmlns:cvm=\"https://cvm-launch.org/xmlns/1\" server=\"" + as->url() +
				  "\" vm=\"" + vm + "\" secret-address=\"" + std::to_string(kSecretGpa) +
				  "\" plain-start=\"attest\"/>\n  </metadata>\n  <os>\n"
				  "    <type arch='x86_64' machine='q35'>hvm</type>\n"
				  "    <loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.fd</loader>\n"
				  "    <nvram template='/usr/share/OVMF/OVMF_VARS.fd'>" + dir.file("vars.fd") +
				  "</nvram>\n  </os>\n  <features><acpi/></features>\n  <devices><emulator>" + emulator +
				  "</emulator></devices>\n</domain>\n";
		REQUIRE(writeFileAtomic(dir.file("domain.xml"), asBytes(xml)).ok());
		auto d = virsh({ "define", dir.file("domain.xml") });
		INFO(d.err);
		REQUIRE(d.exitStatus == 0);
	}
	~HandOverRig()
	{
		virsh({ "autostart", "--disable", name });
		virsh({ "destroy", name });
		// A hand-over still in flight: give it its bounded time, then clean up again.
		waitFor([&] { return !fileExists(recordPath()); }, 10);
		virsh({ "destroy", name });
		::unlink(logPath().c_str());
		virsh({ "undefine", name, "--nvram" });
	}
	CommandResult owner(std::vector<std::string> args)
	{
		args.insert(args.begin(), buildPath("server/cvm-owner"));
		args.insert(args.end(), { "--server", as->url(), "--token-file", dir.file("owner.token") });
		return run(args);
	}
	std::string state() { return firstLine(virsh({ "domstate", name }).out); }
	std::string uuid() { return firstLine(virsh({ "domuuid", name }).out); }
	std::string recordPath() { return std::string(kStateDir) + "/" + uuid() + ".json"; }
	std::string logPath() { return std::string(kStateDir) + "/" + uuid() + ".start.log"; }
	std::string recordState()
	{
		auto text = readTextFile(recordPath());
		if (!text)
			return {};
		auto node = json::parseObject(*text);
		if (!node)
			return {};
		return json::getString(json_node_get_object(node->get()), "state").valueOr("");
	}

	// Running, resumed by the hand-over (record running, its log says OK).
	bool cameUp(int seconds)
	{
		return waitFor([&] {
			return state() == "running" && recordState() == "running" &&
			       readTextFile(logPath()).valueOr("").find("attested launch OK") != std::string::npos;
		}, seconds);
	}

	// The guest's secret area holds exactly the registered key.
	void checkSecretDelivered()
	{
		auto secret = virsh({ "qemu-monitor-command", name,
				      "{\"execute\":\"x-cvm-sim-guest-secret\",\"arguments\":{\"gpa\":" +
					      std::to_string(kSecretGpa) + "}}" });
		INFO(secret.err);
		REQUIRE(secret.exitStatus == 0);
		auto reply = json::parseObject(secret.out);
		REQUIRE(reply.ok());
		auto ret = json::getObject(json_node_get_object(reply->get()), "return");
		REQUIRE(ret.ok());
		auto table = json::getBase64(*ret, "data");
		REQUIRE(table.ok());
		auto entries = sev::parseSecretTable(*table);
		REQUIRE(entries.ok());
		REQUIRE(entries->size() == 1);
		CHECK((*entries)[0].guid == sev::secret_guid::luksKey());
		CHECK(Bytes((*entries)[0].value.view().begin(), (*entries)[0].value.view().end()) == luksKey);
	}

	// The hand-over's log: 0600, every step, the verdict, no secret.
	void checkLog()
	{
		struct stat st {};
		REQUIRE(::stat(logPath().c_str(), &st) == 0);
		CHECK((st.st_mode & 0777) == 0600);
		auto log = readTextFile(logPath());
		REQUIRE(log.ok());
		INFO(*log);
		CHECK(log->find("plain start of '" + name + "' refused") != std::string::npos);
		for (const char *step : { "certificates", "as-launch", "start", "measure", "validate", "inject", "resume" })
			CHECK(log->find(std::string("cvm-launch: step ") + step + " ok") != std::string::npos);
		CHECK(log->find("attested launch OK") != std::string::npos);
		CHECK_FALSE(containsSecret(*log, luksKey));
	}
};

} // namespace

TEST_CASE("plain-start=attest: a refused virsh start is handed over to a detached cvm-launch start", "[handover]")
{
	HandOverRig rig;
	::unlink(rig.logPath().c_str());
	auto r = virsh({ "start", rig.name });
	INFO(r.err);
	CHECK(r.exitStatus != 0);
	CHECK(r.err.find("is guarded by cvm-launch") != std::string::npos);
	CHECK(r.err.find("now runs in the background") != std::string::npos);
	CHECK(r.err.find(rig.logPath()) != std::string::npos);

	// The hand-over waits for libvirt's refused job, then launches: bounded.
	bool up = rig.cameUp(90);
	INFO(readTextFile(rig.logPath()).valueOr("(no log)"));
	REQUIRE(up);
	rig.checkSecretDelivered();
	rig.checkLog();
	auto rec = readTextFile(rig.recordPath());
	REQUIRE(rec.ok());
	CHECK(rec->find("\"domain\" : \"" + rig.name + "\"") != std::string::npos);
	CHECK(rec->find("\"vm\" : \"" + rig.vm + "\"") != std::string::npos);
	CHECK_FALSE(containsSecret(*rec, rig.luksKey));
	CHECK(rig.owner({ "audit", "--vm", rig.vm }).out.find("secret released") != std::string::npos);

	// A second plain start of the running domain is libvirt's to refuse: no new hand-over.
	CHECK(virsh({ "start", rig.name }).exitStatus != 0);
	CHECK(rig.state() == "running");
	REQUIRE(virsh({ "destroy", rig.name }).exitStatus == 0);
	CHECK(waitFor([&] { return !fileExists(rig.recordPath()); }, 10));
}

TEST_CASE("plain-start=attest: libvirtd's autostart is handed over too", "[autostart]")
{
	auto pidFile = readTextFile(std::string(kServices) + "/libvirtd.pid");
	if (!pidFile || run({ sourcePath("scripts/test-services"), "status" }).exitStatus != 0)
		skip("the running libvirtd was not started by scripts/test-services: it cannot be restarted here");
	HandOverRig rig;
	::unlink(rig.logPath().c_str());
	REQUIRE(virsh({ "autostart", rig.name }).exitStatus == 0);
	// libvirt autostarts once per host boot: --boot restarts it as after one.
	auto restart = run({ sourcePath("scripts/test-services"), "restart", "--boot" }, {}, {}, 60);
	INFO(restart.err);
	REQUIRE(restart.exitStatus == 0);
	bool up = rig.cameUp(120);
	INFO(readTextFile(rig.logPath()).valueOr("(no log)"));
	REQUIRE(up);
	rig.checkSecretDelivered();
	rig.checkLog();
	REQUIRE(virsh({ "autostart", "--disable", rig.name }).exitStatus == 0);
	REQUIRE(virsh({ "destroy", rig.name }).exitStatus == 0);
	CHECK(waitFor([&] { return !fileExists(rig.recordPath()); }, 10));
}
