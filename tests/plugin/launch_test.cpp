// SPDX-License-Identifier: Apache-2.0
//
// The launch state machine against fakes that record every call: the order of
// the steps, what flows from one to the next, and the rollback after a failure
// at each point (destroy before void, nothing left behind).
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>

#include "cvm/plugin/launch.h"

using namespace cvm;
using namespace cvm::plugin;

namespace {

struct Calls {
	std::vector<std::string> log;
	std::string failAt;  // the call that fails
	bool failDestroy = false;
	bool fails(const std::string &name)
	{
		log.push_back(name);
		return name == failAt;
	}
	Error error(const std::string &name) { return Error(ErrorCode::Io, name + " broke", "fake-" + name); }
};

class FakeBackend : public LaunchBackend
{
public:
	explicit FakeBackend(Calls &c) : c_(c) {}
	Result<PlatformCertificates> certificates() override
	{
		if (c_.fails("certificates"))
			return c_.error("certificates");
		return PlatformCertificates{ Bytes(2084, 1), Bytes(3 * 2084, 2), Bytes(64, 3), 51, 1 };
	}
	Status startPaused(const SevStartParameters &p) override
	{
		started = p;
		if (c_.fails("start"))
			return c_.error("start");
		return {};
	}
	Result<PlatformMeasurement> measure() override
	{
		if (c_.fails("measure"))
			return c_.error("measure");
		return PlatformMeasurement{ 1, 55, 21, 0x1, Bytes(48, 0x4d) };
	}
	Status injectSecret(const SecureBuffer &h, const SecureBuffer &p, std::optional<uint64_t> gpa) override
	{
		header = Bytes(h.view().begin(), h.view().end());
		payload = Bytes(p.view().begin(), p.view().end());
		address = gpa;
		if (c_.fails("inject"))
			return c_.error("inject");
		return {};
	}
	Status resume() override
	{
		if (c_.fails("resume"))
			return c_.error("resume");
		return {};
	}
	Status destroy() override
	{
		c_.log.push_back("destroy");
		if (c_.failDestroy)
			return c_.error("destroy");
		return {};
	}
	std::optional<SevStartParameters> started;
	Bytes header, payload;
	std::optional<uint64_t> address;

private:
	Calls &c_;
};

class FakeAs : public AttestationService
{
public:
	explicit FakeAs(Calls &c) : c_(c) {}
	Result<attest::LaunchResponse> launch(const attest::LaunchRequest &r) override
	{
		request = r;
		if (c_.fails("as-launch"))
			return Error(ErrorCode::Disconnected, "cannot reach http://as");
		return attest::LaunchResponse{ "L-1", Bytes(128, 0x5e), Bytes(2084, 0xdc), policy, 0 };
	}
	Result<attest::ValidateResponse> validate(std::string_view id, const attest::ValidateRequest &r) override
	{
		validated = r;
		validateId = std::string(id);
		if (c_.fails("validate"))
			return Error(ErrorCode::VerificationFailed, "the launch digest is not one the owner registered",
				     "measurement-mismatch");
		attest::ValidateResponse v;
		v.hasSecret = withSecret;
		if (withSecret) {
			v.secretHeader = SecureBuffer(Bytes(52, 0x11));
			v.secretPayload = SecureBuffer(Bytes(96, 0x22));
		}
		return v;
	}
	Status end(std::string_view id, std::string_view reason) override
	{
		c_.log.push_back("as-end");
		endId = std::string(id);
		endReason = std::string(reason);
		return {};
	}
	uint32_t policy = 0x1;
	bool withSecret = true;
	attest::LaunchRequest request;
	attest::ValidateRequest validated;
	std::string validateId, endId, endReason;

private:
	Calls &c_;
};

class FakeJournal : public LaunchJournal
{
public:
	explicit FakeJournal(Calls &c) : c_(c) {}
	Status recordPending(std::string_view id, ByteView session) override
	{
		pendingId = std::string(id);
		session_ = Bytes(session.begin(), session.end());
		if (c_.fails("journal-pending"))
			return Error(ErrorCode::Io, "state dir not writable");
		return {};
	}
	Status recordRunning(std::string_view) override
	{
		c_.log.push_back("journal-running");
		return {};
	}
	void clear() override { c_.log.push_back("journal-clear"); }
	std::string pendingId;
	Bytes session_;

private:
	Calls &c_;
};

struct Rig {
	Calls calls;
	FakeBackend backend{ calls };
	FakeAs as{ calls };
	FakeJournal journal{ calls };
	LaunchOutcome run(LaunchOptions options = {})
	{
		LaunchStateMachine m(backend, as, journal, options);
		long tick = 0;
		m.setClock([&tick] { return std::chrono::nanoseconds(tick += 1000); });
		return m.run();
	}
};

using Log = std::vector<std::string>;

} // namespace

TEST_CASE("a successful launch runs every step once, in order, and passes values along")
{
	Rig r;
	std::vector<std::string> heard;
	LaunchStateMachine m(r.backend, r.as, r.journal, { std::nullopt, true, 0x80f000 });
	m.setStepListener([&](const StepTiming &t, const Error *e) {
		heard.push_back(std::string(launchStepName(t.step)) + (e ? " failed" : " ok"));
	});
	auto out = m.run();
	REQUIRE(out.ok);
	CHECK(out.describe() == "attested launch OK");
	CHECK(r.calls.log == Log{ "certificates", "as-launch", "journal-pending", "start", "measure", "validate",
				  "inject", "resume", "journal-running" });
	CHECK(heard == std::vector<std::string>{ "certificates ok", "as-launch ok", "start ok", "measure ok",
						 "validate ok", "inject ok", "resume ok" });
	CHECK(out.launchId == "L-1");
	CHECK_FALSE(out.destroyed);
	CHECK_FALSE(out.voided);
	REQUIRE(out.steps.size() == kLaunchStepCount);

	// certificates → AS
	CHECK(r.as.request.pdh == Bytes(2084, 1));
	CHECK(r.as.request.certChain == Bytes(3 * 2084, 2));
	CHECK(r.as.request.cpuId == Bytes(64, 3));
	// AS + platform → the start; the journal holds the same session
	REQUIRE(r.backend.started);
	CHECK(r.backend.started->policy == 0x1);
	CHECK(r.backend.started->cbitpos == 51);
	CHECK(r.backend.started->reducedPhysBits == 1);
	CHECK(r.backend.started->session == Bytes(128, 0x5e));
	CHECK(r.backend.started->dhCert == Bytes(2084, 0xdc));
	CHECK(r.backend.started->kernelHashes == true);
	CHECK(r.journal.pendingId == "L-1");
	CHECK(r.journal.session_ == r.backend.started->session);
	// measurement → validate
	CHECK(r.as.validateId == "L-1");
	CHECK(r.as.validated.apiMajor == 1);
	CHECK(r.as.validated.apiMinor == 55);
	CHECK(r.as.validated.buildId == 21);
	CHECK(r.as.validated.measurement == Bytes(48, 0x4d));
	// secret → inject
	CHECK(r.backend.header == Bytes(52, 0x11));
	CHECK(r.backend.payload == Bytes(96, 0x22));
	CHECK(r.backend.address == 0x80f000u);
}

TEST_CASE("step timings come from the clock")
{
	Rig r;
	auto out = r.run();
	REQUIRE(out.ok);
	for (const auto &t : out.steps) {
		CHECK(t.ok);
		CHECK(t.duration == std::chrono::nanoseconds(1000));
	}
}

TEST_CASE("without a secret the inject step is skipped")
{
	Rig r;
	r.as.withSecret = false;
	auto out = r.run();
	REQUIRE(out.ok);
	CHECK(r.calls.log == Log{ "certificates", "as-launch", "journal-pending", "start", "measure", "validate",
				  "resume", "journal-running" });
	CHECK(out.steps.size() == kLaunchStepCount - 1);
}

TEST_CASE("rollback after a failure at each point")
{
	struct Case {
		std::string failAt;
		LaunchStep step;
		Log log;
		bool destroyed, voided;
	};
	const Case cases[] = {
		{ "certificates", LaunchStep::Certificates, { "certificates", "journal-clear" }, false, false },
		{ "as-launch", LaunchStep::AsLaunch, { "certificates", "as-launch", "journal-clear" }, false, false },
		{ "journal-pending", LaunchStep::Start,
		  { "certificates", "as-launch", "journal-pending", "as-end", "journal-clear" }, false, true },
		{ "start", LaunchStep::Start,
		  { "certificates", "as-launch", "journal-pending", "start", "destroy", "as-end", "journal-clear" },
		  true, true },
		{ "measure", LaunchStep::Measure,
		  { "certificates", "as-launch", "journal-pending", "start", "measure", "destroy", "as-end",
		    "journal-clear" },
		  true, true },
		{ "validate", LaunchStep::Validate,
		  { "certificates", "as-launch", "journal-pending", "start", "measure", "validate", "destroy", "as-end",
		    "journal-clear" },
		  true, true },
		{ "inject", LaunchStep::Inject,
		  { "certificates", "as-launch", "journal-pending", "start", "measure", "validate", "inject", "destroy",
		    "as-end", "journal-clear" },
		  true, true },
		{ "resume", LaunchStep::Resume,
		  { "certificates", "as-launch", "journal-pending", "start", "measure", "validate", "inject", "resume",
		    "destroy", "as-end", "journal-clear" },
		  true, true },
	};
	for (const auto &c : cases) {
		INFO("failing at " << c.failAt);
		Rig r;
		r.calls.failAt = c.failAt;
		auto out = r.run();
		CHECK_FALSE(out.ok);
		REQUIRE(out.failedStep);
		CHECK(*out.failedStep == c.step);
		CHECK(r.calls.log == c.log);
		CHECK(out.destroyed == c.destroyed);
		CHECK(out.voided == c.voided);
		CHECK(out.rollbackErrors.empty());
		REQUIRE(out.error);
		// The message names the step and the cause; the AS hears the same.
		std::string d = out.describe();
		CHECK(d.rfind(std::string(launchStepName(c.step)) + ": ", 0) == 0);
		if (c.voided) {
			CHECK(r.as.endId == "L-1");
			CHECK(r.as.endReason == d);
		}
		CHECK_FALSE(out.steps.back().ok);
	}
}

TEST_CASE("a refused measurement names the AS's verdict")
{
	Rig r;
	r.calls.failAt = "validate";
	auto out = r.run();
	CHECK(out.describe() ==
	      "validate: measurement-mismatch: the launch digest is not one the owner registered");
	CHECK(out.error->code() == ErrorCode::VerificationFailed);
}

TEST_CASE("the step is named once even when the cause names it too")
{
	Rig r;
	LaunchOutcome o;
	o.failedStep = LaunchStep::Validate;
	o.error = Error(ErrorCode::VerificationFailed, "validate: no digest matches (HTTP 422, measurement-mismatch)",
			"measurement-mismatch");
	CHECK(o.describe() == "validate: no digest matches (HTTP 422, measurement-mismatch)");
}

TEST_CASE("an AS policy other than the metadata's is refused before the start, and the launch voided")
{
	Rig r;
	r.as.policy = 0x0;
	auto out = r.run({ 0x1, std::nullopt, std::nullopt });
	CHECK_FALSE(out.ok);
	CHECK(*out.failedStep == LaunchStep::AsLaunch);
	CHECK(r.calls.log == Log{ "certificates", "as-launch", "as-end", "journal-clear" });
	CHECK(out.voided);
	CHECK(out.describe().find("policy 0x0") != std::string::npos);
	CHECK(out.describe().find("policy 0x1") != std::string::npos);
}

TEST_CASE("a failing destroy is reported, the launch still voided, the record kept for the cleanup")
{
	Rig r;
	r.calls.failAt = "measure";
	r.calls.failDestroy = true;
	auto out = r.run();
	CHECK_FALSE(out.destroyed);
	CHECK(out.voided);
	// The guest may still be there: its record stays for the next run / the hook.
	CHECK(out.recordKept);
	CHECK(r.calls.log == Log{ "certificates", "as-launch", "journal-pending", "start", "measure", "destroy", "as-end" });
	REQUIRE(out.rollbackErrors.size() == 1);
	CHECK(out.rollbackErrors[0].message().find("destroying the guest") != std::string::npos);
	CHECK(out.describe().rfind("measure: ", 0) == 0); // the cause stays the first failure
}

TEST_CASE("an interruption stops the launch before the next step and rolls back like any failure")
{
	for (std::string after : { "certificates", "as-launch", "start", "measure", "validate", "inject" }) {
		INFO("interrupted after " << after);
		Rig r;
		LaunchStateMachine m(r.backend, r.as, r.journal);
		m.setInterruptCheck([&]() -> std::optional<Error> {
			if (std::find(r.calls.log.begin(), r.calls.log.end(), after) == r.calls.log.end())
				return std::nullopt;
			return Error(ErrorCode::Cancelled, "interrupted by SIGTERM", "interrupted");
		});
		auto out = m.run();
		CHECK_FALSE(out.ok);
		REQUIRE(out.error);
		CHECK(out.error->code() == ErrorCode::Cancelled);
		CHECK(out.describe().find("interrupted by SIGTERM") != std::string::npos);
		// The step after `after` never ran; the rollback did.
		auto at = std::find(r.calls.log.begin(), r.calls.log.end(), after);
		REQUIRE(at != r.calls.log.end());
		bool started = after != "certificates" && after != "as-launch";
		Log rest(at + 1, r.calls.log.end());
		Log expected;
		if (started)
			expected.push_back("destroy");
		if (after != "certificates")
			expected.push_back("as-end");
		expected.push_back("journal-clear");
		CHECK(rest == expected);
		CHECK(out.destroyed == started);
		CHECK_FALSE(out.recordKept);
		CHECK_FALSE(out.steps.back().ok);
	}
}

TEST_CASE("no interruption, no effect")
{
	Rig r;
	LaunchStateMachine m(r.backend, r.as, r.journal);
	int asked = 0;
	m.setInterruptCheck([&]() -> std::optional<Error> {
		++asked;
		return std::nullopt;
	});
	auto out = m.run();
	CHECK(out.ok);
	CHECK(asked == kLaunchStepCount);
}
