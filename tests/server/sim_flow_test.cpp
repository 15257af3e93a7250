// SPDX-License-Identifier: Apache-2.0
//
// The whole launch with the simulator as the platform, every piece a real
// process: `cvm-sev-sim init` makes the platform, cvm-attestd serves on
// loopback with the sim's test roots, `cvm-owner register` computes the
// digest from the firmware, and the host side talks QMP to cvm-sev-sim
// (capabilities, then a -S guest started with the session the server made,
// measure, inject, cont) and HTTP to the server through attest/'s client.
#include <catch2/catch.hpp>

#include "cvm/attest/client.h"
#include "cvm/attest/errors.h"
#include "cvm/common/file.h"
#include "cvm/common/json.h"
#include "cvm/qmp/wire.h"
#include "cvm/sev/secret.h"
#include "daemon_process.h"
#include "sev_test_support.h"
#include "sim_process.h"
#include "test_support.h"

using namespace cvm;
using namespace cvm::attest;
using cvm::sim::test::SimProcess;
namespace st = cvm::sev::test;
using Ms = qmp::Milliseconds;

namespace {

const std::string kToken = "sim-flow-owner-token-0123456789";
const std::string kSecret = "SIM-FLOW-LUKS-PASSPHRASE-0042";
constexpr int64_t kSecretGpa = 0x810000;

std::string str(const JsonNodePtr &n, const char *member)
{
	return json::getString(json_node_get_object(n.get()), member).value();
}

uint8_t u8(const JsonNodePtr &n, const char *member)
{
	return static_cast<uint8_t>(json::getInt(json_node_get_object(n.get()), member).value());
}

struct World {
	TempDir dir = std::move(TempDir::create("cvm-sim-flow-").value());
	std::string state = dir.file("platform");
	std::unique_ptr<test::DaemonProcess> daemon;

	World()
	{
		test::requireExecutable(sim::test::simExecutable());
		auto init = test::run({ sim::test::simExecutable(), "init", "--state-dir", state }, {}, {}, 120);
		INFO(init.err);
		REQUIRE(init.exitStatus == 0);
		REQUIRE(writeSecretFile(dir.file("owner.token"), asBytes(kToken)).ok());
		REQUIRE(writeSecretFile(dir.file("luks.key"), asBytes(kSecret)).ok());
		daemon = std::make_unique<test::DaemonProcess>(
			dir.path(), std::vector<std::string>{ "--insecure-listen", "127.0.0.1:0", "--db", dir.file("as.db"),
							      "--key-file", dir.file("as.key"), "--owner-token-file",
							      dir.file("owner.token"), "--test-roots", state + "/roots",
							      "--no-kds" });
	}

	void registerVm(const std::string &vm, const std::string &firmware)
	{
		auto r = test::run({ test::buildPath("server/cvm-owner"), "register", "--vm", vm, "--policy", "0x1",
				     "--firmware", firmware, "--secret", "luks-key:" + dir.file("luks.key"), "--server",
				     daemon->url(), "--token-file", dir.file("owner.token") },
				   {}, {}, 60);
		INFO(r.err);
		REQUIRE(r.exitStatus == 0);
	}

	std::unique_ptr<Client> host()
	{
		ClientOptions o;
		o.baseUrl = daemon->url();
		o.timeoutSeconds = 20;
		return std::move(Client::create(std::move(o)).value());
	}

	// What the host reads from its platform before a launch: a -S sim
	// without a guest answers query-sev-capabilities.
	LaunchRequest capabilities()
	{
		auto sim = SimProcess::withStateDir(dir, state, { "-S", "-nodefaults", "-display", "none" });
		auto c = sim->connect();
		REQUIRE(c.ok());
		auto caps = (*c)->execute("query-sev-capabilities");
		REQUIRE(caps.ok());
		LaunchRequest r;
		r.pdh = fromBase64(str(*caps, "pdh")).value();
		r.certChain = fromBase64(str(*caps, "cert-chain")).value();
		r.cpuId = fromBase64(str(*caps, "cpu0-id")).value();
		REQUIRE((*c)->execute("quit").ok());
		CHECK(sim->wait() == 0);
		return r;
	}

	// The guest, paused before it runs, started with the server's session
	// (files 0600 in a private directory, as libvirt hands them to QEMU).
	std::unique_ptr<SimProcess> startGuest(const TempDir &files, const LaunchResponse &l,
					       std::vector<std::string> extra = {})
	{
		std::string godh = files.file("godh.b64"), session = files.file("session.b64");
		REQUIRE(writeSecretFile(godh, asBytes(toBase64(l.ownerCert))).ok());
		REQUIRE(writeSecretFile(session, asBytes(toBase64(l.session))).ok());
		std::string obj = "sev-guest,id=sev0,policy=0x" + std::to_string(l.policy) +
				  ",cbitpos=51,reduced-phys-bits=1,dh-cert-file=" + godh + ",session-file=" + session;
		std::vector<std::string> args = { "-machine", "q35,confidential-guest-support=sev0", "-object", obj,
						  "-bios", st::kDebianOvmf, "-m", "512", "-nodefaults",
						  "-display", "none", "-S" };
		args.insert(args.end(), extra.begin(), extra.end());
		return SimProcess::withStateDir(files, state, args);
	}
};

// What the host reports to validate: LAUNCH_MEASURE and the platform/guest info.
ValidateRequest report(qmp::SyncClient &c)
{
	auto info = c.execute("query-sev");
	REQUIRE(info.ok());
	CHECK(str(*info, "state") == "launch-secret");
	auto m = c.execute("query-sev-launch-measure");
	REQUIRE(m.ok());
	ValidateRequest r;
	r.apiMajor = u8(*info, "api-major");
	r.apiMinor = u8(*info, "api-minor");
	r.buildId = u8(*info, "build-id");
	r.policy = static_cast<uint32_t>(json::getInt(json_node_get_object(info->get()), "policy").value());
	r.measurement = fromBase64(str(*m, "data")).value();
	return r;
}

Status inject(qmp::SyncClient &c, const ValidateResponse &v)
{
	json::ObjectBuilder b;
	b.setBase64("packet-header", v.secretHeader.view()).setBase64("secret", v.secretPayload.view());
	b.setInt("gpa", kSecretGpa);
	auto r = c.execute("sev-inject-launch-secret", b.object());
	if (!r)
		return r.error();
	return {};
}

} // namespace

TEST_CASE("register → launch → the simulator measures → validate → the guest holds the secret table")
{
	st::requireFile(st::kDebianOvmf);
	World w;
	w.registerVm("vm-sim", st::kDebianOvmf);
	auto host = w.host();
	auto launch = host->launch("vm-sim", w.capabilities());
	REQUIRE(launch.ok());
	CHECK(launch->policy == 1);

	auto files = TempDir::create("cvm-sim-flow-host-").value();
	auto guest = w.startGuest(files, *launch);
	auto qmp = guest->connect();
	INFO(guest->socket());
	REQUIRE(qmp.ok());
	qmp::SyncClient &c = **qmp;
	CHECK(str(c.execute("query-status").value(), "status") == "prelaunch");

	ValidateRequest measured = report(c);
	auto answer = host->validate("vm-sim", launch->launchId, measured);
	REQUIRE(answer.ok());
	REQUIRE(answer->hasSecret);
	REQUIRE(inject(c, *answer).ok());

	// The firmware decrypted exactly the table the owner's secrets make.
	std::vector<sev::SecretEntry> entries;
	entries.push_back({ luksKeyGuid(), SecureBuffer(asBytes(kSecret)) });
	SecureBuffer expected = sev::buildSecretTable(entries).value();
	json::ObjectBuilder at;
	at.setInt("gpa", kSecretGpa);
	auto got = c.execute("x-cvm-sim-guest-secret", at.object());
	REQUIRE(got.ok());
	Bytes table = fromBase64(str(*got, "data")).value();
	CHECK(table == Bytes(expected.view().begin(), expected.view().end()));

	REQUIRE(c.execute("cont").ok());
	CHECK(c.waitForEvent("RESUME", Ms(3000)).ok());
	CHECK(str(c.execute("query-status").value(), "status") == "running");
	CHECK(str(c.execute("query-sev").value(), "state") == "running");

	// Single use: the same report again is 409 and carries no secret.
	auto again = host->validate("vm-sim", launch->launchId, measured);
	REQUIRE_FALSE(again.ok());
	CHECK(httpStatusForCode(again.error().tag()) == 409);
	REQUIRE(c.execute("quit").ok());
	CHECK(guest->wait() == 0);
}

TEST_CASE("a measurement the owner did not register is 422 and the guest gets no secret")
{
	st::requireFile(st::kDebianOvmf);
	st::requireFile(st::kDebianOvmfCode);
	World w;
	std::vector<std::string> knobs;
	SECTION("the owner registered another firmware than the one the platform loads")
	{
		w.registerVm("vm-mismatch", st::kDebianOvmfCode);
	}
	SECTION("the platform reports a wrong MEASURE (the sim's fault knob)")
	{
		w.registerVm("vm-mismatch", st::kDebianOvmf);
		knobs = { "--fault", "wrong-measurement" };
	}
	auto host = w.host();
	auto launch = host->launch("vm-mismatch", w.capabilities());
	REQUIRE(launch.ok());
	auto files = TempDir::create("cvm-sim-flow-host-").value();
	auto guest = w.startGuest(files, *launch, knobs);
	auto qmp = guest->connect();
	REQUIRE(qmp.ok());
	auto refused = host->validate("vm-mismatch", launch->launchId, report(**qmp));
	REQUIRE_FALSE(refused.ok());
	CHECK(httpStatusForCode(refused.error().tag()) == 422);
	CHECK(refused.error().message().find("measurement") != std::string::npos);

	// Nothing was injected: the guest's secret area is empty.
	json::ObjectBuilder at;
	at.setInt("gpa", kSecretGpa);
	CHECK_FALSE((*qmp)->execute("x-cvm-sim-guest-secret", at.object()).ok());
	REQUIRE((*qmp)->execute("quit").ok());
	CHECK(guest->wait() == 0);
}
