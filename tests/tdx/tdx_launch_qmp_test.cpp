// SPDX-License-Identifier: Apache-2.0
//
// `cvm-launch qemu --scheme intel-tdx` with the real cvm-attestd and
// cvm-owner as processes. No TDX hardware and no QEMU with tdx-guest exist
// here, so the emulator is a recording stand-in (fake_tdx_qemu.cpp) that
// serves QMP: the test asserts the exact argument vector the TD is started
// with, then plays the TD itself (hand-over from fw_cfg, a quote signed by a
// test PCK chain the AS is configured to trust) and opens the secret. The
// real QEMU 7.2 is used for what it can show: its refusal of a TD, reported
// clearly, with nothing left running and no launch wasted.
#include <catch2/catch.hpp>

#include <csignal>
#include <sys/wait.h>

#include "cvm/attest/http_transport.h"
#include "cvm/attest/protocol.h"
#include "cvm/attest/protocol_tdx.h"
#include "cvm/attest/tdx_secrets.h"
#include "cvm/common/digest.h"
#include "cvm/common/file.h"
#include "cvm/common/json.h"
#include "cvm/common/scope_exit.h"
#include "cvm/plugin/qmp_backend.h"
#include "daemon_process.h"
#include "tdx_test_support.h"
#include "test_support.h"

using namespace cvm;
using namespace cvm::test;
namespace tt = cvm::test::tdx;

namespace {

const std::string kQgs = "/var/run/tdx-qgs/qgs.socket";

cvm::tdx::Sha384Digest filled(uint8_t v)
{
	cvm::tdx::Sha384Digest d{};
	d.fill(v);
	return d;
}

std::vector<std::vector<std::string>> recordedRuns(const std::string &path)
{
	std::vector<std::vector<std::string>> runs;
	auto text = readTextFile(path);
	if (!text)
		return runs;
	size_t at = 0;
	while (at < text->size()) {
		size_t nl = text->find('\n', at);
		auto node = json::parse(text->substr(at, nl - at));
		REQUIRE(node.ok());
		std::vector<std::string> argv;
		JsonArray *a = json_node_get_array(node->get());
		for (guint i = 0; i < json_array_get_length(a); ++i)
			argv.emplace_back(json_array_get_string_element(a, i));
		runs.push_back(std::move(argv));
		at = nl == std::string::npos ? text->size() : nl + 1;
	}
	return runs;
}

struct TdRig {
	TempDir dir = std::move(TempDir::create("cvmt-tdx-qmp-").value());
	int64_t now = g_get_real_time() / G_USEC_PER_SEC;
	tt::TestPki pki = tt::makeTestPki({ now - 86400, now + 86400 });
	cvm::tdx::Quote sample = tt::sampleQuote(4);
	std::unique_ptr<DaemonProcess> as;
	std::string vm = "td-" + std::to_string(getpid());
	std::string luks = "td disk passphrase " + std::to_string(now);

	TdRig()
	{
		requireFixtures();
		REQUIRE(writeSecretFile(path("owner.token"), asBytes("tdx-qmp-owner-token-0123456789")).ok());
		REQUIRE(writeSecretFile(path("luks.key"), asBytes(luks)).ok());
		REQUIRE(writeFileAtomic(path("tdx-root.pem"), asBytes(pki.pem(pki.root.get()))).ok());
		REQUIRE(makeDirectories(path("tmp"), 0700).ok());
		as = std::make_unique<DaemonProcess>(
			dir.path(), std::vector<std::string>{ "--insecure-listen", "127.0.0.1:0", "--owner-token-file",
							      path("owner.token"), "--db", path("as.db"), "--key-file",
							      path("as.key"), "--amd-roots", fixture("amd-sev/roots"),
							      "--no-kds", "--tdx-root-ca", path("tdx-root.pem") });
	}
	std::string path(const std::string &name) const { return dir.file(name); }
	std::string needle() const { return "guest=" + dir.path() + "/td"; }

	CommandResult owner(std::vector<std::string> args)
	{
		args.insert(args.begin(), buildPath("server/cvm-owner"));
		args.insert(args.end(), { "--server", as->url(), "--token-file", path("owner.token") });
		return run(args, {}, {}, 60);
	}
	void registerTd(const std::string &attributes = "0x10000000")
	{
		auto r = owner({ "register", "--vm", vm, "--scheme", "intel-tdx", "--mrtd", toHex(sample.body.mrTd),
				 "--mrconfigid", toHex(filled(0xc1)), "--mrowner", toHex(filled(0x0a)), "--td-attributes",
				 attributes, "--secret", "luks-key:" + path("luks.key") });
		INFO(r.out << r.err);
		REQUIRE(r.exitStatus == 0);
	}
	attest::AuditTrail audit()
	{
		auto r = owner({ "audit", "--vm", vm, "--json" });
		REQUIRE(r.exitStatus == 0);
		return attest::parseAuditTrail(json_node_get_object(json::parseObject(r.out).value().get())).value();
	}
	CommandResult launch(const std::vector<std::string> &extra, const std::vector<std::string> &emulator,
			     const std::string &mode = "tdx")
	{
		std::vector<std::string> argv = { buildPath("plugin/cvm-launch"), "qemu", "--scheme", "intel-tdx",
						  "--server", as->url(), "--vm", vm };
		argv.insert(argv.end(), extra.begin(), extra.end());
		argv.push_back("--");
		argv.insert(argv.end(), emulator.begin(), emulator.end());
		return run(argv, {},
			   { "TMPDIR=" + path("tmp"), "CVM_LAUNCH_CONFIG=/dev/null",
			     "CVM_FAKE_QEMU_RECORD=" + path("argv.jsonl"), "CVM_FAKE_QEMU_MODE=" + mode },
			   120);
	}
	std::vector<std::string> fakeGuest() const
	{
		return { buildPath("tests/tdx/fake-tdx-qemu"), "-machine", "q35,smm=off", "-bios",
			 "/usr/share/ovmf/OVMF.fd", "-name", needle() };
	}
};

std::vector<int> processesMentioning(const std::string &needle)
{
	std::vector<int> found;
	if (GDir *d = g_dir_open("/proc", 0, nullptr)) {
		while (const char *e = g_dir_read_name(d)) {
			if (!g_ascii_isdigit(e[0]) || atoi(e) == getpid())
				continue;
			auto cmd = readFile(std::string("/proc/") + e + "/cmdline", 1 << 20);
			if (!cmd)
				continue;
			std::string s(cmd->begin(), cmd->end());
			for (char &c : s)
				c = c ? c : ' ';
			if (s.find(needle) != std::string::npos && s.find("timeout -k") == std::string::npos)
				found.push_back(atoi(e));
		}
		g_dir_close(d);
	}
	return found;
}

} // namespace

TEST_CASE("a TD over QMP: started with the AS's configuration, it fetches its own secret")
{
	TdRig rig;
	rig.registerTd();
	std::string sock = rig.path("td.qmp"), pidfile = rig.path("td.pid");
	auto r = rig.launch({ "--tdx-qgs", kQgs, "--detach", "--qmp-socket", sock, "--pidfile", pidfile, "--json" },
			    rig.fakeGuest());
	INFO(r.out << r.err);
	REQUIRE(r.exitStatus == 0);
	JsonNodePtr result = json::parseObject(r.out).value();
	JsonObject *o = json_node_get_object(result.get());
	CHECK(*json::getString(o, "verdict") == "ok");
	std::string launchId = *json::getString(o, "launch-id");
	std::vector<std::string> steps;
	JsonArray *a = json_object_get_array_member(o, "steps");
	for (guint i = 0; i < json_array_get_length(a); ++i)
		steps.push_back(json_object_get_string_member(json_array_get_object_element(a, i), "step"));
	CHECK(steps == std::vector<std::string>{ "platform", "as-launch", "start", "resume" });
	int guest = std::stoi(readTextFile(pidfile).value());
	// The detached TD outlives cvm-launch: gone even when a check below fails.
	ScopeExit killGuest([guest] { kill(guest, SIGKILL); });

	// Two runs: the probe (only the binary), then the TD.
	auto runs = recordedRuns(rig.path("argv.jsonl"));
	REQUIRE(runs.size() == 2);
	const auto &probe = runs[0];
	REQUIRE(probe.size() == 9);
	CHECK(std::vector<std::string>(probe.begin() + 1, probe.begin() + 8) ==
	      std::vector<std::string>{ "-S", "-machine", "none", "-nodefaults", "-display", "none", "-qmp" });
	CHECK_THAT(probe[8], Catch::EndsWith("/probe.sock,server=on,wait=off"));
	const auto &td = runs[1];
	REQUIRE(td.size() == 14);
	std::string workDir = td[13].substr(td[13].find(",file=") + 6);
	workDir = workDir.substr(0, workDir.rfind('/'));
	CHECK_THAT(workDir, Catch::StartsWith(rig.path("tmp") + "/cvm-launch-qemu-"));
	std::vector<std::string> expected = {
		buildPath("tests/tdx/fake-tdx-qemu"),
		"-machine",
		"q35,smm=off,confidential-guest-support=tdx0",
		"-bios",
		"/usr/share/ovmf/OVMF.fd",
		"-name",
		rig.needle(),
		"-object",
		"{\"qom-type\":\"tdx-guest\",\"id\":\"tdx0\",\"attributes\":268435456,\"mrconfigid\":\"" +
			toBase64(filled(0xc1)) + "\",\"mrowner\":\"" + toBase64(filled(0x0a)) +
			"\",\"quote-generation-socket\":{\"type\":\"unix\",\"path\":\"" + kQgs + "\"}}",
		"-S",
		"-qmp",
		"unix:" + sock + ",server=on,wait=off",
		"-fw_cfg",
		"name=opt/org.cvm-launch/tdx-launch,file=" + workDir + "/tdx-launch.json",
	};
	CHECK(td == expected);

	auto qmp = [&](const std::string &command, const std::string &args = {}) {
		std::vector<std::string> argv = { buildPath("plugin/cvm-launch"), "qmp", "--socket", sock, command };
		if (!args.empty())
			argv.push_back(args);
		return run(argv);
	};
	CHECK_THAT(qmp("query-status").out, Catch::Contains("\"running\""));

	// The TD: read the hand-over, bind a fresh key to the nonce, get quoted.
	auto item = qmp("x-fake-fw-cfg", "{\"name\": \"opt/org.cvm-launch/tdx-launch\"}");
	REQUIRE(item.exitStatus == 0);
	std::string handoverText = *json::getString(json_node_get_object(json::parseObject(item.out)->get()), "data");
	JsonNodePtr handover = json::parseObject(handoverText).value();
	JsonObject *h = json_node_get_object(handover.get());
	CHECK(*json::getString(h, "server") == rig.as->url());
	CHECK(*json::getString(h, "vm") == rig.vm);
	CHECK(*json::getString(h, "launch-id") == launchId);
	Bytes nonce = json::getBase64(h, "nonce").value();
	REQUIRE(nonce.size() == attest::kTdxNonceSize);
	CHECK_FALSE(fileExists(workDir + "/tdx-launch.json")); // read at start-up, then removed

	EvpPkeyPtr key(EVP_EC_gen("P-256"));
	Bytes point = attest::p256PointOf(key.get()).value();
	cvm::tdx::Quote q = rig.sample;
	q.body.tdAttributes = 0x10000000; // what the TDX module reports for the configuration above
	q.body.mrConfigId = filled(0xc1);
	q.body.mrOwner = filled(0x0a);
	Bytes rd = digest(DigestAlgorithm::Sha512, { nonce, point }).value();
	std::copy(rd.begin(), rd.end(), q.body.reportData.begin());
	attest::ClientOptions co;
	co.baseUrl = *json::getString(h, "server");
	co.timeoutSeconds = 10;
	auto transport = attest::HttpTransport::create(std::move(co)).value();
	std::string body = json::serialize(
		attest::tdxQuoteRequestToJson(attest::TdxQuoteRequest{ tt::signWith(rig.pki, q), point }).get());
	auto reply = transport.send("POST", "/v1/vm/" + rig.vm + "/launch/" + launchId + "/quote",
				    SecureBuffer(asBytes(body)));
	REQUIRE(reply.ok());
	INFO(asString(reply->body));
	REQUIRE(reply->status == 200);
	auto answer = attest::parseTdxQuoteResponse(json_node_get_object(json::parseObject(asString(reply->body))->get()));
	REQUIRE(answer.ok());
	REQUIRE(answer->hasSecret);
	SecureBuffer table = attest::unwrapTdxSecrets(key.get(), nonce, launchId, answer->secrets).value();
	CHECK(asString(table.view().subspan(20)) == rig.luks);

	// The host saw no secret.
	CHECK(r.out.find(rig.luks) == std::string::npos);
	CHECK(r.err.find(rig.luks) == std::string::npos);

	kill(guest, SIGKILL);
	killGuest.release();
	for (int i = 0; i < 100 && !processesMentioning(rig.needle()).empty(); ++i)
		g_usleep(20000);
	CHECK(processesMentioning(rig.needle()).empty());
}

TEST_CASE("a TD configuration QEMU would refuse is refused before anything starts, and the launch voided")
{
	TdRig rig;
	rig.registerTd("0x10000001"); // DEBUG
	auto r = rig.launch({ "--json" }, rig.fakeGuest());
	INFO(r.out << r.err);
	CHECK(r.exitStatus == 1);
	JsonNodePtr result = json::parseObject(r.out).value();
	JsonObject *o = json_node_get_object(result.get());
	CHECK(*json::getString(o, "failed-step") == "as-launch");
	CHECK(*json::getString(o, "error-code") == "config-unusable");
	CHECK_THAT(*json::getString(o, "message"), Catch::Contains("DEBUG"));
	CHECK(json_object_get_boolean_member(o, "voided"));
	CHECK(recordedRuns(rig.path("argv.jsonl")).size() == 1); // the probe only
	auto trail = rig.audit();
	REQUIRE(trail.launches.size() == 1);
	CHECK(trail.launches[0].state == "ended");
}

TEST_CASE("an emulator that cannot create the TD: the start fails, nothing runs, the launch is voided")
{
	TdRig rig;
	rig.registerTd();
	auto r = rig.launch({ "--log", rig.path("td.log") }, rig.fakeGuest(), "refuse-td");
	INFO(r.out << r.err);
	CHECK(r.exitStatus != 0);
	CHECK_THAT(r.err, Catch::Contains("launch failed at step start"));
	CHECK_THAT(r.err, Catch::Contains("KVM does not support TDX"));
	CHECK_THAT(r.err, Catch::Contains("launch voided at the attestation server"));
	CHECK(processesMentioning(rig.needle()).empty());
	auto trail = rig.audit();
	REQUIRE(trail.launches.size() == 1);
	CHECK(trail.launches[0].state == "ended");
}

TEST_CASE("an emulator without tdx-guest is refused at the platform step; no launch is issued")
{
	TdRig rig;
	rig.registerTd();
	auto r = rig.launch({}, rig.fakeGuest(), "no-tdx");
	INFO(r.out << r.err);
	CHECK(r.exitStatus == 1);
	CHECK_THAT(r.err, Catch::Contains("launch failed at step platform"));
	CHECK_THAT(r.err, Catch::Contains("(QEMU 10.1.0) has no tdx-guest object (its confidential-guest types: "
					  "sev-guest)"));
	CHECK(rig.audit().launches.empty());
}

TEST_CASE("the real QEMU 7.2 refuses a TD: said clearly, nothing left running, no launch wasted")
{
	std::string qemu = "/usr/bin/qemu-system-x86_64";
	requireExecutable(qemu);
	TdRig rig;
	rig.registerTd();
	auto r = rig.launch({}, { qemu, "-machine", "q35", "-accel", "tcg", "-display", "none", "-nodefaults", "-name",
				  rig.needle() });
	INFO(r.out << r.err);
	CHECK(r.exitStatus == 1);
	CHECK_THAT(r.err, Catch::Contains("launch failed at step platform: tdx-unsupported: " + qemu + " (QEMU 7.2"));
	CHECK_THAT(r.err, Catch::Contains("has no tdx-guest object (its confidential-guest types: sev-guest): a TD "
					  "needs QEMU 10.1 or later"));
	CHECK(rig.audit().launches.empty());
	CHECK(processesMentioning(rig.path("tmp")).empty());

	// Past the probe (the backend driven directly): QEMU 7.2 itself refuses
	// the tdx-guest object at start-up; its words reach the error, the
	// process is gone, the monitor socket too.
	plugin::QmpBackendOptions bo;
	bo.command = { qemu, "-machine", "q35", "-accel", "tcg", "-display", "none", "-nodefaults", "-name",
		       rig.needle() };
	bo.workDir = rig.path("tmp");
	bo.logFile = rig.path("qemu72.log");
	bo.stepTimeout = std::chrono::seconds(30);
	plugin::QmpBackend backend(bo);
	plugin::TdxStartParameters p;
	p.config.attributes = 0x10000000;
	p.handover = "{}";
	Status st = backend.startTd(p);
	REQUIRE_FALSE(st.ok());
	INFO(st.error().message());
	CHECK_THAT(st.error().message(), Catch::Contains("the emulator did not come up with the TD (it said: "
							 "\"qemu-system-x86_64: -object {\"qom-type\":\"tdx-guest\""));
	CHECK_THAT(st.error().message(), Catch::Contains("does not accept value 'tdx-guest'"));
	CHECK(backend.destroy().ok());
	CHECK(processesMentioning(rig.needle()).empty());
	CHECK_FALSE(fileExists(bo.workDir + "/qmp.sock"));
	CHECK_FALSE(fileExists(bo.workDir + "/tdx-launch.json"));
}
