// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-plugin"

#include "cvm/plugin/tdx_launch.h"

#include <glib.h>

#include "cvm/common/json.h"

namespace cvm::plugin {

namespace {

constexpr std::string_view kHandoverFormat = "cvm-launch/tdx-launch/1";

} // namespace

std::string tdxHandoverJson(const TdxLaunchOptions &o, const attest::TdxLaunchResponse &launch)
{
	json::ObjectBuilder b;
	b.setString("format", kHandoverFormat)
		.setString("server", o.server)
		.setString("vm", o.vmId)
		.setString("launch-id", launch.launchId)
		.setBase64("nonce", launch.nonce)
		.setString("report-data", attest::kTdxReportDataBinding);
	if (launch.expiresAt)
		b.setString("expires", attest::formatTime(launch.expiresAt));
	return b.serialize();
}

Result<tdx::TdxGuestConfig> tdxGuestConfigFor(const TdxLaunchOptions &o, const attest::TdxLaunchResponse &launch)
{
	auto config = tdx::guestConfigFromLaunchValues(launch.launchConfig, o.objectId);
	if (!config)
		return Error(ErrorCode::VerificationFailed,
			     "the attestation server's launch configuration cannot be used: " + config.error().message(),
			     "config-unusable");
	config->quoteGenerationSocket = o.qgs;
	CVM_CHECK(tdx::validateTdxGuestConfig(*config));
	return config;
}

TdxLaunchStateMachine::TdxLaunchStateMachine(TdxLaunchBackend &backend, TdxAttestationService &as,
					     LaunchJournal &journal, TdxLaunchOptions options)
	: backend_(backend), as_(as), journal_(journal), options_(std::move(options)), clock_(detail::monotonicNow)
{
}

template<typename F>
auto TdxLaunchStateMachine::step(LaunchStep which, F &&body) -> decltype(body())
{
	return detail::runStep(*current_, which, clock_, listener_, interrupted_, std::forward<F>(body));
}

void TdxLaunchStateMachine::rollBack(bool started)
{
	detail::rollBack(
		*current_, started, [this] { return backend_.destroy(); },
		[this](std::string_view id, std::string_view reason) { return as_.end(id, reason); }, journal_,
		"the TD");
}

LaunchOutcome TdxLaunchStateMachine::run()
{
	LaunchOutcome out;
	current_ = &out;
	bool started = false;
	auto failed = [&]() {
		rollBack(started);
		current_ = nullptr;
		return out;
	};

	if (!step(LaunchStep::Platform, [&] { return backend_.checkTdxPlatform(); }))
		return failed();

	TdxStartParameters parameters;
	auto launched = step(LaunchStep::AsLaunch, [&]() -> Status {
		auto r = as_.tdxLaunch();
		if (!r)
			return std::move(r).error();
		out.launchId = r->launchId;
		parameters.config = CVM_TRY(tdxGuestConfigFor(options_, *r));
		parameters.handover = tdxHandoverJson(options_, *r);
		return {};
	});
	if (!launched)
		return failed();

	auto start = step(LaunchStep::Start, [&]() -> Status {
		CVM_CHECK(journal_.recordPending(out.launchId, asBytes(parameters.handover)));
		started = true;
		return backend_.startTd(parameters);
	});
	if (!start)
		return failed();

	if (!step(LaunchStep::Resume, [&] { return backend_.resume(); }))
		return failed();

	if (auto st = journal_.recordRunning(out.launchId); !st)
		g_warning("the TD runs, but its launch record could not be updated (the hook will not report its end): %s",
			  st.error().message().c_str());
	out.ok = true;
	current_ = nullptr;
	return out;
}

} // namespace cvm::plugin
