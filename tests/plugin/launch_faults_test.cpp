// SPDX-License-Identifier: Apache-2.0
//
// The fault matrix of the QMP path: every failure names its step and cause,
// exits non-zero, and leaves no simulator process, no session file and no
// secret in any output. The AS faults use a real HTTP peer that misbehaves;
// the platform faults use cvm-sev-sim's fault knobs with the real cvm-attestd.
#include <catch2/catch.hpp>

#include <csignal>
#include <dirent.h>
#include <thread>

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
