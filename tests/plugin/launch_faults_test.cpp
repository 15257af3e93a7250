// SPDX-License-Identifier: Apache-2.0
//
// The fault matrix of the QMP path: every failure names its step and cause,
// exits non-zero, and leaves no simulator process, no session file and no
// secret in any output. The AS faults use a real HTTP peer that misbehaves;
// the platform faults use cvm-sev-sim's fault knobs with the real cvm-attestd.
#include <catch2/catch.hpp>

#include <csignal>
#include <dirent.h>
#include <sys/wait.h>
#include <unistd.h>
#include <thread>

#include "as_proxy.h"
#include "launch_rig.h"
#include "test_http.h"

using namespace cvm;
using namespace cvm::test;

namespace {

bool emptyDir(const std::string &dir)
{
	DIR *d = opendir(dir.c_str());
	if (!d)
		return true;
	int n = 0;
	while (dirent *e = readdir(d))
		n += std::string(e->d_name) != "." && std::string(e->d_name) != "..";
	closedir(d);
	return n == 0;
}

void checkClean(const LaunchRig &rig, const CommandResult &r)
{
	CHECK(processesMentioning(rig.simNeedle()).empty());
	CHECK(emptyDir(rig.path("tmp")));
	CHECK_FALSE(containsSecret(r.out + r.err, rig.luksKey));
}

// The audit trail of the rig's VM at the real AS.
std::string audit(LaunchRig &rig)
{
	return rig.owner({ "audit", "--vm", rig.vm }).out;
}

// cvm-launch qemu in the background (what LaunchRig::launch runs).
std::unique_ptr<Background> launchInBackground(LaunchRig &rig, const std::vector<std::string> &extra,
					       const std::string &server)
{
	std::vector<std::string> argv = { buildPath("plugin/cvm-launch"), "qemu", "--server", server, "--vm", rig.vm,
					  "--secret-address", std::to_string(kSecretGpa) };
	argv.insert(argv.end(), extra.begin(), extra.end());
	argv.insert(argv.end(), { "--", buildPath("sim/cvm-sev-sim"), "--state-dir", simPlatformDir(), "-bios",
				  "/usr/share/OVMF/OVMF_CODE.fd", "-name", rig.simNeedle() });
	return std::make_unique<Background>(argv,
					    std::vector<std::string>{ "TMPDIR=" + rig.path("tmp"),
								      "CVM_LAUNCH_CONFIG=/dev/null" },
					    rig.dir.path());
}

} // namespace

TEST_CASE("AS unreachable: as-launch fails, exit 2, the probe is gone")
{
	LaunchRig rig;
	auto r = rig.launch({ "--json" }, "http://127.0.0.1:1");
	INFO(r.out << r.err);
	CHECK(r.exitStatus == 2);
	CHECK(r.out.find("\"failed-step\" : \"as-launch\"") != std::string::npos);
	CHECK(r.err.find("launch failed at step as-launch") != std::string::npos);
	checkClean(rig, r);
}

TEST_CASE("AS answers garbage: as-launch fails with a protocol error")
{
	LaunchRig rig;
	StubServer stub([](SoupServer *, SoupServerMessage *msg, const std::string &) {
		respondJson(msg, 201, "{\"launch-id\": 7, \"session\": \"%%%\"");
	});
	auto r = rig.launch({}, stub.url());
	INFO(r.err);
	CHECK(r.exitStatus == 2);
	CHECK(r.err.find("step as-launch") != std::string::npos);
	checkClean(rig, r);
}

TEST_CASE("AS too slow: as-launch times out within as-timeout")
{
	LaunchRig rig;
	StubServer stub([](SoupServer *, SoupServerMessage *msg, const std::string &) {
		soup_server_message_pause(msg);   // never answers
	});
	auto begin = std::chrono::steady_clock::now();
	auto r = rig.launch({ "--as-timeout", "1" }, stub.url());
	auto took = std::chrono::steady_clock::now() - begin;
	INFO(r.err);
	CHECK(r.exitStatus == 2);
	CHECK(r.err.find("step as-launch") != std::string::npos);
	CHECK(took < std::chrono::seconds(20));
	checkClean(rig, r);
}

TEST_CASE("AS too slow at validate: validate times out, the guest is destroyed, the launch voided")
{
	LaunchRig rig;
	rig.registerVm();
	AsProxy proxy(rig.as->url(), AsProxy::Validate::Stall);
	auto begin = std::chrono::steady_clock::now();
	auto r = rig.launch({ "--json", "--as-timeout", "2" }, proxy.url());
	auto took = std::chrono::steady_clock::now() - begin;
	INFO(r.out << r.err);
	CHECK(proxy.validateSeen());
	CHECK(r.exitStatus == 2);
	CHECK(r.out.find("\"failed-step\" : \"validate\"") != std::string::npos);
	CHECK(r.out.find("\"error-code\" : \"timeout\"") != std::string::npos);
	CHECK(r.out.find("\"destroyed\" : true") != std::string::npos);
	CHECK(r.out.find("\"voided\" : true") != std::string::npos);
	CHECK(took < std::chrono::seconds(30));
	checkClean(rig, r);
	CHECK(audit(rig).find("launch voided before validation") != std::string::npos);
	CHECK_FALSE(containsSecret(rig.as->log(), rig.luksKey));
}

TEST_CASE("AS answers garbage at validate: a protocol error, the guest destroyed, the launch voided")
{
	LaunchRig rig;
	rig.registerVm();
	AsProxy proxy(rig.as->url(), AsProxy::Validate::Garbage);
	auto r = rig.launch({ "--json" }, proxy.url());
	INFO(r.out << r.err);
	CHECK(proxy.validateSeen());
	CHECK(r.exitStatus == 2);
	CHECK(r.out.find("\"failed-step\" : \"validate\"") != std::string::npos);
	CHECK(r.out.find("\"error-code\" : \"protocol\"") != std::string::npos);
	CHECK(r.out.find("\"destroyed\" : true") != std::string::npos);
	CHECK(r.out.find("\"voided\" : true") != std::string::npos);
	CHECK(r.err.find("launch failed at step validate") != std::string::npos);
	checkClean(rig, r);
	CHECK(audit(rig).find("launch voided before validation") != std::string::npos);
}

TEST_CASE("SIGTERM between start and resume: rolled back at once, nothing left")
{
	LaunchRig rig;
	rig.registerVm();
	AsProxy proxy(rig.as->url(), AsProxy::Validate::Hold);
	auto bg = launchInBackground(rig, { "--json", "--as-timeout", "60" }, proxy.url());
	REQUIRE(waitFor([&] { return proxy.validateSeen(); }, 60));
	REQUIRE_FALSE(processesMentioning(rig.simNeedle()).empty());   // the paused guest
	auto begin = std::chrono::steady_clock::now();
	bg->signal(SIGTERM);
	auto r = bg->wait(30);
	auto took = std::chrono::steady_clock::now() - begin;
	INFO(r.out << r.err);
	CHECK(r.exitStatus == 1);
	// Not after as-timeout: the AS request itself was cut short.
	CHECK(took < std::chrono::seconds(10));
	CHECK(r.out.find("\"failed-step\" : \"validate\"") != std::string::npos);
	CHECK(r.err.find("interrupted by SIGTERM") != std::string::npos);
	CHECK(r.out.find("\"destroyed\" : true") != std::string::npos);
	CHECK(r.out.find("\"voided\" : true") != std::string::npos);
	checkClean(rig, r);
	CHECK(audit(rig).find("launch voided before validation") != std::string::npos);
}

TEST_CASE("measurement mismatch (the platform reports a wrong MEASURE): refused, destroyed, voided")
{
	LaunchRig rig;
	rig.registerVm();
	auto r = rig.launch({ "--json" }, rig.as->url(), "/usr/share/OVMF/OVMF_CODE.fd", { "--fault", "wrong-measurement" });
	INFO(r.out << r.err);
	CHECK(r.exitStatus == 1);
	CHECK(r.out.find("\"failed-step\" : \"validate\"") != std::string::npos);
	CHECK(r.out.find("\"destroyed\" : true") != std::string::npos);
	checkClean(rig, r);
	CHECK_FALSE(containsSecret(rig.as->log(), rig.luksKey));
}

TEST_CASE("the simulator exits mid-launch: the failing step is named, the launch voided")
{
	struct Case {
		const char *knob;
		const char *step;
	};
	for (auto c : { Case{ "exit-at=query-sev-launch-measure", "measure" },
			Case{ "exit-at=sev-inject-launch-secret", "inject" }, Case{ "exit-at=cont", "resume" } }) {
		INFO(c.knob);
		LaunchRig rig;
		rig.registerVm();
		auto r = rig.launch({ "--json" }, rig.as->url(), "/usr/share/OVMF/OVMF_CODE.fd", { "--fault", c.knob });
		INFO(r.out << r.err);
		CHECK(r.exitStatus != 0);
		CHECK(r.out.find(std::string("\"failed-step\" : \"") + c.step + "\"") != std::string::npos);
		CHECK(r.out.find("\"voided\" : true") != std::string::npos);
		checkClean(rig, r);
		// The AS heard the end: a second launch is allowed again (max 1 concurrent).
		auto again = rig.launch({ "--detach", "--pidfile", rig.path("again.pid") }, rig.as->url());
		INFO(again.err);
		CHECK(again.exitStatus == 0);
		if (auto pid = readTextFile(rig.path("again.pid")); pid.ok())
			kill(std::stoi(*pid), SIGKILL);
		for (int i = 0; i < 100 && !processesMentioning(rig.simNeedle()).empty(); ++i)
			usleep(50000);
		checkClean(rig, again);
	}
}

TEST_CASE("cvm-launch killed between start and resume: the paused guest dies with it")
{
	LaunchRig rig;
	rig.registerVm();
	std::string sock = rig.path("guest.qmp");
	std::string exe = buildPath("plugin/cvm-launch"), sim = buildPath("sim/cvm-sev-sim"), gpa = std::to_string(kSecretGpa);
	std::string platform = simPlatformDir(), needle = rig.simNeedle(), url = rig.as->url();
	const char *argv[] = { exe.c_str(), "qemu", "--server", url.c_str(), "--vm", rig.vm.c_str(), "--secret-address",
			       gpa.c_str(), "--qmp-socket", sock.c_str(), "--quiet", "--", sim.c_str(), "--state-dir",
			       platform.c_str(), "-bios", "/usr/share/OVMF/OVMF_CODE.fd", "-name", needle.c_str(),
			       "--fault", "delay-ms=1500", nullptr };
	std::string tmp = "TMPDIR=" + rig.path("tmp");
	const char *envp[] = { tmp.c_str(), "CVM_LAUNCH_CONFIG=/dev/null", nullptr };
	GPid pid = 0;
	REQUIRE(g_spawn_async(nullptr, const_cast<char **>(argv), const_cast<char **>(envp), G_SPAWN_DO_NOT_REAP_CHILD,
			      nullptr, nullptr, &pid, nullptr));
	// The guest's monitor socket appears once the paused guest was started.
	for (int i = 0; i < 600 && !fileExists(sock); ++i)
		usleep(20000);
	REQUIRE(fileExists(sock));
	REQUIRE_FALSE(processesMentioning(needle).empty());
	kill(pid, SIGKILL);
	int status = 0;
	waitpid(pid, &status, 0);
	for (int i = 0; i < 100 && !processesMentioning(needle).empty(); ++i)
		usleep(50000);
	CHECK(processesMentioning(needle).empty());
	// SIGKILL leaves no chance to clean up: whatever the work dir still holds
	// carries no secret, and the next run removes it.
	std::string left;
	if (DIR *d = opendir(rig.path("tmp").c_str())) {
		while (dirent *e = readdir(d))
			if (std::string(e->d_name).rfind("cvm-launch-qemu-", 0) == 0)
				left = rig.path("tmp") + "/" + e->d_name;
		closedir(d);
	}
	if (!left.empty())
		if (DIR *d = opendir(left.c_str())) {
			while (dirent *e = readdir(d))
				if (e->d_type == DT_REG)
					CHECK_FALSE(containsSecret(readTextFile(left + "/" + e->d_name).valueOr(""), rig.luksKey));
			closedir(d);
		}
	auto next = rig.launch({}, "http://127.0.0.1:1");
	CHECK(next.exitStatus == 2);
	CHECK(emptyDir(rig.path("tmp")));
}
