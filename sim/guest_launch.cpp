// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-sim"

#include "cvm/sim/guest_launch.h"

#include <glib.h>

#include "cvm/sev/secret.h"
#include "cvm/sim/firmware_status.h"

namespace cvm::sim {

namespace {

// A refusal of sev/'s platform side, as the firmware status it maps to.
Error asFirmwareError(const Error &e, std::string_view command)
{
	return firmwareError(statusForSevTag(e.tag()), std::string(command) + ": " + e.message());
}

} // namespace

const char *sevStateName(SevState state)
{
	switch (state) {
	case SevState::Uninit: return "uninit";
	case SevState::LaunchUpdate: return "launch-update";
	case SevState::LaunchSecret: return "launch-secret";
	case SevState::Running: return "running";
	}
	return "uninit";
}

Result<std::unique_ptr<GuestLaunch>> GuestLaunch::start(const Platform &platform, const LaunchStartParams &params)
{
	const PlatformIdentity &id = platform.identity();
	if (Status s = sev::checkPolicy(params.policy, id.version.apiMajor, id.version.apiMinor); !s)
		return asFirmwareError(s.error(), "LAUNCH_START");
	// The firmware needs both: without a session there is no TEK/TIK to
	// unwrap (a real PSP would generate its own, which no owner could use).
	if (params.godhCert.empty() || params.session.empty())
		return firmwareError(FwStatus::InvalidParam,
				     "LAUNCH_START: the simulator needs a GODH certificate and a session "
				     "(dh-cert-file, session-file)");
	if (params.godhCert.size() != sev::kSevCertificateSize)
		return firmwareError(FwStatus::InvalidLength, "LAUNCH_START: the GODH certificate is " +
								     std::to_string(params.godhCert.size()) +
								     " bytes, not 2084");
	auto keys = sev::openSessionWithGodhCert(platform.pdhPrivateKey(), params.godhCert, params.session,
						 params.policy);
	if (!keys)
		return asFirmwareError(keys.error(), "LAUNCH_START");
	auto digest = sev::LaunchDigest::create();
	if (!digest)
		return digest.error();
	std::unique_ptr<GuestLaunch> launch(new GuestLaunch(std::move(digest).value()));
	launch->policy_ = params.policy;
	// The firmware picks the handle (ASID binding); QEMU reads it back.
	launch->handle_ = params.handle != 0 ? params.handle : 1;
	launch->version_ = id.version;
	launch->keys_ = std::move(keys).value();
	launch->state_ = SevState::LaunchUpdate;
	g_info("LAUNCH_START: policy 0x%x, handle %u", launch->policy_, launch->handle_);
	return launch;
}

Status GuestLaunch::requireState(SevState wanted, std::string_view command) const
{
	if (state_ == wanted)
		return {};
	return firmwareError(FwStatus::InvalidGuestState, std::string(command) + " in state " +
								  sevStateName(state_) + " (needs " +
								  sevStateName(wanted) + ")");
}

Status GuestLaunch::updateData(ByteView data)
{
	CVM_CHECK(requireState(SevState::LaunchUpdate, "LAUNCH_UPDATE_DATA"));
	if (data.empty() || data.size() % 16 != 0)
		return firmwareError(FwStatus::InvalidLength, "LAUNCH_UPDATE_DATA: " +
								      std::to_string(data.size()) +
								      " bytes is not a non-zero multiple of 16");
	return digest_->addData(data);
}

Status GuestLaunch::updateVmsa(ByteView vmsa)
{
	CVM_CHECK(requireState(SevState::LaunchUpdate, "LAUNCH_UPDATE_VMSA"));
	if (!sevEs())
		return firmwareError(FwStatus::PolicyFailure, "LAUNCH_UPDATE_VMSA: the guest policy is not SEV-ES");
	if (vmsa.size() != sev::kVmsaSize)
		return firmwareError(FwStatus::InvalidLength, "LAUNCH_UPDATE_VMSA: a VMSA is 4096 bytes, not " +
								      std::to_string(vmsa.size()));
	CVM_CHECK(digest_->addVmsa(vmsa));
	++vmsaCount_;
	return {};
}

Result<sev::LaunchMeasurement> GuestLaunch::measure()
{
	CVM_CHECK(requireState(SevState::LaunchUpdate, "LAUNCH_MEASURE"));
	if (sevEs() && vmsaCount_ == 0)
		return firmwareError(FwStatus::InvalidGuestState, "LAUNCH_MEASURE: an SEV-ES guest without VMSAs");
	if (corruptMeasurement_) {
		// As if the host had loaded something else: one more block is
		// measured, so the report is consistent but not what the owner expects.
		g_warning("fault knob: measuring an extra block (wrong launch measurement)");
		const uint8_t extra[16] = { 0x66 };
		CVM_CHECK(digest_->addData(ByteView(extra, sizeof(extra))));
	}
	sev::Digest256 ld = CVM_TRY(digest_->finish());
	digest_.reset();
	sev::LaunchMeasurement m = CVM_TRY(sev::measureLaunch(keys_.tik, version_, policy_, ld));
	launchDigest_ = ld;
	measurement_ = m;
	state_ = SevState::LaunchSecret;
	return m;
}

Status GuestLaunch::injectSecret(ByteView header, ByteView payload, uint64_t gpa)
{
	CVM_CHECK(requireState(SevState::LaunchSecret, "LAUNCH_SECRET"));
	if (gpa % 16 != 0)
		return firmwareError(FwStatus::InvalidAddress, "LAUNCH_SECRET: the guest address is not 16-byte aligned");
	if (payload.size() > kMaxLaunchSecret)
		return firmwareError(FwStatus::InvalidLength, "LAUNCH_SECRET: " + std::to_string(payload.size()) +
								      " bytes exceed the firmware's 0x5000");
	// The MAC covers the MEASURE the firmware computed and reported.
	auto plain = sev::openSecret(keys_.tek, keys_.tik, measurement_->measure, header, payload);
	if (!plain)
		return asFirmwareError(plain.error(), "LAUNCH_SECRET");
	guestMemory_[gpa] = std::move(plain).value();
	++secretsInjected_;
	g_info("LAUNCH_SECRET: %zu bytes at 0x%llx", payload.size(), static_cast<unsigned long long>(gpa));
	return {};
}

Status GuestLaunch::finish()
{
	CVM_CHECK(requireState(SevState::LaunchSecret, "LAUNCH_FINISH"));
	state_ = SevState::Running;
	// TEK/TIK are no longer needed by anyone outside the (absent) guest.
	keys_ = {};
	g_info("LAUNCH_FINISH");
	return {};
}

const SecureBuffer *GuestLaunch::guestMemory(uint64_t gpa) const
{
	auto it = guestMemory_.find(gpa);
	return it == guestMemory_.end() ? nullptr : &it->second;
}

} // namespace cvm::sim
