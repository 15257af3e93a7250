// SPDX-License-Identifier: Apache-2.0
//
// `cvm-launch start` through the real system libvirtd, whose default emulator
// is cvm-sev-shim (scripts/test-services with CVM_TEST_SEV_SHIM=1): real
// QEMU/TCG behind the shim's simulated SEV platform, this build's hook, the
// real cvm-attestd and cvm-owner. The whole SEV flow, the secret in the
// guest, the hook's end report, a refused measurement, and a cvm-launch
// killed between the start and the resume. Domains: cvmt-plugin-*.
#include <catch2/catch.hpp>

#include <csignal>
#include <cstdio>
#include <functional>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "cvm/common/file.h"
#include "cvm/common/json.h"
#include "cvm/plugin/launch_records.h"
#include "cvm/sev/secret.h"
#include "daemon_process.h"
#include "launch_rig.h"
#include "test_support.h"

using namespace cvm;
using namespace cvm::test;

namespace {

const char *kUri = "qemu:///system";
const char *kStateDir = "/run/cvm-launch";   // the hook's (default configuration)

CommandResult virsh(std::vector<std::string> args)
{
	args.insert(args.begin(), { "virsh", "-q", "-c", kUri });
	return run(args, {}, {}, 120);
}

std::string between(const std::string &s, const std::string &open, const std::string &close)
{
	size_t a = s.find(open);
	if (a == std::string::npos)
		return {};
	a += open.size();
	return s.substr(a, s.find(close, a) - a);
}

// The shim's platform state dir, or exit 77 saying what is missing.
std::string shimPlatform()
{
	if (virsh({ "version" }).exitStatus != 0) {
		fprintf(stderr, "SKIP: no libvirtd (scripts/test-services start)\n");
		exit(77);
	}
	auto build = readTextFile("/run/cvm-test-services/hook-build");
	const char *root = getenv("CVM_BUILD_ROOT");
	if (!build || !root || build->substr(0, build->find('\n')) != root) {
		fprintf(stderr, "SKIP: the hook wrapper does not run this build's hook\n");
		exit(77);
	}
	std::string emulator = between(virsh({ "domcapabilities" }).out, "<path>", "</path>");
	auto config = run({ emulator, "--cvm-sev-shim-config" });
	std::string dir = between(config.out, "state-dir=", "\n");
	if (config.exitStatus != 0 || dir.empty()) {
		fprintf(stderr, "SKIP: libvirtd's default emulator %s is not cvm-sev-shim "
				"(CVM_TEST_SEV_SHIM=1 scripts/test-services start BUILDDIR)\n", emulator.c_str());
		exit(77);
	}
	return dir;
}

struct Rig {
	std::string platform = shimPlatform();
	TempDir dir = std::move(TempDir::create("cvmt-plugin-lv-").value());
	std::unique_ptr<DaemonProcess> as;
	Bytes luksKey = Bytes(32);
	std::string name = "cvmt-plugin-lv-" + std::to_string(getpid());
	std::string vm = "lv-" + std::to_string(getpid());

	Rig()
	{
		REQUIRE(RAND_bytes(luksKey.data(), 32) == 1);
		REQUIRE(writeSecretFile(dir.file("luks.key"), luksKey).ok());
		REQUIRE(writeSecretFile(dir.file("owner.token"), asBytes("owner-token-" + vm)).ok());
		as = std::make_unique<DaemonProcess>(
			dir.path(), std::vector<std::string>{ "--insecure-listen", "127.0.0.1:0", "--owner-token-file",
							      dir.file("owner.token"), "--db", dir.file("as.db"),
							      "--key-file", dir.file("as.key"), "--test-roots",
							      platform + "/roots", "--no-kds" });
		std::string emulator = between(virsh({ "domcapabilities" }).out, "<path>", "</path>");
		std::string xml = "<domain type='qemu'>\n  <name>" + name +
				  "</name>\n  <memory unit='MiB'>256</memory>\n  <vcpu>1</vcpu>\n  <metadata>\n"
				  "    <cvm:launch xmlns:cvm=\"https://cvm-launch.org/xmlns/1\" server=\"" + as->url() +
				  "\" vm=\"" + vm + "\" secret-address=\"" + std::to_string(kSecretGpa) +
				  "\"/>\n  </metadata>\n  <os>\n    <type arch='x86_64' machine='q35'>hvm</type>\n"
				  "    <loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.fd</loader>\n"
				  "    <nvram template='/usr/share/OVMF/OVMF_VARS.fd'>" + dir.file("vars.fd") +
				  "</nvram>\n  </os>\n  <features><acpi/></features>\n  <devices><emulator>" + emulator +
				  "</emulator></devices>\n</domain>\n";
		REQUIRE(writeFileAtomic(dir.file("domain.xml"), asBytes(xml)).ok());
		auto d = virsh({ "define", dir.file("domain.xml") });
		INFO(d.err);
		REQUIRE(d.exitStatus == 0);
	}
	~Rig()
	{
		virsh({ "destroy", name });
		virsh({ "undefine", name, "--nvram" });
	}
	CommandResult owner(std::vector<std::string> args)
	{
		args.insert(args.begin(), buildPath("server/cvm-owner"));
		args.insert(args.end(), { "--server", as->url(), "--token-file", dir.file("owner.token") });
		return run(args);
	}
	void registerVm(const std::vector<std::string> &reference = { "--firmware", "/usr/share/OVMF/OVMF_CODE.fd" })
	{
		std::vector<std::string> args = { "register", "--vm", vm, "--policy", "0x1", "--secret",
						  "luks-key:" + dir.file("luks.key") };
		args.insert(args.end(), reference.begin(), reference.end());
		auto r = owner(args);
		INFO(r.err);
		REQUIRE(r.exitStatus == 0);
	}
	CommandResult start(const std::vector<std::string> &extra = {})
	{
		std::vector<std::string> argv = { buildPath("plugin/cvm-launch"), "start", "-c", kUri, name };
		argv.insert(argv.end(), extra.begin(), extra.end());
		return run(argv, {}, { "CVM_LAUNCH_CONFIG=/dev/null" }, 180);
	}
	std::string state() { return virsh({ "domstate", name }).out.substr(0, virsh({ "domstate", name }).out.find('\n')); }
	std::string uuid() { auto o = virsh({ "domuuid", name }).out; return o.substr(0, o.find('\n')); }
	std::string recordPath() { return std::string(kStateDir) + "/" + uuid() + ".json"; }
	std::string audit() { return owner({ "audit", "--vm", vm }).out; }
};

bool waitFor(const std::function<bool()> &condition, int seconds)
{
	for (int i = 0; i < seconds * 20; ++i) {
		if (condition())
			return true;
		usleep(50000);
	}
	return condition();
}

} // namespace

TEST_CASE("attested start through libvirt: every step, the secret in the guest, the end reported by the hook")
{
	Rig rig;
	rig.registerVm();
	std::string before = virsh({ "dumpxml", "--inactive", rig.name }).out;
	auto r = rig.start({ "--json" });
	INFO(r.out << r.err);
	REQUIRE(r.exitStatus == 0);
	for (const char *step : { "certificates", "as-launch", "start", "measure", "validate", "inject", "resume" })
		CHECK(r.out.find(std::string("\"step\" : \"") + step + "\"") != std::string::npos);
	CHECK(rig.state() == "running");
	// The persistent definition is untouched (no launchSecurity, no session).
	CHECK(virsh({ "dumpxml", "--inactive", rig.name }).out == before);
	auto rec = readTextFile(rig.recordPath());
	REQUIRE(rec.ok());
	CHECK(rec->find("\"running\"") != std::string::npos);

	auto secret = virsh({ "qemu-monitor-command", rig.name,
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
	CHECK(Bytes((*entries)[0].value.view().begin(), (*entries)[0].value.view().end()) == rig.luksKey);
	CHECK_FALSE(containsSecret(r.out + r.err, rig.luksKey));
	CHECK_FALSE(containsSecret(*rec, rig.luksKey));
	CHECK_FALSE(containsSecret(readTextFile("/var/log/libvirt/qemu/" + rig.name + ".log").valueOr(""), rig.luksKey));
	CHECK_FALSE(containsSecret(rig.as->log(), rig.luksKey));

	// Stopping the guest: the hook's release end tells the AS, the record goes.
	REQUIRE(virsh({ "destroy", rig.name }).exitStatus == 0);
	CHECK(waitFor([&] { return !fileExists(rig.recordPath()); }, 10));
	CHECK(waitFor([&] { return rig.audit().find("instance ended") != std::string::npos; }, 15));
}

TEST_CASE("a measurement the owner did not register: refused at validate, nothing left running")
{
	Rig rig;
	rig.registerVm({ "--launch-digest", std::string(64, 'a') });
	auto r = rig.start({ "--json" });
	INFO(r.out << r.err);
	CHECK(r.exitStatus == 1);
	CHECK(r.out.find("\"failed-step\" : \"validate\"") != std::string::npos);
	CHECK(r.out.find("\"destroyed\" : true") != std::string::npos);
	CHECK(r.out.find("\"voided\" : true") != std::string::npos);
	CHECK(rig.state() == "shut off");
	CHECK(waitFor([&] { return !fileExists(rig.recordPath()); }, 10));
	CHECK(rig.audit().find("measurement-mismatch") != std::string::npos);
}

TEST_CASE("cvm-launch killed between start and resume: the next run cleans up and launches")
{
	Rig rig;
	rig.registerVm();
	GPid pid = 0;
	std::string exe = buildPath("plugin/cvm-launch");
	const char *argv[] = { exe.c_str(), "start", "-c", kUri, "--quiet", rig.name.c_str(), nullptr };
	REQUIRE(g_spawn_async(nullptr, const_cast<char **>(argv), nullptr, G_SPAWN_DO_NOT_REAP_CHILD, nullptr, nullptr,
			      &pid, nullptr));
	// The hook has let the start through once the record says "started": the
	// guest is coming up paused. Stop cvm-launch right there, then kill it.
	bool started = waitFor([&] {
		auto t = readTextFile(rig.recordPath());
		return t.ok() && t->find("\"started\"") != std::string::npos;
	}, 60);
	kill(pid, SIGSTOP);
	kill(pid, SIGKILL);
	int status = 0;
	waitpid(pid, &status, 0);
	REQUIRE(started);
	CHECK(waitFor([&] { return rig.state() == "paused"; }, 60));   // the orphan

	auto r = rig.start();
	INFO(r.err);
	CHECK(r.exitStatus == 0);
	CHECK(rig.state() == "running");
	CHECK(waitFor([&] { return rig.audit().find("interrupted launch cleaned up") != std::string::npos; }, 15));
}
