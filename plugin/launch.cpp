// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-plugin"

#include "cvm/plugin/launch.h"

#include <cstdio>

#include <glib.h>

namespace cvm::plugin {

namespace {

std::string hex32(uint32_t v)
{
	char buf[16];
	snprintf(buf, sizeof(buf), "0x%x", v);
	return buf;
}

Result<attest::LaunchResponse> checkPolicy(attest::LaunchResponse response, std::optional<uint32_t> expected)
{
	if (expected && response.policy != *expected)
		return Error(ErrorCode::VerificationFailed,
			     "the attestation server asked for guest policy " + hex32(response.policy) +
				     " but the domain's metadata expects policy " + hex32(*expected),
			     "policy-mismatch");
	return response;
}

} // namespace

namespace detail {

std::chrono::nanoseconds monotonicNow()
{
	return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch());
}

void rollBack(LaunchOutcome &out, bool started, const std::function<Status()> &destroy,
	      const std::function<Status(std::string_view, std::string_view)> &end, LaunchJournal &journal,
	      std::string_view guest)
{
	if (started) {
		if (auto st = destroy(); st.ok())
			out.destroyed = true;
		else
			out.rollbackErrors.push_back(st.error().withContext("destroying " + std::string(guest)));
	}
	if (!out.launchId.empty()) {
		if (auto st = end(out.launchId, out.describe()); st.ok())
			out.voided = true;
		else
			out.rollbackErrors.push_back(st.error().withContext("voiding the launch at the attestation server"));
	}
	// While the guest may still exist its record stays: the next run (or the
	// hook's release end, once libvirt stops it) still finds the launch.
	if (!started || out.destroyed)
		journal.clear();
	else
		out.recordKept = true;
	for (const auto &e : out.rollbackErrors)
		g_warning("rollback: %s", e.message().c_str());
}

} // namespace detail

std::string_view launchStepName(LaunchStep step)
{
	switch (step) {
	case LaunchStep::Certificates:
		return "certificates";
	case LaunchStep::AsLaunch:
		return "as-launch";
	case LaunchStep::Start:
		return "start";
	case LaunchStep::Measure:
		return "measure";
	case LaunchStep::Validate:
		return "validate";
	case LaunchStep::Inject:
		return "inject";
	case LaunchStep::Resume:
		return "resume";
	case LaunchStep::Platform:
		return "platform";
	}
	return "?";
}

std::string LaunchOutcome::describe() const
{
	if (ok)
		return "attested launch OK";
	std::string s = failedStep ? std::string(launchStepName(*failedStep)) : std::string("launch");
	if (error) {
		std::string message = error->message();
		// The AS client already names its request ("validate: …"): say it once.
		if (message.rfind(s + ": ", 0) == 0)
			message.erase(0, s.size() + 2);
		s += ": ";
		if (!error->tag().empty() && message.find(error->tag()) == std::string::npos)
			s += error->tag() + ": ";
		s += message;
	}
	return s;
}

LaunchStateMachine::LaunchStateMachine(LaunchBackend &backend, AttestationService &as, LaunchJournal &journal,
				       LaunchOptions options)
	: backend_(backend), as_(as), journal_(journal), options_(options), clock_(detail::monotonicNow)
{
}

template<typename F>
auto LaunchStateMachine::step(LaunchStep which, F &&body) -> decltype(body())
{
	return detail::runStep(*current_, which, clock_, listener_, interrupted_, std::forward<F>(body));
}

void LaunchStateMachine::rollBack(LaunchOutcome &out, bool started)
{
	detail::rollBack(
		out, started, [this] { return backend_.destroy(); },
		[this](std::string_view id, std::string_view reason) { return as_.end(id, reason); }, journal_,
		"the guest");
}

LaunchOutcome LaunchStateMachine::run()
{
	LaunchOutcome out;
	current_ = &out;
	bool started = false;
	auto failed = [&]() {
		rollBack(out, started);
		current_ = nullptr;
		return out;
	};

	auto certs = step(LaunchStep::Certificates, [&] { return backend_.certificates(); });
	if (!certs)
		return failed();

	auto launch = step(LaunchStep::AsLaunch, [&]() -> Result<attest::LaunchResponse> {
		auto r = as_.launch({ certs->pdh, certs->certChain, certs->cpuId });
		if (!r)
			return r;
		out.launchId = r->launchId;
		return checkPolicy(std::move(r).value(), options_.expectedPolicy);
	});
	if (!launch)
		return failed();

	auto start = step(LaunchStep::Start, [&]() -> Status {
		CVM_CHECK(journal_.recordPending(out.launchId, launch->session));
		started = true;
		SevStartParameters p{ launch->policy, certs->cbitpos, certs->reducedPhysBits,
				      launch->ownerCert, launch->session, options_.kernelHashes };
		return backend_.startPaused(p);
	});
	if (!start)
		return failed();

	auto measured = step(LaunchStep::Measure, [&] { return backend_.measure(); });
	if (!measured)
		return failed();

	auto secret = step(LaunchStep::Validate, [&] {
		return as_.validate(out.launchId, { measured->apiMajor, measured->apiMinor, measured->buildId,
						    measured->policy, measured->measurement });
	});
	if (!secret)
		return failed();

	// A registration without secrets validates without a packet: nothing to inject.
	if (secret->hasSecret) {
		auto injected = step(LaunchStep::Inject, [&] {
			return backend_.injectSecret(secret->secretHeader, secret->secretPayload, options_.secretAddress);
		});
		if (!injected)
			return failed();
	}

	auto resumed = step(LaunchStep::Resume, [&] { return backend_.resume(); });
	if (!resumed)
		return failed();

	if (auto st = journal_.recordRunning(out.launchId); !st)
		g_warning("the guest runs, but its launch record could not be updated (the hook will not report its "
			  "end): %s", st.error().message().c_str());
	out.ok = true;
	current_ = nullptr;
	return out;
}

} // namespace cvm::plugin
