// SPDX-License-Identifier: Apache-2.0
//
// The whole launch over real HTTP on loopback with a real SQLite file and a
// stand-in platform doing the firmware's math (TestPlatform): register →
// launch → the platform opens the session and measures → validate → the
// platform opens the secret packet and finds the registered table. Then the
// ways it must fail: tampered chain, wrong measurement, twice, too late, too
// many, and a server restart in the middle.
#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <regex>
#include <thread>

#include "cvm/attest/errors.h"
#include "cvm/common/digest.h"
#include "cvm/common/file.h"
#include "cvm/attest/http_transport.h"
#include "test_daemon.h"
#include "test_platform.h"
#include "test_support.h"

using namespace cvm;
using namespace cvm::attest;

namespace {

const std::string kPassphrase = "luks passphrase: correct horse battery staple";
const Bytes kDigest(32, 0x3c);

Registration registration(uint32_t maxLaunches = 2)
{
	Registration r;
	r.sev.policy = sev::policy::kNoDebug;
	r.sev.launchDigests = { Bytes(32, 0x01), kDigest };
	r.sev.minApi = ApiVersion{ 0, 17 };
	r.secrets.push_back(SecretEntry{ luksKeyGuid(), SecureBuffer(asBytes(kPassphrase)) });
	r.maxConcurrentLaunches = maxLaunches;
	return r;
}

struct Setup {
	test::DaemonFiles files = test::DaemonFiles::create();
	test::TestPlatform platform;
	std::atomic<int64_t> now{ 2000000000 };

	Setup()
	{
		platform.writeRoots(files.dir.file("test-roots"));
		files.config.testRoots = files.dir.file("test-roots");
	}
	server::Clock clock()
	{
		return [this] { return now.load(); };
	}
};

bool contains(const Bytes &haystack, ByteView needle)
{
	return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) != haystack.end();
}

Bytes databaseBytes(const server::ServerConfig &config)
{
	Bytes all;
	for (const char *suffix : { "", "-wal", "-shm" })
		if (fileExists(config.db + suffix))
			append(all, readFile(config.db + suffix).value());
	return all;
}

// Neither the secret nor TEK/TIK (raw, hex, base64) are in the database files.
void checkNoSecretsIn(const server::ServerConfig &config, const sev::TransportKeys &keys)
{
	Bytes db = databaseBytes(config);
	REQUIRE_FALSE(db.empty());
	for (ByteView secret : { asBytes(kPassphrase), keys.tek.view(), keys.tik.view() }) {
		CHECK_FALSE(contains(db, secret));
		CHECK_FALSE(contains(db, asBytes(toHex(secret))));
		CHECK_FALSE(contains(db, asBytes(toBase64(secret))));
	}
}

std::string metricsText(const test::InProcessDaemon &daemon)
{
	attest::ClientOptions o;
	o.baseUrl = daemon.url();
	auto t = std::move(attest::HttpTransport::create(std::move(o)).value());
	auto reply = t.send("GET", "/metrics", SecureBuffer());
	REQUIRE(reply.ok());
	return std::string(asString(reply->body));
}

} // namespace

TEST_CASE("register, launch, measure, validate: the platform decrypts the registered secret")
{
	test::requireFixtures();
	Setup s;
	test::InProcessDaemon daemon(s.files.config, s.clock());
	REQUIRE(daemon.ownerClient()->registerVm("vm", registration()).ok());
	auto host = daemon.hostClient();

	auto launch = host->launch("vm", s.platform.launchRequest());
	REQUIRE(launch.ok());
	CHECK(launch->policy == sev::policy::kNoDebug);
	// A random (version 4) UUID.
	CHECK(std::regex_match(launch->launchId,
			       std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")));
	auto keys = s.platform.open(*launch);
	REQUIRE(keys.ok());
	// While the launch is pending, TEK and TIK are in the database (sealed):
	// neither they nor the secret may be readable there.
	checkNoSecretsIn(s.files.config, *keys);
	auto report = s.platform.measure(*keys, launch->policy, kDigest);
	auto answer = host->validate("vm", launch->launchId, report);
	REQUIRE(answer.ok());
	REQUIRE(answer->hasSecret);
	auto entries = s.platform.openSecret(*keys, report, *answer);
	REQUIRE(entries.ok());
	REQUIRE(entries->size() == 1);
	CHECK((*entries)[0].guid == sev::secret_guid::luksKey());
	CHECK(asString((*entries)[0].value.view()) == kPassphrase);

	// Single use: 409, whatever is sent.
	auto again = host->validate("vm", launch->launchId, report);
	REQUIRE_FALSE(again.ok());
	CHECK(again.error().tag() == code::kLaunchAlreadyValidated);
	CHECK(httpStatusForCode(again.error().tag()) == 409);

	// Nor after the release.
	checkNoSecretsIn(s.files.config, *keys);
	auto trail = daemon.ownerClient()->auditTrail("vm");
	REQUIRE(trail.ok());
	REQUIRE(trail->launches.size() == 1);
	CHECK(trail->launches[0].state == "validated");
	CHECK(trail->launches[0].chipId == toHex(s.platform.chipId()));
}

TEST_CASE("a tampered or untrusted chain is 422 chain-invalid, and nothing is launched")
{
	test::requireFixtures();
	Setup s;
	test::InProcessDaemon daemon(s.files.config, s.clock());
	REQUIRE(daemon.ownerClient()->registerVm("vm", registration()).ok());
	auto host = daemon.hostClient();
	const size_t cert = sev::kSevCertificateSize;

	auto refused = [&](LaunchRequest r) {
		auto l = host->launch("vm", r);
		REQUIRE_FALSE(l.ok());
		return l.error();
	};
	struct Flip {
		const char *what;
		bool pdh;
		size_t offset;
	};
	for (Flip f : { Flip{ "PDH key", true, 0x20 }, Flip{ "PDH signature", true, 0x420 },
			Flip{ "PEK key", false, 0x20 }, Flip{ "PEK signature", false, 0x420 },
			Flip{ "OCA key", false, cert + 0x30 }, Flip{ "CEK key", false, 2 * cert + 0x20 },
			Flip{ "CEK signature", false, 2 * cert + 0x430 } }) {
		INFO(f.what);
		LaunchRequest r = s.platform.launchRequest();
		(f.pdh ? r.pdh : r.certChain)[f.offset] ^= 0x01;
		Error e = refused(r);
		CHECK(e.tag() == code::kChainInvalid);
		CHECK(httpStatusForCode(e.tag()) == 422);
	}
	// PEK and OCA swapped; a truncated chain.
	LaunchRequest swapped = s.platform.launchRequest();
	std::swap_ranges(swapped.certChain.begin(), swapped.certChain.begin() + cert, swapped.certChain.begin() + cert);
	CHECK(refused(swapped).tag() == code::kChainInvalid);
	LaunchRequest truncated = s.platform.launchRequest();
	truncated.certChain.resize(2 * cert);
	CHECK(refused(truncated).tag() == code::kChainInvalid);
	// Another platform's PDH with this chain.
	test::TestPlatform other;
	LaunchRequest mixed = s.platform.launchRequest();
	mixed.pdh = other.launchRequest().pdh;
	CHECK(refused(mixed).tag() == code::kChainInvalid);

	auto trail = daemon.ownerClient()->auditTrail("vm");
	REQUIRE(trail.ok());
	CHECK(trail->launches.empty());
	size_t audited = 0;
	for (const auto &e : trail->events)
		audited += e.event == "launch" && e.result == "chain-invalid";
	CHECK(audited == 10);
	// The good chain still works afterwards (nothing bad was cached).
	CHECK(host->launch("vm", s.platform.launchRequest()).ok());
}

TEST_CASE("a chain to roots the server does not trust is refused")
{
	test::requireFixtures();
	Setup s;
	s.files.config.testRoots.clear(); // only the pinned AMD roots
	test::InProcessDaemon daemon(s.files.config, s.clock());
	REQUIRE(daemon.ownerClient()->registerVm("vm", registration()).ok());
	auto l = daemon.hostClient()->launch("vm", s.platform.launchRequest());
	REQUIRE_FALSE(l.ok());
	CHECK(l.error().tag() == code::kChainInvalid);
}

TEST_CASE("validation refusals: measurement mismatch 422, policy, API version, build id, expiry 410")
{
	test::requireFixtures();
	Setup s;
	test::InProcessDaemon daemon(s.files.config, s.clock());
	REQUIRE(daemon.ownerClient()->registerVm("vm", registration(8)).ok());
	auto host = daemon.hostClient();
	auto start = [&] {
		auto l = host->launch("vm", s.platform.launchRequest());
		REQUIRE(l.ok());
		auto k = s.platform.open(*l);
		REQUIRE(k.ok());
		return std::make_pair(std::move(*l), std::move(*k));
	};

	auto [l1, k1] = start();
	auto wrong = host->validate("vm", l1.launchId, s.platform.measure(k1, l1.policy, Bytes(32, 0x3d)));
	REQUIRE_FALSE(wrong.ok());
	CHECK(wrong.error().tag() == code::kMeasurementMismatch);
	CHECK(httpStatusForCode(wrong.error().tag()) == 422);
	// Refused once, refused for good: the right measurement cannot follow.
	auto late = host->validate("vm", l1.launchId, s.platform.measure(k1, l1.policy, kDigest));
	CHECK(late.error().tag() == code::kLaunchAlreadyValidated);

	auto [l2, k2] = start();
	auto policy = s.platform.measure(k2, l2.policy | sev::policy::kNoKeySharing, kDigest);
	CHECK(host->validate("vm", l2.launchId, policy).error().tag() == code::kPolicyMismatch);

	auto [l3, k3] = start();
	s.platform.version.apiMinor = 16;
	CHECK(host->validate("vm", l3.launchId, s.platform.measure(k3, l3.policy, kDigest)).error().tag() ==
	      code::kApiVersionTooOld);
	s.platform.version.apiMinor = 24;

	// A firmware build the owner did not allow (the platform reports build 15).
	Registration builds = registration(8);
	builds.sev.buildIds = { 14, 16 };
	REQUIRE(daemon.ownerClient()->registerVm("builds", builds).ok());
	auto lb = host->launch("builds", s.platform.launchRequest());
	REQUIRE(lb.ok());
	auto kb = s.platform.open(*lb);
	REQUIRE(kb.ok());
	auto build = host->validate("builds", lb->launchId, s.platform.measure(*kb, lb->policy, kDigest));
	REQUIRE_FALSE(build.ok());
	CHECK(build.error().tag() == code::kBuildIdNotAllowed);
	CHECK(httpStatusForCode(build.error().tag()) == 422);
	CHECK(build.error().message().find("build 15") != std::string::npos);
	// An allowed build passes that check (and the rest of the verdict).
	s.platform.version.buildId = 16;
	auto lb2 = host->launch("builds", s.platform.launchRequest());
	REQUIRE(lb2.ok());
	auto kb2 = s.platform.open(*lb2);
	REQUIRE(kb2.ok());
	CHECK(host->validate("builds", lb2->launchId, s.platform.measure(*kb2, lb2->policy, kDigest)).ok());
	s.platform.version.buildId = 15;

	// Another launch's TIK does not prove this launch.
	auto [l4, k4] = start();
	auto [l5, k5] = start();
	CHECK(host->validate("vm", l4.launchId, s.platform.measure(k5, l4.policy, kDigest)).error().tag() ==
	      code::kMeasurementMismatch);
	CHECK(host->validate("vm", l5.launchId, s.platform.measure(k5, l5.policy, kDigest)).ok());

	auto [l6, k6] = start();
	s.now += 601;
	auto expired = host->validate("vm", l6.launchId, s.platform.measure(k6, l6.policy, kDigest));
	REQUIRE_FALSE(expired.ok());
	CHECK(expired.error().tag() == code::kLaunchExpired);
	CHECK(httpStatusForCode(expired.error().tag()) == 410);

	// What was reported and what was expected, for the owner; never keys.
	auto trail = daemon.ownerClient()->auditTrail("vm");
	REQUIRE(trail.ok());
	bool found = false;
	for (const auto &e : trail->events) {
		if (e.launchId == l1.launchId && e.event == "validate") {
			found = true;
			CHECK(e.result == "measurement-mismatch");
			CHECK(e.expected.find(toHex(kDigest)) != std::string::npos);
		}
		for (const auto *k : { &k1, &k2, &k3, &k4, &k5, &k6 }) {
			CHECK(e.reported.find(toHex(k->tik)) == std::string::npos);
			CHECK(e.reported.find(toHex(k->tek)) == std::string::npos);
		}
	}
	CHECK(found);
}

TEST_CASE("200 parallel launches against a bound of 10: exactly 10 succeed")
{
	test::requireFixtures();
	Setup s;
	// Enough workers that many launches pass the early (read-only) check
	// together and race for the binding one in the write job.
	s.files.config.workers = 32;
	s.files.config.refusalAudits = 0; // every refusal in the audit trail
	test::InProcessDaemon daemon(s.files.config, s.clock());
	REQUIRE(daemon.ownerClient()->registerVm("vm", registration(10)).ok());
	LaunchRequest request = s.platform.launchRequest();
	constexpr int kRequests = 200;
	std::atomic<int> ok{ 0 }, limited{ 0 }, other{ 0 }, inFlight{ 0 }, peak{ 0 };
	std::mutex m;
	std::condition_variable go;
	int ready = 0;
	bool started = false;
	std::vector<std::thread> threads;
	for (int t = 0; t < kRequests; ++t)
		threads.emplace_back([&] {
			auto host = daemon.hostClient(120);
			{
				// Every client is connected and waiting before any sends.
				std::unique_lock<std::mutex> lock(m);
				++ready;
				go.notify_all();
				go.wait(lock, [&] { return started; });
			}
			int now = ++inFlight;
			for (int p = peak; now > p && !peak.compare_exchange_weak(p, now);) {
			}
			auto l = host->launch("vm", request);
			--inFlight;
			if (l.ok())
				++ok;
			else if (l.error().tag() == code::kLaunchLimitReached)
				++limited;
			else
				++other;
		});
	{
		std::unique_lock<std::mutex> lock(m);
		go.wait(lock, [&] { return ready == kRequests; });
		started = true;
	}
	go.notify_all();
	for (auto &t : threads)
		t.join();
	CHECK(ok == 10);
	CHECK(limited == kRequests - 10);
	CHECK(other == 0);
	// The requests really were in flight together, not one after another.
	INFO("at most " << peak << " requests in flight");
	CHECK(peak >= kRequests / 2);
	CHECK(daemon.ownerClient()->getVm("vm")->activeLaunches == 10);
	// Launches that passed the early check but lost the race in the write
	// job are refused there (their audit names the verified platform).
	auto trail = daemon.ownerClient()->auditTrail("vm");
	REQUIRE(trail.ok());
	size_t early = 0, binding = 0;
	for (const auto &e : trail->events) {
		if (e.result != "launch-limit-reached")
			continue;
		(e.reported.find("generation") != std::string::npos ? binding : early) += 1;
	}
	INFO(early << " refused by the early check, " << binding << " by the binding one");
	CHECK(early + binding == kRequests - 10);
	CHECK(trail->launches.size() == 10);
}

TEST_CASE("the launch bound counts pending and running (validated) launches; ending one frees its slot")
{
	test::requireFixtures();
	Setup s;
	test::InProcessDaemon daemon(s.files.config, s.clock());
	REQUIRE(daemon.ownerClient()->registerVm("vm", registration(1)).ok());
	auto host = daemon.hostClient();
	auto l1 = host->launch("vm", s.platform.launchRequest());
	REQUIRE(l1.ok());
	auto full = host->launch("vm", s.platform.launchRequest());
	REQUIRE_FALSE(full.ok());
	CHECK(full.error().tag() == code::kLaunchLimitReached);
	CHECK(httpStatusForCode(full.error().tag()) == 409);
	REQUIRE(host->end("vm", l1->launchId, "start failed").ok());

	// A validated launch is a running instance: it keeps its slot.
	auto l2 = host->launch("vm", s.platform.launchRequest());
	REQUIRE(l2.ok());
	auto k2 = s.platform.open(*l2);
	REQUIRE(k2.ok());
	REQUIRE(host->validate("vm", l2->launchId, s.platform.measure(*k2, l2->policy, kDigest)).ok());
	CHECK(daemon.ownerClient()->getVm("vm")->activeLaunches == 1);
	CHECK(host->launch("vm", s.platform.launchRequest()).error().tag() == code::kLaunchLimitReached);

	// The host never reports that instance ended: the owner can end it.
	// The host token is not the owner's (the server has both configured).
	auto stranger = daemon.client("not-a-token");
	CHECK(stranger->end("vm", l2->launchId).error().tag() == code::kUnauthorized);
	REQUIRE(daemon.ownerClient()->end("vm", l2->launchId, "instance decommissioned").ok());
	CHECK(daemon.ownerClient()->getVm("vm")->activeLaunches == 0);
	CHECK(host->launch("vm", s.platform.launchRequest()).ok());
	auto trail = daemon.ownerClient()->auditTrail("vm");
	REQUIRE(trail.ok());
	bool ownerEnded = false;
	for (const auto &e : trail->events)
		ownerEnded |= e.event == "end" && e.launchId == l2->launchId &&
			      e.message == "instance ended by the owner: instance decommissioned";
	CHECK(ownerEnded);
}

TEST_CASE("a host-sent end reason reaches the audit trail escaped and bounded")
{
	test::requireFixtures();
	Setup s;
	test::InProcessDaemon daemon(s.files.config, s.clock());
	REQUIRE(daemon.ownerClient()->registerVm("vm", registration()).ok());
	auto host = daemon.hostClient();
	auto l = host->launch("vm", s.platform.launchRequest());
	REQUIRE(l.ok());
	// A forged second log line, a terminal escape sequence, a bidirectional
	// override and a backslash; then 300 more characters (the API takes up to 512).
	std::string reason = "stopped\nVM other: validated; secret released\x1b[2J\xe2\x80\xae\\" + std::string(300, 'x');
	REQUIRE(host->end("vm", l->launchId, reason).ok());
	auto trail = daemon.ownerClient()->auditTrail("vm");
	REQUIRE(trail.ok());
	std::string message;
	for (const auto &e : trail->events)
		if (e.event == "end")
			message = e.message;
	INFO(message);
	CHECK(message.rfind("launch voided before validation by the host: stopped\\u{a}VM other", 0) == 0);
	CHECK(message.find("\\u{1b}[2J\\u{202e}\\\\") != std::string::npos);
	for (char c : message)
		CHECK(static_cast<unsigned char>(c) >= 0x20);
	CHECK(message.find("\xe2\x80\xae") == std::string::npos);
	CHECK(message.size() < 350);
	CHECK(message.substr(message.size() - 3) == "...");
}

TEST_CASE("refused launch attempts are recorded within a per-VM budget; every one is counted")
{
	test::requireFixtures();
	Setup s;
	s.files.config.refusalAudits = 3;
	test::InProcessDaemon daemon(s.files.config, s.clock());
	REQUIRE(daemon.ownerClient()->registerVm("vm", registration()).ok());
	auto host = daemon.hostClient();
	LaunchRequest tampered = s.platform.launchRequest();
	tampered.pdh[0x420] ^= 1;
	for (int i = 0; i < 10; ++i)
		CHECK(host->launch("vm", tampered).error().tag() == code::kChainInvalid);
	auto trail = daemon.ownerClient()->auditTrail("vm");
	REQUIRE(trail.ok());
	size_t recorded = 0;
	for (const auto &e : trail->events)
		recorded += e.result == "chain-invalid";
	CHECK(recorded == 3);
	std::string metrics = metricsText(daemon);
	CHECK(metrics.find("cvm_attestd_events_total{event=\"refusal-audit\",result=\"suppressed\"} 7") !=
	      std::string::npos);
	CHECK(metrics.find("cvm_attestd_verdicts_total{stage=\"launch\",verdict=\"chain-invalid\"} 10") !=
	      std::string::npos);
	// Launches and their verdicts are never left out.
	CHECK(host->launch("vm", s.platform.launchRequest()).ok());
}

TEST_CASE("the chain cache does not depend on the host-sent cpu-id")
{
	test::requireFixtures();
	Setup s;
	test::InProcessDaemon daemon(s.files.config, s.clock());
	REQUIRE(daemon.ownerClient()->registerVm("vm", registration(8)).ok());
	auto host = daemon.hostClient();
	for (uint8_t b : { 0x11, 0x22, 0x33, 0x44 }) {
		LaunchRequest r = s.platform.launchRequest();
		r.cpuId = Bytes(64, b); // random-looking chip ids: one verification in all
		REQUIRE(host->launch("vm", r).ok());
	}
	std::string metrics = metricsText(daemon);
	CHECK(metrics.find("cvm_attestd_events_total{event=\"platform-chain\",result=\"verified\"} 1") !=
	      std::string::npos);
	CHECK(metrics.find("cvm_attestd_events_total{event=\"chain-cache\",result=\"hit\"} 3") != std::string::npos);
	// The platform's CEK is signed: the chip id stays what the host said.
	auto trail = daemon.ownerClient()->auditTrail("vm");
	REQUIRE(trail.ok());
	REQUIRE(trail->launches.size() == 4);
	CHECK(trail->launches[0].chipId == toHex(Bytes(64, 0x44))); // newest first
}

TEST_CASE("a clean restart between launch and validate: the launch still validates (in-process; the SIGKILL case is in process_flow_test)")
{
	test::requireFixtures();
	Setup s;
	LaunchResponse launch;
	{
		test::InProcessDaemon daemon(s.files.config, s.clock());
		REQUIRE(daemon.ownerClient()->registerVm("vm", registration()).ok());
		auto l = daemon.hostClient()->launch("vm", s.platform.launchRequest());
		REQUIRE(l.ok());
		launch = std::move(*l);
	}
	test::InProcessDaemon restarted(s.files.config, s.clock());
	auto keys = s.platform.open(launch);
	REQUIRE(keys.ok());
	auto report = s.platform.measure(*keys, launch.policy, kDigest);
	auto answer = restarted.hostClient()->validate("vm", launch.launchId, report);
	REQUIRE(answer.ok());
	auto entries = s.platform.openSecret(*keys, report, *answer);
	REQUIRE(entries.ok());
	CHECK(asString((*entries)[0].value.view()) == kPassphrase);
}

TEST_CASE("a per-VM OCA pin admits only the pinned platform owner: 422 oca-mismatch otherwise")
{
	test::requireFixtures();
	Setup s;
	test::InProcessDaemon daemon(s.files.config, s.clock());
	LaunchRequest request = s.platform.launchRequest();
	const size_t cert = sev::kSevCertificateSize;
	Bytes oca(request.certChain.begin() + cert, request.certChain.begin() + 2 * cert);

	Registration pinned = registration();
	pinned.sev.ocaPin = sha256(oca).value();
	REQUIRE(daemon.ownerClient()->registerVm("pinned", pinned).ok());
	CHECK(daemon.hostClient()->launch("pinned", request).ok());

	Registration other = registration();
	other.sev.ocaPin = Bytes(32, 0xee);
	REQUIRE(daemon.ownerClient()->registerVm("other", other).ok());
	auto l = daemon.hostClient()->launch("other", request);
	REQUIRE_FALSE(l.ok());
	CHECK(l.error().tag() == code::kOcaMismatch);
	CHECK(httpStatusForCode(l.error().tag()) == 422);
}

TEST_CASE("trust roots at start: a swapped pinned root refuses the start, test roots are taken as given")
{
	test::requireFixtures();
	Setup s;
	// The real AMD roots, with Naples' replaced by the stand-in's own.
	std::string amd = s.files.dir.file("amd");
	for (const char *gen : { "naples", "rome", "milan", "genoa", "turin" }) {
		REQUIRE(makeDirectories(amd + "/" + gen, 0755).ok());
		for (const char *f : { "ark.cert", "ask.cert" })
			REQUIRE(writeFileAtomic(amd + "/" + gen + "/" + f,
						readFile(test::fixture(std::string("amd-sev/roots/") + gen + "/" + f)).value(),
						0644)
					.ok());
	}
	for (const char *f : { "ark.cert", "ask.cert" })
		REQUIRE(writeFileAtomic(amd + "/naples/" + f, readFile(s.files.config.testRoots + "/test/" + f).value(), 0644)
				.ok());
	auto config = s.files.config;
	config.amdRoots = amd;
	config.testRoots.clear();
	auto swapped = test::tryStartDaemon(config);
	REQUIRE_FALSE(swapped.ok());
	CHECK(swapped.error().message().find("amd-roots") != std::string::npos);

	// No pinned directory at all: the test roots alone are enough; nothing at all is not.
	config.amdRoots = s.files.dir.file("no-such-dir");
	config.testRoots = s.files.config.testRoots;
	CHECK(test::tryStartDaemon(config).ok());
	config.testRoots.clear();
	CHECK_FALSE(test::tryStartDaemon(config).ok());
}
