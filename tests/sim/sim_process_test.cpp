// SPDX-License-Identifier: Apache-2.0
//
// cvm-sev-sim as a process, over a real unix socket with our QMP client: a
// whole SEV launch with the owner side from sev/, run-state transitions and
// their events, quit and SIGTERM, start-up failures, fault knobs.
#include <chrono>
#include <csignal>

#include <unistd.h>

#include <catch2/catch.hpp>

#include "cvm/common/json.h"
#include "cvm/qmp/wire.h"
#include "cvm/sev/launch_digest.h"
#include "cvm/sev/secret.h"
#include "cvm/sev/session.h"
#include "sev_test_support.h"
#include "sim_process.h"
#include "sim_test_support.h"

using namespace cvm;
using namespace cvm::sim;
using cvm::sim::test::SimProcess;
namespace st = cvm::sev::test;
using Ms = qmp::Milliseconds;

namespace {

struct Launch {
	TempDir dir = TempDir::create("cvm-sim-proc-").value();
	sev::OwnerSession owner;
	std::vector<std::string> args;
};

Launch sevLaunch(uint32_t policy = 0x1, bool paused = true)
{
	Launch l;
	l.owner = sev::startSessionWithPdhCert(test::sharedPlatform().pdhCert(), policy).value();
	auto f = test::writeSessionFiles(l.dir, l.owner);
	char obj[1024];
	snprintf(obj, sizeof(obj),
		 "sev-guest,id=sev0,policy=0x%x,cbitpos=51,reduced-phys-bits=1,dh-cert-file=%s,session-file=%s", policy,
		 f.godh.c_str(), f.session.c_str());
	l.args = { "-machine", "q35,confidential-guest-support=sev0", "-object", obj, "-bios", st::kDebianOvmf,
		   "-m", "512", "-nodefaults", "-display", "none" };
	if (paused)
		l.args.push_back("-S");
	return l;
}

std::string str(JsonNode *n, const char *member)
{
	return json::getString(json_node_get_object(n), member).value();
}

int64_t num(JsonNode *n, const char *member)
{
	return json::getInt(json_node_get_object(n), member).value();
}

Result<JsonNodePtr> inject(qmp::SyncClient &c, const sev::SecretPacket &p, std::optional<uint64_t> gpa)
{
	json::ObjectBuilder b;
	b.setBase64("packet-header", p.header).setBase64("secret", p.payload);
	if (gpa)
		b.setInt("gpa", static_cast<int64_t>(*gpa));
	return c.execute("sev-inject-launch-secret", b.object());
}

} // namespace

TEST_CASE("a whole SEV launch over QMP: measure, verify, inject, cont")
{
	st::requireFile(st::kDebianOvmf);
	Launch l = sevLaunch();
	SimProcess sim(l.dir, l.args);
	auto qmp = sim.connect();
	REQUIRE(qmp.ok());
	qmp::SyncClient &c = **qmp;
	CHECK(c.greeting().version.major == 7);
	CHECK(c.greeting().version.minor == 2);

	auto caps = c.execute("query-sev-capabilities");
	REQUIRE(caps.ok());
	CHECK(fromBase64(str(caps->get(), "pdh")).value() == test::sharedPlatform().pdhCert());
	CHECK(fromBase64(str(caps->get(), "cert-chain")).value().size() == 3 * 2084);
	CHECK(num(caps->get(), "cbitpos") == 51);

	auto info = c.execute("query-sev").value();
	CHECK(str(info.get(), "state") == "launch-secret");
	CHECK(num(info.get(), "policy") == 1);
	CHECK(str(c.execute("query-status")->get(), "status") == "prelaunch");

	auto m = sev::LaunchMeasurement::fromBase64(str(c.execute("query-sev-launch-measure")->get(), "data")).value();
	sev::PlatformVersion v{ static_cast<uint8_t>(num(info.get(), "api-major")),
				static_cast<uint8_t>(num(info.get(), "api-minor")),
				static_cast<uint8_t>(num(info.get(), "build-id")) };
	sev::LaunchDigestInputs in;
	in.firmware = st::kDebianOvmf;
	auto ld = sev::computeLaunchDigest(in).value();
	REQUIRE(*sev::verifyMeasurement(l.owner.keys.tik, v, 0x1, ld.launchDigest, m));

	SecureBuffer table = test::sampleSecretTable();
	auto packet = sev::sealSecret(l.owner.keys.tek, l.owner.keys.tik, m.measure, table).value();
	auto noArea = inject(c, packet, std::nullopt);
	REQUIRE_FALSE(noArea.ok());
	CHECK(qmp::remoteErrorDesc(noArea.error(), "sev-inject-launch-secret") ==
	      "SEV: no secret area found in OVMF, gpa must be specified.");
	REQUIRE(inject(c, packet, 0x810000).ok());
	json::ObjectBuilder at;
	at.setInt("gpa", 0x810000);
	auto got = c.execute("x-cvm-sim-guest-secret", at.object());
	REQUIRE(got.ok());
	CHECK(fromBase64(str(got->get(), "data")).value() == Bytes(table.view().begin(), table.view().end()));

	REQUIRE(c.execute("cont").ok());
	CHECK(c.waitForEvent("RESUME", Ms(2000)).ok());
	CHECK(str(c.execute("query-sev")->get(), "state") == "running");
	CHECK(str(c.execute("query-status")->get(), "status") == "running");
	// The measurement stays readable; a secret can no longer be injected.
	CHECK(c.execute("query-sev-launch-measure").ok());
	auto late = inject(c, packet, 0x810000);
	REQUIRE_FALSE(late.ok());
	CHECK(qmp::remoteErrorDesc(late.error(), "sev-inject-launch-secret") == "SEV: Not in correct state. (LSECRET) 3");

	REQUIRE(c.execute("stop").ok());
	CHECK(c.waitForEvent("STOP", Ms(2000)).ok());
	CHECK(str(c.execute("query-status")->get(), "status") == "paused");
	REQUIRE(c.execute("quit").ok());
	auto shutdown = c.waitForEvent("SHUTDOWN", Ms(2000));
	REQUIRE(shutdown.ok());
	CHECK(shutdown->dataString("reason") == "host-qmp-quit");
	CHECK(sim.wait() == 0);
}

TEST_CASE("a bad secret packet is refused with QEMU's firmware-error text")
{
	st::requireFile(st::kDebianOvmf);
	Launch l = sevLaunch();
	SimProcess sim(l.dir, l.args);
	auto c = sim.connect().value();
	auto m = sev::LaunchMeasurement::fromBase64(str(c->execute("query-sev-launch-measure")->get(), "data")).value();
	auto packet = sev::sealSecret(l.owner.keys.tek, l.owner.keys.tik, m.measure, test::sampleSecretTable()).value();
	packet.payload[3] ^= 0x40;
	auto r = inject(*c, packet, 0x810000);
	REQUIRE_FALSE(r.ok());
	CHECK(qmp::remoteErrorDesc(r.error(), "sev-inject-launch-secret") ==
	      "SEV: failed to inject secret ret=-5 fw_error=11 'Bad measurement'");
	json::ObjectBuilder bad;
	bad.setString("packet-header", "").setString("secret", "AAAA").setInt("gpa", 0x810000);
	auto e = c->execute("sev-inject-launch-secret", bad.object());
	CHECK(qmp::remoteErrorDesc(e.error(), "sev-inject-launch-secret") == "SEV: Failed to decode sequence header");
	auto missing = c->execute("sev-inject-launch-secret");
	CHECK(qmp::remoteErrorDesc(missing.error(), "sev-inject-launch-secret") == "Parameter 'packet-header' is missing");
}

TEST_CASE("without -S the guest runs at once and no secret can be injected")
{
	st::requireFile(st::kDebianOvmf);
	Launch l = sevLaunch(0x1, false);
	SimProcess sim(l.dir, l.args);
	auto c = sim.connect().value();
	CHECK(str(c->execute("query-status")->get(), "status") == "running");
	CHECK(str(c->execute("query-sev")->get(), "state") == "running");
	sim.signal(SIGTERM);
	auto ev = c->waitForEvent("SHUTDOWN", Ms(3000));
	REQUIRE(ev.ok());
	CHECK(ev->dataString("reason") == "host-signal");
	CHECK(sim.wait() == 0);
	CHECK(sim.stderrText().find("terminating on signal 15") != std::string::npos);
}

TEST_CASE("SIGTERM as in QEMU 7.2's transcript 08: SHUTDOWN host-signal, EOF, who sent it, exit 0")
{
	// The SHUTDOWN event QEMU sent (the transcript's only event).
	const char *fixtures = g_getenv("CVM_FIXTURES");
	REQUIRE(fixtures);
	auto text = readTextFile(std::string(fixtures) + "/qmp-qemu-7.2/08-sigterm-event.jsonl");
	REQUIRE(text.ok());
	JsonNodePtr want;
	size_t at = text->find("\"event\": \"SHUTDOWN\"");
	REQUIRE(at != std::string::npos);
	size_t start = text->rfind('\n', at) + 1, end = text->find('\n', at);
	auto record = json::parseObject(text->substr(start, end - start));
	REQUIRE(record.ok());
	JsonObject *s2c = json::getObject(json_node_get_object(record->get()), "s2c").value();
	want.reset(json_node_copy(json_object_get_member(s2c, "data")));
	REQUIRE(want);
	auto dir = TempDir::create("cvm-sim-sig-").value();
	SimProcess sim(dir, { "-machine", "q35", "-accel", "tcg", "-nodefaults", "-display", "none", "-m", "128", "-S" });
	auto c = sim.connect().value();
	CHECK(str(c->execute("query-status")->get(), "status") == "prelaunch");
	sim.signal(SIGTERM);
	auto ev = c->waitForEvent("SHUTDOWN", Ms(3000));
	REQUIRE(ev.ok());
	REQUIRE(ev->data);
	CHECK(json_node_equal(ev->data.get(), want.get()));
	// Then the server closes the connection.
	CHECK(!c->execute("query-status").ok());
	CHECK(sim.wait() == 0);
	// QEMU names the sender: "terminating on signal 15 from pid N (argv[0])".
	gchar *cmdline = nullptr;
	REQUIRE(g_file_get_contents("/proc/self/cmdline", &cmdline, nullptr, nullptr));
	std::string self = cmdline;
	g_free(cmdline);
	CHECK(sim.stderrText() == "cvm-sev-sim: terminating on signal 15 from pid " + std::to_string(getpid()) + " (" +
					  self + ")\n");
}

TEST_CASE("start-up failures end the process like QEMU's")
{
	st::requireFile(st::kDebianOvmf);
	SECTION("a tampered session: LAUNCH_START fails, exit 1")
	{
		Launch l = sevLaunch();
		Bytes s = l.owner.session.serialize();
		s[0x45] ^= 1;
		REQUIRE(writeFileAtomic(l.dir.file("session.b64"), asBytes(toBase64(s))).ok());
		SimProcess sim(l.dir, l.args);
		CHECK(sim.wait() == 1);
		CHECK(sim.stderrText().find("cvm-sev-sim: sev_launch_start: LAUNCH_START ret=1 fw_error=11 'Bad measurement'\n"
					    "cvm-sev-sim: sev_kvm_init: failed to create encryption context") !=
		      std::string::npos);
	}
	SECTION("no state directory")
	{
		auto dir = TempDir::create("cvm-sim-proc-").value();
		SimProcess sim(dir, { "-S" }, { "CVM_SEV_SIM_STATE_DIR=" }, true);
		CHECK(sim.wait() == 1);
		CHECK(sim.stderrText().find("pass --state-dir DIR or set CVM_SEV_SIM_STATE_DIR") != std::string::npos);
	}
	SECTION("the state directory from the environment; a wrong cbitpos")
	{
		Launch l = sevLaunch();
		for (auto &a : l.args)
			if (a.rfind("sev-guest", 0) == 0)
				a.replace(a.find("cbitpos=51"), 10, "cbitpos=47");
		l.args.push_back("-qmp");
		l.args.push_back("unix:" + l.dir.file("x.sock") + ",server=on,wait=off");
		SimProcess sim(l.dir, l.args, { "CVM_SEV_SIM_STATE_DIR=" + test::sharedStateDir() }, true);
		CHECK(sim.wait() == 1);
		CHECK(sim.stderrText().find("sev_kvm_init: cbitpos check failed, host '51' requested '47'") !=
		      std::string::npos);
	}
	SECTION("a bad -object property")
	{
		auto dir = TempDir::create("cvm-sim-proc-").value();
		SimProcess sim(dir, { "-object", "sev-guest,id=s,policy=lots" });
		CHECK(sim.wait() == 1);
		CHECK(sim.stderrText().find("Parameter 'policy' expects integer") != std::string::npos);
	}
}

TEST_CASE("fault knobs")
{
	st::requireFile(st::kDebianOvmf);
	SECTION("wrong-measurement: the owner's check fails")
	{
		Launch l = sevLaunch();
		l.args.push_back("--fault");
		l.args.push_back("wrong-measurement");
		SimProcess sim(l.dir, l.args);
		auto c = sim.connect().value();
		auto m = sev::LaunchMeasurement::fromBase64(str(c->execute("query-sev-launch-measure")->get(), "data")).value();
		sev::LaunchDigestInputs in;
		in.firmware = st::kDebianOvmf;
		auto ld = sev::computeLaunchDigest(in).value();
		CHECK_FALSE(*sev::verifyMeasurement(l.owner.keys.tik, test::sharedPlatform().identity().version, 0x1,
						    ld.launchDigest, m));
	}
	SECTION("delay-ms: every command waits")
	{
		auto dir = TempDir::create("cvm-sim-proc-").value();
		SimProcess sim(dir, { "-S" }, { "CVM_SEV_SIM_FAULTS=delay-ms=150" });
		auto c = sim.connect().value();
		auto t0 = std::chrono::steady_clock::now();
		REQUIRE(c->execute("query-status").ok());
		REQUIRE(c->execute("query-status").ok());
		CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(300));
	}
	SECTION("drop-after: the connection ends instead of the third reply")
	{
		auto dir = TempDir::create("cvm-sim-proc-").value();
		SimProcess sim(dir, { "-S", "--fault", "drop-after=2" });
		auto c = sim.connect().value(); // qmp_capabilities is command 1
		REQUIRE(c->execute("query-status").ok());
		auto r = c->execute("query-status", nullptr, Ms(3000));
		REQUIRE_FALSE(r.ok());
		CHECK(r.error().code() == ErrorCode::Disconnected);
	}
	SECTION("malformed-reply: the client sees a broken reply")
	{
		auto dir = TempDir::create("cvm-sim-proc-").value();
		SimProcess sim(dir, { "-S", "--fault", "malformed-reply=query-sev" });
		auto c = sim.connect().value();
		auto r = c->execute("query-sev", nullptr, Ms(3000));
		REQUIRE_FALSE(r.ok());
		CHECK(r.error().code() != ErrorCode::Remote);
	}
	SECTION("exit-at: the process dies when the command arrives")
	{
		Launch l = sevLaunch();
		l.args.push_back("--fault=exit-at=query-sev-launch-measure");
		SimProcess sim(l.dir, l.args);
		auto c = sim.connect().value();
		REQUIRE(c->execute("query-sev").ok());
		auto r = c->execute("query-sev-launch-measure", nullptr, Ms(3000));
		REQUIRE_FALSE(r.ok());
		CHECK(sim.wait() == 1);
		CHECK(sim.stderrText().find("fault knob exit-at=query-sev-launch-measure") != std::string::npos);
	}
	SECTION("exit-at=measure: the process dies during start-up")
	{
		Launch l = sevLaunch();
		l.args.push_back("--fault=exit-at=measure");
		SimProcess sim(l.dir, l.args);
		CHECK(sim.wait() == 1);
	}
	SECTION("an unknown knob is refused")
	{
		auto dir = TempDir::create("cvm-sim-proc-").value();
		SimProcess sim(dir, { "--fault", "explode" });
		CHECK(sim.wait() == 1);
		CHECK(sim.stderrText().find("unknown fault knob 'explode'") != std::string::npos);
	}
}

TEST_CASE("-daemonize -pidfile: the parent exits once the monitor listens (libvirt's probe)")
{
	auto dir = TempDir::create("cvm-sim-proc-").value();
	std::string pidfile = dir.file("sim.pid");
	SimProcess sim(dir, { "-S", "-no-user-config", "-nodefaults", "-nographic", "-machine", "none,accel=kvm:tcg",
			      "-daemonize", "-pidfile", pidfile });
	REQUIRE(sim.wait() == 0);
	REQUIRE(fileExists(sim.socket()));
	int pid = std::stoi(readTextFile(pidfile).value());
	CHECK(kill(pid, 0) == 0);
	auto c = sim.connect(false).value();
	auto caps = c->execute("query-sev-capabilities");
	REQUIRE(caps.ok());
	REQUIRE(c->execute("quit").ok());
	for (int i = 0; i < 200 && kill(pid, 0) == 0; ++i)
		g_usleep(10000);
	CHECK(kill(pid, 0) != 0);
	CHECK_FALSE(fileExists(pidfile));
}
