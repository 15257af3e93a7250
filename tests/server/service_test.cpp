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
#include "launch_crypto.h"
#include "metrics.h"
#include "sealer.h"
#include "service.h"
#include "store.h"

using namespace cvm;
using namespace cvm::attest;
using namespace cvm::server;

namespace {

struct Fixture {
	TempDir dir = std::move(TempDir::create().value());
	std::unique_ptr<StorePool> stores = std::move(StorePool::open(dir.file("as.db")).value());
	SecretSealer sealer = std::move(SecretSealer::fromKey(SecureBuffer::random(32).value()).value());
	Metrics metrics;
	CekSource cek{ { "", "", 1, false, "" }, &metrics };
	std::unique_ptr<LaunchCrypto> crypto =
		std::move(LaunchCrypto::create({ "", "", 0 }, &cek, &metrics).value());
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
	std::string addPendingLaunch(int64_t expiresIn = 600)
	{
		static int n = 0;
		LaunchRecord l;
		l.id = "launch-" + std::to_string(++n);
		l.vmId = "vm";
		l.state = launch_state::kPending;
		l.policy = 1;
		l.created = now;
		l.expiresAt = now + expiresIn;
		SecureBuffer keys = SecureBuffer::random(32).value();
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
