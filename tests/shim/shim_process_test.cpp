// SPDX-License-Identifier: Apache-2.0
//
// cvm-sev-shim as a process in front of real QEMU (TCG), driven the way
// libvirt's capability probe drives QEMU (-daemonize, -pidfile, -qmp), plus
// its life cycle: QEMU dies with the shim, signals reach QEMU, start-up
// failures end the shim with QEMU's message.
#include <catch2/catch.hpp>

#include <csignal>
#include <fstream>
#include <thread>

#include <unistd.h>

#include "cvm/common/bytes.h"
#include "cvm/common/file.h"
#include "cvm/common/json.h"
#include "cvm/qmp/sync_client.h"
#include "cvm/sim/platform.h"
#include "test_support.h"

using namespace cvm;
using namespace cvm::test;
using namespace std::chrono_literals;

namespace {

constexpr const char *kQemu = "/usr/bin/qemu-system-x86_64";

struct Env {
	TempDir dir = TempDir::create("cvmt-shim-proc-").value();
	std::unique_ptr<sim::Platform> platform;
	std::string socket = dir.file("qmp.sock");
	std::string pidfile = dir.file("qmp.pid");

	Env()
	{
		requireExecutable(kQemu);
		sim::PlatformInitOptions o;
		o.stateDir = dir.file("state");
		platform = sim::Platform::init(o).value();
		std::ofstream(dir.file("shim.conf")) << "[shim]\n"; // the environment decides
	}
	std::vector<std::string> env() const
	{
		return { "CVM_SEV_SIM_STATE_DIR=" + platform->stateDir(), "CVM_SEV_SHIM_QEMU=" + std::string(kQemu),
			 "CVM_SEV_SHIM_CONFIG=" + dir.file("shim.conf") };
	}
	std::vector<std::string> probeArgv() const
	{
		return { buildPath("shim/cvm-sev-shim"), "-S", "-no-user-config", "-nodefaults", "-nographic",
			 "-machine", "none,accel=kvm:tcg", "-qmp", "unix:" + socket + ",server=on,wait=off",
			 "-pidfile", pidfile, "-daemonize" };
	}
};

pid_t readPid(const std::string &path)
{
	std::ifstream f(path);
	long pid = 0;
	f >> pid;
	return static_cast<pid_t>(pid);
}

pid_t childOf(pid_t parent)
{
	std::ifstream f("/proc/" + std::to_string(parent) + "/task/" + std::to_string(parent) + "/children");
	long pid = 0;
	f >> pid;
	return static_cast<pid_t>(pid);
}

bool gone(pid_t pid, std::chrono::milliseconds within = 3000ms)
{
	for (auto t = 0ms; t < within; t += 50ms) {
		std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
		std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
		size_t p = s.rfind(')');
		if (s.empty() || (p != std::string::npos && p + 2 < s.size() && s[p + 2] == 'Z'))
			return true;
		std::this_thread::sleep_for(50ms);
	}
	return false;
}

std::string member(const JsonNodePtr &v, const char *name)
{
	return json::getString(json_node_get_object(v.get()), name).value();
}

} // namespace

TEST_CASE("the probe: -daemonize returns once QEMU is up, QMP reaches QEMU, SEV comes from the platform")
{
	Env e;
	auto r = run(e.probeArgv(), {}, e.env(), 60);
	INFO(r.err);
	REQUIRE(r.exitStatus == 0);
	pid_t shim = readPid(e.pidfile);
	REQUIRE(shim > 0);
	pid_t qemu = childOf(shim);
	REQUIRE(qemu > 0);
	{
		auto c = qmp::SyncClient::connect(e.socket, 10000ms);
		REQUIRE(c.ok());
		CHECK((*c)->greeting().version.major == 7);
		auto caps = (*c)->execute("query-sev-capabilities");
		REQUIRE(caps.ok());
		CHECK(member(*caps, "pdh") == toBase64(e.platform->pdhCert()));
		CHECK(member(*caps, "cert-chain") == toBase64(e.platform->certChain()));
		auto types = (*c)->execute("qom-list-types", json::ObjectBuilder()
								   .setString("implements", "confidential-guest-support")
								   .object());
		REQUIRE(types.ok());
		CHECK(json::serialize(types->get()).find("sev-guest") != std::string::npos);
		// Not a SEV guest: QEMU's own answer.
		auto sev = (*c)->execute("query-sev");
		REQUIRE(sev.ok());
		CHECK(!json::getBool(json_node_get_object(sev->get()), "enabled").value());
	}
	// A second client (libvirtd reconnecting) finds the same QEMU.
	auto again = qmp::SyncClient::connect(e.socket, 10000ms);
	REQUIRE(again.ok());
	CHECK((*again)->execute("query-status").ok());
	(void)(*again)->execute("quit");
	CHECK(gone(qemu));
	CHECK(gone(shim));
	CHECK(!fileExists(e.socket));
	CHECK(!fileExists(e.pidfile));
}

TEST_CASE("QEMU dies with the shim; SIGTERM reaches QEMU")
{
	for (int sig : { SIGKILL, SIGTERM }) {
		Env e;
		auto r = run(e.probeArgv(), {}, e.env(), 60);
		REQUIRE(r.exitStatus == 0);
		pid_t shim = readPid(e.pidfile), qemu = childOf(shim);
		REQUIRE(qemu > 0);
		REQUIRE(::kill(shim, sig) == 0);
		CHECK(gone(qemu));
		CHECK(gone(shim));
	}
}

TEST_CASE("start-up failures end the shim with QEMU's or the launch's message")
{
	Env e;
	auto argv = e.probeArgv();
	argv[6] = "no-such-machine";
	auto r = run(argv, {}, e.env(), 60);
	CHECK(r.exitStatus == 1);
	CHECK(r.err.find("qemu-system-x86_64: unsupported machine type") != std::string::npos);

	// A SEV guest whose cbitpos the platform does not have, and one without a platform.
	std::vector<std::string> sev = { buildPath("shim/cvm-sev-shim"), "-S", "-nodefaults", "-nographic",
					 "-machine", "q35,confidential-guest-support=s0", "-bios", "/usr/share/OVMF/OVMF_CODE.fd",
					 "-object", "sev-guest,id=s0,cbitpos=47,reduced-phys-bits=1,policy=0x1",
					 "-qmp", "unix:" + e.socket + ",server=on,wait=off" };
	r = run(sev, {}, e.env(), 60);
	CHECK(r.exitStatus == 1);
	CHECK(r.err.find("cbitpos check failed, host '51' requested '47'") != std::string::npos);
	auto env = e.env();
	env[0] = "CVM_SEV_SIM_STATE_DIR=" + e.dir.file("missing");
	r = run(sev, {}, env, 60);
	CHECK(r.exitStatus == 1);
	CHECK(r.err.find("simulated SEV platform is not available") != std::string::npos);
	CHECK(!fileExists(e.socket));
}

TEST_CASE("with nothing to proxy the shim is QEMU itself")
{
	Env e;
	auto viaShim = run({ buildPath("shim/cvm-sev-shim"), "-version" }, {}, e.env());
	auto direct = run({ kQemu, "-version" });
	CHECK(viaShim.exitStatus == 0);
	CHECK(viaShim.out == direct.out);
	auto bad = run({ buildPath("shim/cvm-sev-shim"), "-machine" }, {}, e.env());
	CHECK(bad.exitStatus == 1);
	CHECK(bad.err.find("requires an argument") != std::string::npos);
}

TEST_CASE("a bad configuration file is reported")
{
	Env e;
	std::ofstream(e.dir.file("bad.conf")) << "[shim]\nqemu=relative/qemu\n";
	auto env = e.env();
	env[2] = "CVM_SEV_SHIM_CONFIG=" + e.dir.file("bad.conf");
	auto r = run({ buildPath("shim/cvm-sev-shim"), "-version" }, {}, env);
	CHECK(r.exitStatus == 1);
	CHECK(r.err.find("[shim] qemu must be an absolute path") != std::string::npos);
}
