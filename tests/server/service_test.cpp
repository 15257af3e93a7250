// SPDX-License-Identifier: Apache-2.0
//
// The service's launch state machine on a real SQLite store: end, expiry,
// single use and the audit trail, with time under the test's control.
// Launch records are created through the store as launch() leaves them
// (pending, TEK‖TIK sealed), so these paths are tested without a platform.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "cek_source.h"
#include "cvm/attest/errors.h"
#include "cvm/common/file.h"
#include "cvm/sev/kdf.h"
#include "cvm/sev/measurement.h"
#include "cvm/sev/secret.h"
#include "cvm/sev/session.h"
#include "launch_crypto.h"
#include "metrics.h"
#include "refusal_limiter.h"
#include "test_support.h"
#include "sealer.h"
#include "service.h"
#include "store_pool.h"

using namespace cvm;
using namespace cvm::attest;
using namespace cvm::server;

namespace {

// The pinned AMD roots of the shared fixtures (skips without them).
std::string amdRoots()
{
	test::requireFixtures();
	return test::fixture("amd-sev/roots");
}

struct Fixture {
	TempDir dir = std::move(TempDir::create().value());
	std::unique_ptr<StorePool> stores = std::move(StorePool::open(dir.file("as.db")).value());
	SecretSealer sealer = std::move(SecretSealer::fromKey(SecureBuffer::random(32).value()).value());
	Metrics metrics;
	CekSource cek{ { "", "", 1, false, "" }, &metrics };
	std::unique_ptr<LaunchCrypto> crypto =
		std::move(LaunchCrypto::create({ amdRoots(), "", 0 }, &cek, &metrics).value());
	std::atomic<int64_t> now{ 1000000 };
	AttestationService service{ ServiceOptions{ 600, 1000 }, *stores, sealer, *crypto, metrics,
				    [this] { return now.load(); } };

	Fixture()
	{
		Registration r;
		r.sev.policy = 1;
		r.sev.launchDigests = { Bytes(32, 1) };
		r.maxConcurrentLaunches = 5;
		REQUIRE(service.registerVm("vm", r).ok());
	}

	// A launch as launch() records it: pending, keys sealed to its id.
	std::string addPendingLaunch(int64_t expiresIn = 600, ByteView tekTik = {})
	{
		static int n = 0;
		LaunchRecord l;
		l.id = "launch-" + std::to_string(++n);
		l.vmId = "vm";
		l.state = launch_state::kPending;
		l.policy = 1;
		l.created = now;
		l.expiresAt = now + expiresIn;
		SecureBuffer keys = tekTik.empty() ? SecureBuffer::random(32).value() : SecureBuffer(tekTik);
		l.sealedKeys = sealer.seal(keys.view(), "cvm-attestd/launch-keys/" + l.id).value();
		auto store = std::move(stores->lease().value());
		REQUIRE(store->insertLaunch(l).ok());
		return l.id;
	}

	std::string state(const std::string &launchId)
	{
		auto store = std::move(stores->lease().value());
		return (*store->getLaunch("vm", launchId))->state;
	}

	ValidateRequest report() const
	{
		ValidateRequest r;
		r.policy = 1;
		r.measurement = Bytes(48, 0);
		return r;
	}

	size_t events(const std::string &event)
	{
		size_t n = 0;
		auto trail = service.auditTrail("vm");
		REQUIRE(trail.ok());
		for (const auto &e : trail->events)
			n += e.event == event;
		return n;
	}
};

} // namespace

TEST_CASE("a launch not validated in time expires: 410, and it stops counting")
{
	Fixture f;
	std::string id = f.addPendingLaunch(60);
	CHECK(f.service.getVm("vm")->activeLaunches == 1);
	f.now += 61;
	CHECK(f.service.getVm("vm")->activeLaunches == 0);
	auto r = f.service.validate("vm", id, f.report());
	REQUIRE_FALSE(r.ok());
	CHECK(r.error().tag() == code::kLaunchExpired);
	CHECK(f.state(id) == "expired");
	// Still 410 afterwards, and the keys are gone from the record.
	CHECK(f.service.validate("vm", id, f.report()).error().tag() == code::kLaunchExpired);
	auto store = std::move(f.stores->lease().value());
	CHECK((*store->getLaunch("vm", id))->sealedKeys.empty());
}

TEST_CASE("the sweep expires stale launches once, with an audit record each")
{
	Fixture f;
	std::string stale1 = f.addPendingLaunch(10), stale2 = f.addPendingLaunch(20), fresh = f.addPendingLaunch(600);
	f.now += 30;
	CHECK(*f.service.expireStale() == 2);
	CHECK(*f.service.expireStale() == 0);
	CHECK(f.state(stale1) == "expired");
	CHECK(f.state(stale2) == "expired");
	CHECK(f.state(fresh) == "pending");
	CHECK(f.events("expire") == 2);
}

TEST_CASE("end voids a pending launch; ending is idempotent and race-free")
{
	Fixture f;
	std::string id = f.addPendingLaunch();
	std::vector<std::thread> threads;
	std::atomic<int> ok{ 0 };
	for (int i = 0; i < 16; ++i)
		threads.emplace_back([&] {
			if (f.service.end("vm", id, EndRequest{ "test" }).ok())
				++ok;
		});
	for (auto &t : threads)
		t.join();
	CHECK(ok == 16);
	CHECK(f.state(id) == "ended");
	CHECK(f.events("end") == 1);
	auto r = f.service.validate("vm", id, f.report());
	REQUIRE_FALSE(r.ok());
	CHECK(r.error().tag() == code::kLaunchEnded);
	CHECK(f.service.end("vm", "no-such-launch", {}).error().tag() == code::kLaunchNotFound);
	CHECK(f.service.end("nobody", id, {}).error().tag() == code::kVmNotFound);
}

TEST_CASE("revoking a VM voids its unfinished launches")
{
	Fixture f;
	std::string a = f.addPendingLaunch(), b = f.addPendingLaunch();
	REQUIRE(f.service.deleteVm("vm").ok());
	CHECK(f.state(a) == "revoked");
	CHECK(f.state(b) == "revoked");
	CHECK(f.service.validate("vm", a, f.report()).error().tag() == code::kVmNotFound);
	auto trail = f.service.auditTrail("vm");
	REQUIRE(trail.ok());
	CHECK(trail->launches.size() == 2);
	CHECK(f.events("revoke") == 3);
}

TEST_CASE("launch refusals before any crypto: unknown VM, expired registration, bound reached")
{
	Fixture f;
	LaunchRequest req{ Bytes(2084, 1), Bytes(3 * 2084, 2), Bytes(64, 3) };
	CHECK(f.service.launch("nobody", req).error().tag() == code::kVmNotFound);

	Registration r;
	r.sev.policy = 1;
	r.sev.launchDigests = { Bytes(32, 1) };
	r.maxConcurrentLaunches = 2;
	r.expiresAt = f.now + 10;
	REQUIRE(f.service.registerVm("vm", r).ok());
	f.addPendingLaunch();
	f.addPendingLaunch();
	auto full = f.service.launch("vm", req);
	REQUIRE_FALSE(full.ok());
	CHECK(full.error().tag() == code::kLaunchLimitReached);
	f.now += 11;
	CHECK(f.service.launch("vm", req).error().tag() == code::kRegistrationExpired);

	// Each refusal is in the audit trail, with what the host sent.
	size_t refusals = 0;
	auto trail = f.service.auditTrail("vm");
	REQUIRE(trail.ok());
	for (const auto &e : trail->events)
		if (e.event == "launch") {
			++refusals;
			CHECK(e.result != "ok");
			CHECK(e.reported.find(toHex(Bytes(64, 3))) != std::string::npos);
		}
	CHECK(refusals == 2);
	CHECK(f.metrics.render().find("verdict=\"launch-limit-reached\"} 1") != std::string::npos);
}

TEST_CASE("validate: the real measurement releases a secret packet the platform opens; a wrong one burns the launch")
{
	Fixture f;
	Registration r;
	r.sev.policy = 1;
	Bytes ld(32, 0x77);
	r.sev.launchDigests = { Bytes(32, 1), ld };
	r.sev.minApi = ApiVersion{ 0, 17 };
	r.secrets.push_back(SecretEntry{ luksKeyGuid(), SecureBuffer(asBytes("the disk passphrase")) });
	r.maxConcurrentLaunches = 5;
	REQUIRE(f.service.registerVm("vm", r).ok());

	// The session as launch() creates it for this PDH; the platform opens it.
	EvpPkeyPtr pdhKey = sev::generateP384Key().value();
	VerifiedPlatform platform;
	platform.pdh = sev::makeGodhCertificate(pdhKey.get()).value();
	auto run = [&](ByteView measuredDigest) {
		LaunchSession session = std::move(f.crypto->startSession(platform, 1).value());
		auto keys = sev::openSessionWithGodhCert(pdhKey.get(), session.ownerCert, session.session, 1);
		REQUIRE(keys.ok());
		SecureBuffer tekTik(32);
		std::copy(session.tek.view().begin(), session.tek.view().end(), tekTik.data());
		std::copy(session.tik.view().begin(), session.tik.view().end(), tekTik.data() + 16);
		std::string id = f.addPendingLaunch(600, tekTik);
		sev::PlatformVersion version{ 0, 24, 15 };
		auto m = sev::measureLaunch(keys->tik, version, 1, measuredDigest).value();
		ValidateRequest report;
		report.apiMajor = 0;
		report.apiMinor = 24;
		report.buildId = 15;
		report.policy = 1;
		report.measurement = m.serialize();
		return std::make_tuple(id, std::move(*keys), report, m);
	};

	auto [id, keys, report, m] = run(ld);
	auto answer = f.service.validate("vm", id, report);
	REQUIRE(answer.ok());
	REQUIRE(answer->hasSecret);
	auto table = sev::openSecret(keys.tek, keys.tik, m.measure, answer->secretHeader, answer->secretPayload);
	REQUIRE(table.ok());
	auto entries = sev::parseSecretTable(*table);
	REQUIRE(entries.ok());
	REQUIRE(entries->size() == 1);
	CHECK(asString((*entries)[0].value.view()) == "the disk passphrase");
	CHECK(f.state(id) == "validated");
	CHECK(f.service.validate("vm", id, report).error().tag() == code::kLaunchAlreadyValidated);

	// A guest that is not the registered one: 422, recorded, and the launch is spent.
	auto [bad, badKeys, badReport, badM] = run(Bytes(32, 0x78));
	auto refused = f.service.validate("vm", bad, badReport);
	REQUIRE_FALSE(refused.ok());
	CHECK(refused.error().tag() == code::kMeasurementMismatch);
	CHECK(httpStatusForError(refused.error()) == 422);
	CHECK(f.state(bad) == "rejected");
	CHECK(f.service.validate("vm", bad, badReport).error().tag() == code::kLaunchAlreadyValidated);

	// Firmware facts are checked before the MAC.
	auto [old, oldKeys, oldReport, oldM] = run(ld);
	oldReport.apiMinor = 16;
	CHECK(f.service.validate("vm", old, oldReport).error().tag() == code::kApiVersionTooOld);
	auto trail = f.service.auditTrail("vm");
	REQUIRE(trail.ok());
	bool sawExpected = false;
	for (const auto &e : trail->events)
		if (e.launchId == bad && e.event == "validate") {
			CHECK(e.reported.find(toHex(ByteView(badM.measure))) != std::string::npos);
			CHECK(e.expected.find(toHex(ld)) != std::string::npos);
			sawExpected = true;
		}
	CHECK(sawExpected);
}

TEST_CASE("the refusal budget: a bucket per VM, refilled over time, left-out refusals reported")
{
	server::RefusalLimiter limiter(60); // one a second, bursts of 60
	int recorded = 0;
	for (int i = 0; i < 100; ++i)
		recorded += limiter.admit("vm", 1000).record;
	CHECK(recorded == 60);
	CHECK(limiter.admit("other", 1000).record); // another VM has its own budget
	// Two seconds later: two more, the first says what was left out.
	auto first = limiter.admit("vm", 3000);
	CHECK(first.record);
	CHECK(first.suppressedBefore == 40);
	auto second = limiter.admit("vm", 3000);
	CHECK(second.record);
	CHECK(second.suppressedBefore == 0);
	CHECK_FALSE(limiter.admit("vm", 3000).record);

	server::RefusalLimiter unlimited(0);
	for (int i = 0; i < 1000; ++i)
		CHECK(unlimited.admit("vm", 0).record);
}
