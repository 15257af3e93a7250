// SPDX-License-Identifier: Apache-2.0
//
// LibvirtBackend and LibvirtConnection against libvirt's in-process test
// driver (test:///default, no daemon): the rollback destroys the guest
// running this launch's session and never another; a libvirt error is an
// error, not "inactive"; a call past its deadline, or interrupted, is given
// up on and can be waited for afterwards. (The SEV calls themselves need
// libvirtd and the shim: libvirt_launch_test.cpp, libvirt_faults_test.cpp.)
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "cvm/plugin/libvirt_backend.h"

using namespace cvm;
using namespace cvm::plugin;
using namespace std::chrono_literals;

namespace {

const char *kUri = "test:///default";

// A domain defined in the test driver's shared state for the test.
struct TestDomain {
	VirConnectPtr conn = std::move(openLibvirt(kUri).value());
	std::string name = "cvmt-backend-" + std::to_string(getpid());
	std::string uuid = "6a0b2c3d-4e5f-4a1b-8c2d-00000000" + std::to_string(1000 + getpid() % 9000);
	std::string xml = "<domain type='test'><name>" + name + "</name><uuid>" + uuid +
			  "</uuid><memory>65536</memory><metadata><cvm:launch xmlns:cvm='https://cvm-launch.org/xmlns/1' "
			  "server='http://127.0.0.1:1'/></metadata><os><type>hvm</type></os></domain>";

	TestDomain()
	{
		VirDomainPtr d(virDomainDefineXML(conn.get(), xml.c_str()));
		REQUIRE(d);
	}
	~TestDomain()
	{
		if (VirDomainPtr d{ virDomainLookupByName(conn.get(), name.c_str()) }) {
			if (virDomainIsActive(d.get()) == 1)
				virDomainDestroy(d.get());
			virDomainUndefine(d.get());
		}
	}
	// What the domain's state is: VIR_DOMAIN_SHUTOFF, _PAUSED, ...
	int state()
	{
		VirDomainPtr d(virDomainLookupByName(conn.get(), name.c_str()));
		int s = -1, reason = 0;
		REQUIRE(d);
		REQUIRE(virDomainGetState(d.get(), &s, &reason, 0) == 0);
		return s;
	}
	// A guest with `session` in its <launchSecurity>, started behind the
	// backend's back (the test driver has no START_PAUSED: it runs).
	void startGuest(const Bytes &session)
	{
		auto doc = DomainXml::parse(xml);
		REQUIRE(doc.ok());
		REQUIRE(doc->setSevLaunchSecurity({ 1, 51, 1, Bytes(2084, 0xdc), session, std::nullopt }).ok());
		auto text = doc->serialize();
		REQUIRE(text.ok());
		VirDomainPtr d(virDomainCreateXML(conn.get(), text->c_str(), 0));
		INFO(virGetLastErrorMessage());
		REQUIRE(d);
	}
};

SevStartParameters parameters(const Bytes &session)
{
	return { 1, 51, 1, Bytes(2084, 0xdc), session, std::nullopt };
}

std::unique_ptr<LibvirtBackend> openBackend(const TestDomain &t)
{
	auto b = LibvirtBackend::open(kUri, t.name, 5s);
	INFO((b ? "" : b.error().message()));
	REQUIRE(b.ok());
	return std::move(b).value();
}

} // namespace

TEST_CASE("the rollback destroys the guest that runs this launch's session, and only that one")
{
	TestDomain t;
	auto backend = openBackend(t);
	CHECK(backend->xml().uuid() == t.uuid);
	t.startGuest(Bytes(128, 0x5e));
	CHECK(backend->isActive().valueOr(false));
	// Another session is not this launch's guest.
	REQUIRE(backend->destroyLaunch(Bytes(128, 0x77)).ok());
	CHECK(t.state() == VIR_DOMAIN_RUNNING);
	REQUIRE(backend->destroyLaunch(Bytes(128, 0x5e)).ok());
	CHECK(t.state() == VIR_DOMAIN_SHUTOFF);
	// Idempotent.
	CHECK(backend->destroyLaunch(Bytes(128, 0x5e)).ok());
	CHECK_FALSE(backend->isActive().valueOr(true));
}

TEST_CASE("a start that lost the race leaves the winner's guest alone")
{
	TestDomain t;
	t.startGuest(Bytes(128, 0x11));
	auto backend = openBackend(t);
	auto st = backend->startPaused(parameters(Bytes(128, 0x22)));
	REQUIRE_FALSE(st.ok());
	CHECK(st.error().code() == ErrorCode::Conflict);
	// The rollback after a failed start looks for this launch's guest: none.
	REQUIRE(backend->destroy().ok());
	CHECK(t.state() == VIR_DOMAIN_RUNNING);
	// The steps after a start that did not happen do not fall back to the domain.
	auto m = backend->measure();
	REQUIRE_FALSE(m.ok());
	CHECK(m.error().code() == ErrorCode::Internal);
	REQUIRE_FALSE(backend->resume().ok());
	CHECK(t.state() == VIR_DOMAIN_RUNNING);
}

TEST_CASE("a destroy before any start touches nothing")
{
	TestDomain t;
	t.startGuest(Bytes(128, 0x11));
	auto backend = openBackend(t);
	CHECK(backend->destroy().ok());
	CHECK(t.state() == VIR_DOMAIN_RUNNING);
}

TEST_CASE("a libvirt error is an error, not 'not running'")
{
	TestDomain t;
	auto backend = openBackend(t);
	VirDomainPtr d(virDomainLookupByName(t.conn.get(), t.name.c_str()));
	REQUIRE(virDomainUndefine(d.get()) == 0);
	auto active = backend->isActive();
	REQUIRE_FALSE(active.ok());
	CHECK(active.error().code() == ErrorCode::NotFound);
	// No such domain: no guest of this launch runs.
	CHECK(backend->destroyLaunch(Bytes(128, 0x5e)).ok());
}

TEST_CASE("a call past its deadline is given up on, and can be waited for")
{
	auto conn = LibvirtConnection::open(kUri, 300ms);
	REQUIRE(conn.ok());
	auto slow = [](virConnect *) -> Result<int> {
		std::this_thread::sleep_for(1500ms);
		return 7;
	};
	auto begin = std::chrono::steady_clock::now();
	auto r = (*conn)->call<int>("a slow call", slow, (*conn)->deadline(), false);
	auto took = std::chrono::steady_clock::now() - begin;
	REQUIRE_FALSE(r.ok());
	CHECK(r.error().code() == ErrorCode::Timeout);
	CHECK(r.error().message() == "a slow call: libvirt did not answer within 0.3 s (step-timeout)");
	CHECK(took < 1200ms);
	CHECK_FALSE((*conn)->settle(std::chrono::steady_clock::now() + 100ms));
	CHECK((*conn)->settle(std::chrono::steady_clock::now() + 5s));
	// A quick call returns its value.
	auto quick = (*conn)->call<int>("a quick call", [](virConnect *) -> Result<int> { return 3; }, (*conn)->deadline(),
					 false);
	REQUIRE(quick.ok());
	CHECK(*quick == 3);
}

TEST_CASE("an interruptible call ends at a signal; the rollback's calls do not")
{
	auto conn = LibvirtConnection::open(kUri, 5s);
	REQUIRE(conn.ok());
	(*conn)->setInterruptCheck([]() -> std::optional<Error> {
		return Error(ErrorCode::Cancelled, "interrupted by SIGTERM", "interrupted");
	});
	auto slow = [](virConnect *) -> Result<int> {
		std::this_thread::sleep_for(500ms);
		return 7;
	};
	auto begin = std::chrono::steady_clock::now();
	auto r = (*conn)->call<int>("measure", slow, (*conn)->deadline(), true);
	CHECK(std::chrono::steady_clock::now() - begin < 400ms);
	REQUIRE_FALSE(r.ok());
	CHECK(r.error().code() == ErrorCode::Cancelled);
	CHECK((*conn)->settle((*conn)->deadline()));
	auto rollback = (*conn)->call<int>("destroy", slow, (*conn)->deadline(), false);
	REQUIRE(rollback.ok());
	CHECK(*rollback == 7);
}
