// SPDX-License-Identifier: Apache-2.0
#include "libvirt_rig.h"

#include <catch2/catch.hpp>

#include <climits>
#include <csignal>
#include <libgen.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "cvm/common/json.h"
#include "cvm/sev/secret.h"

namespace cvm::test {

namespace {

const char *kServicesState = "/run/cvm-test-services";

std::string between(const std::string &s, const std::string &open, const std::string &close)
{
	size_t a = s.find(open);
	if (a == std::string::npos)
		return {};
	a += open.size();
	return s.substr(a, s.find(close, a) - a);
}

std::string firstLine(const std::string &s)
{
	return s.substr(0, s.find('\n'));
}

// The shim's platform state dir, or exit 77 saying what is missing.
std::string shimPlatform()
{
	if (auto v = virsh({ "version" }); v.exitStatus != 0)
		test::libvirtUnavailable("no libvirtd answers (scripts/test-services start): " + v.err);
	auto build = readTextFile(std::string(kServicesState) + "/hook-build");
	const char *root = getenv("CVM_BUILD_ROOT");
	if (!build || !root || firstLine(*build) != root)
		test::libvirtUnavailable("the hook wrapper does not run this build's hook");
	std::string emulator = between(virsh({ "domcapabilities" }).out, "<path>", "</path>");
	auto config = run({ emulator, "--cvm-sev-shim-config" });
	std::string dir = between(config.out, "state-dir=", "\n");
	if (config.exitStatus != 0 || dir.empty())
		test::libvirtUnavailable("libvirtd's default emulator " + emulator +
					 " is not cvm-sev-shim (CVM_TEST_SEV_SHIM=1 scripts/test-services start BUILDDIR)");
	return dir;
}

} // namespace

CommandResult virsh(std::vector<std::string> args)
{
	args.insert(args.begin(), { "virsh", "-q", "-c", kLibvirtUri });
	return run(args, {}, {}, 120);
}

LibvirtRig::LibvirtRig() : platform(shimPlatform()), dir(std::move(TempDir::create("cvmt-plugin-lv-").value()))
{
	REQUIRE(RAND_bytes(luksKey.data(), 32) == 1);
	REQUIRE(writeSecretFile(dir.file("luks.key"), luksKey).ok());
	REQUIRE(writeSecretFile(dir.file("owner.token"), asBytes("owner-token-" + vm)).ok());
	as = std::make_unique<DaemonProcess>(
		dir.path(), std::vector<std::string>{ "--insecure-listen", "127.0.0.1:0", "--owner-token-file",
						      dir.file("owner.token"), "--db", dir.file("as.db"), "--key-file",
						      dir.file("as.key"), "--test-roots", platform + "/roots", "--no-kds" });
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

LibvirtRig::~LibvirtRig()
{
	std::string id = uuid();
	virsh({ "destroy", name });
	virsh({ "undefine", name, "--nvram" });
	if (!id.empty()) {
		unlink((std::string(kHookStateDir) + "/" + id + ".json").c_str());
		unlink((std::string(kHookStateDir) + "/" + id + ".lock").c_str());   // every cvm-launch is over
	}
}

CommandResult LibvirtRig::owner(std::vector<std::string> args)
{
	args.insert(args.begin(), buildPath("server/cvm-owner"));
	args.insert(args.end(), { "--server", as->url(), "--token-file", dir.file("owner.token") });
	return run(args);
}

void LibvirtRig::registerVm(const std::vector<std::string> &reference)
{
	std::vector<std::string> args = { "register", "--vm", vm, "--policy", "0x1", "--secret",
					  "luks-key:" + dir.file("luks.key") };
	args.insert(args.end(), reference.begin(), reference.end());
	auto r = owner(args);
	INFO(r.err);
	REQUIRE(r.exitStatus == 0);
}

std::vector<std::string> LibvirtRig::startArgv(const std::vector<std::string> &extra) const
{
	std::vector<std::string> argv = { buildPath("plugin/cvm-launch"), "start", "-c", kLibvirtUri, name };
	argv.insert(argv.end(), extra.begin(), extra.end());
	return argv;
}

CommandResult LibvirtRig::start(const std::vector<std::string> &extra)
{
	return run(startArgv(extra), {}, { "CVM_LAUNCH_CONFIG=/dev/null" }, 180);
}

std::unique_ptr<Background> LibvirtRig::startInBackground(const std::vector<std::string> &extra)
{
	return std::make_unique<Background>(startArgv(extra), std::vector<std::string>{ "CVM_LAUNCH_CONFIG=/dev/null" },
					    dir.path());
}

std::string LibvirtRig::state()
{
	return firstLine(virsh({ "domstate", name }).out);
}

std::string LibvirtRig::uuid()
{
	return firstLine(virsh({ "domuuid", name }).out);
}

Bytes LibvirtRig::guestSecret()
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
	return Bytes((*entries)[0].value.view().begin(), (*entries)[0].value.view().end());
}

void LibvirtRig::checkNothingLeft(const CommandResult &r)
{
	CHECK(state() == "shut off");
	CHECK(waitFor([&] { return qemuProcesses().empty(); }, 10));
	CHECK(waitFor([&] { return !fileExists(recordPath()); }, 10));
	CHECK_FALSE(containsSecret(r.out + r.err, luksKey));
	CHECK_FALSE(containsSecret(readTextFile("/var/log/libvirt/qemu/" + name + ".log").valueOr(""), luksKey));
	CHECK_FALSE(containsSecret(as->log(), luksKey));
}

std::optional<pid_t> testServicesLibvirtd()
{
	auto text = readTextFile(std::string(kServicesState) + "/libvirtd.pid");
	if (!text)
		return std::nullopt;
	pid_t pid = static_cast<pid_t>(atoi(text->c_str()));
	if (pid <= 0 || kill(pid, 0) != 0 || virsh({ "version" }).exitStatus != 0)
		return std::nullopt;
	return pid;
}

bool restartTestServicesLibvirtd()
{
	std::string state = kServicesState;
	auto hookBuild = readTextFile(state + "/hook-build");
	if (!hookBuild)
		return false;
	std::vector<std::string> env;
	char link[PATH_MAX] = {};
	if (readlink((state + "/bin/qemu-system-x86_64").c_str(), link, sizeof(link) - 1) > 0)
		env.push_back("CVM_TEST_SEV_SHIM=" + std::string(dirname(dirname(link))));   // BUILD/shim/cvm-sev-shim
	// Output into a file: the daemon must not hold our pipes open.
	std::string script = sourcePath("scripts/test-services"), log = "/run/cvm-test-services/restart.log";
	const char *quiet = "exec sh \"$0\" \"$@\" >>/run/cvm-test-services/restart.log 2>&1 </dev/null";
	auto stop = run({ "sh", "-c", quiet, script, "stop" }, {}, {}, 60);
	auto start = run({ "sh", "-c", quiet, script, "start", firstLine(*hookBuild) }, {}, env, 60);
	bool ok = stop.exitStatus == 0 && start.exitStatus == 0 && virsh({ "version" }).exitStatus == 0;
	if (!ok)
		fprintf(stderr, "restarting libvirtd failed:\n%s\n", readTextFile(log).valueOr("").c_str());
	unlink(log.c_str());
	return ok;
}

Frozen::Frozen(pid_t pid) : pid_(pid)
{
	frozen_ = kill(pid_, SIGSTOP) == 0;
	REQUIRE(frozen_);
}

Frozen::~Frozen()
{
	thaw();
}

void Frozen::thaw()
{
	if (frozen_)
		kill(pid_, SIGCONT);
	frozen_ = false;
}

} // namespace cvm::test
