// SPDX-License-Identifier: Apache-2.0
//
// `cvm-launch start` through the real system libvirtd, whose default emulator
// is cvm-sev-shim (scripts/test-services with CVM_TEST_SEV_SHIM=1): real
// QEMU/TCG behind the shim's simulated SEV platform, this build's hook, the
// real cvm-attestd and cvm-owner. The whole SEV flow, the secret in the
// guest, the hook's end report, a refused measurement, a cvm-launch killed
// between the start and the resume, `cvm-launch platform -c`. The fault
// matrix is in libvirt_faults_test.cpp. Domains: cvmt-plugin-*.
#include <catch2/catch.hpp>

#include <csignal>
#include <cstdio>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cvm/common/file.h"
#include "cvm/common/json.h"
#include "cvm/plugin/launch_records.h"
#include "libvirt_rig.h"

using namespace cvm;
using namespace cvm::test;

TEST_CASE("attested start through libvirt: every step, the secret in the guest, the end reported by the hook")
{
	LibvirtRig rig;
	rig.registerVm();
	std::string before = virsh({ "dumpxml", "--inactive", rig.name }).out;
	auto r = rig.start({ "--json" });
	INFO(r.out << r.err);
	REQUIRE(r.exitStatus == 0);
	for (const char *step : { "certificates", "as-launch", "start", "measure", "validate", "inject", "resume" })
		CHECK(r.out.find(std::string("\"step\" : \"") + step + "\"") != std::string::npos);
	// One progress line per step on stderr, in order, with its time.
	using Line = std::pair<std::string, std::string>;
	CHECK(progressLines(r.err) == std::vector<Line>{ { "certificates", "ok" }, { "as-launch", "ok" }, { "start", "ok" },
							 { "measure", "ok" }, { "validate", "ok" }, { "inject", "ok" },
							 { "resume", "ok" } });
	CHECK(rig.state() == "running");
	// The persistent definition is untouched (no launchSecurity, no session).
	CHECK(virsh({ "dumpxml", "--inactive", rig.name }).out == before);
	auto rec = readTextFile(rig.recordPath());
	REQUIRE(rec.ok());
	CHECK(rec->find("\"running\"") != std::string::npos);
	struct stat st;
	REQUIRE(stat(rig.recordPath().c_str(), &st) == 0);
	CHECK((st.st_mode & 0777) == 0600);

	CHECK(rig.guestSecret() == rig.luksKey);
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
	LibvirtRig rig;
	rig.registerVm({ "--launch-digest", std::string(64, 'a') });
	auto r = rig.start({ "--json" });
	INFO(r.out << r.err);
	CHECK(r.exitStatus == 1);
	CHECK(r.out.find("\"failed-step\" : \"validate\"") != std::string::npos);
	CHECK(r.out.find("\"destroyed\" : true") != std::string::npos);
	CHECK(r.out.find("\"voided\" : true") != std::string::npos);
	using Line = std::pair<std::string, std::string>;
	auto lines = progressLines(r.err);
	REQUIRE_FALSE(lines.empty());
	CHECK(lines.back() == Line{ "validate", "FAILED" });
	rig.checkNothingLeft(r);
	CHECK(rig.audit().find("measurement-mismatch") != std::string::npos);
}

TEST_CASE("cvm-launch killed between start and resume: the next run cleans up and launches")
{
	LibvirtRig rig;
	rig.registerVm();
	auto bg = rig.startInBackground({ "--quiet" });
	// The hook has let the start through once the record says "started": the
	// guest is coming up paused. Stop cvm-launch right there, then kill it.
	bool started = waitFor([&] {
		auto t = readTextFile(rig.recordPath());
		return t.ok() && t->find("\"started\"") != std::string::npos;
	}, 60);
	bg->signal(SIGSTOP);
	bg->signal(SIGKILL);
	bg->wait(10);
	REQUIRE(started);
	CHECK(waitFor([&] { return rig.state() == "paused"; }, 60));   // the orphan

	auto r = rig.start();
	INFO(r.err);
	CHECK(r.exitStatus == 0);
	CHECK(rig.state() == "running");
	CHECK(rig.guestSecret() == rig.luksKey);
	// The interrupted launch ended at the AS: by the cleanup, or by the hook
	// when the cleanup destroyed its guest (whichever the AS heard first).
	CHECK(waitFor([&] {
		auto a = rig.audit();
		return a.find("interrupted launch cleaned up") != std::string::npos ||
		       a.find("stopped (started)") != std::string::npos;
	}, 15));
}

TEST_CASE("cvm-launch platform -c: libvirt's certificates, the chip id, the chain verdict")
{
	LibvirtRig rig;
	auto r = run({ buildPath("plugin/cvm-launch"), "platform", "-c", kLibvirtUri, "--amd-roots", rig.dir.file("none"),
		       "--test-roots", rig.platform + "/roots", "--json" },
		     {}, { "CVM_LAUNCH_CONFIG=/dev/null" });
	INFO(r.out << r.err);
	CHECK(r.exitStatus == 0);
	auto o = json::parseObject(r.out);
	REQUIRE(o.ok());
	JsonObject *root = json_node_get_object(o->get());
	CHECK_FALSE(json::getString(root, "chip-id").valueOr("").empty());
	auto chain = json::getObject(root, "chain");
	REQUIRE(chain.ok());
	CHECK(json::getString(*chain, "status").valueOr("") == "valid");
	CHECK(json::getBase64(root, "pdh").valueOr(Bytes()).size() == 2084);

	// No libvirtd at the URI: a transport error, exit 2.
	auto none = run({ buildPath("plugin/cvm-launch"), "platform", "-c", "qemu:///system?socket=/nonexistent" }, {},
			{ "CVM_LAUNCH_CONFIG=/dev/null" });
	CHECK(none.exitStatus == 2);
	CHECK(none.err.find("/nonexistent") != std::string::npos);
}
