// SPDX-License-Identifier: Apache-2.0
//
// GuestLaunch: the firmware's per-guest launch state machine, with the real
// cryptography (all of it from sev/):
//
//   LAUNCH_START        GODH certificate sanity check, ECDH with the PDH
//                       private key, WRAP_MAC, unwrap TEK/TIK, POLICY_MAC,
//                       policy checks                    uninit -> launch-update
//   LAUNCH_UPDATE_DATA  running SHA-256 of each buffer (length multiple of 16)
//   LAUNCH_UPDATE_VMSA  SEV-ES (policy bit 2) only, 4096-byte pages
//   LAUNCH_MEASURE      fresh MNONCE, HMAC with TIK   launch-update -> launch-secret
//   LAUNCH_SECRET       header checks, MAC with TIK, decrypt with TEK into
//                       guest memory; allowed any number of times in
//                       launch-secret, as the firmware's LSECRET state allows
//   LAUNCH_FINISH       launch-secret -> running (QEMU: at the first `cont`)
//
// Each refusal is an Error tagged with the firmware status (firmware_status.h).
// No I/O: callers hand in bytes.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string_view>

#include "cvm/common/bytes.h"
#include "cvm/common/error.h"
#include "cvm/common/secure_buffer.h"
#include "cvm/sev/launch_digest.h"
#include "cvm/sev/measurement.h"
#include "cvm/sev/session.h"
#include "cvm/sim/platform.h"

namespace cvm::sim {

// QEMU's SevState (qapi), in its numeric order (QEMU prints it with %x).
enum class SevState { Uninit = 0, LaunchUpdate = 1, LaunchSecret = 2, Running = 3 };
const char *sevStateName(SevState state);

struct LaunchStartParams {
	uint32_t policy = 0x1;
	uint32_t handle = 0;
	Bytes godhCert; // dh-cert-file, decoded
	Bytes session;  // session-file, decoded
};

// The largest LAUNCH_SECRET the firmware accepts (its scratch buffer).
inline constexpr size_t kMaxLaunchSecret = 0x5000;

class GuestLaunch
{
public:
	// LAUNCH_START. `platform` must outlive the launch. Refusals:
	// InvalidCertificate (GODH), InvalidLength (session not 128 bytes, GODH
	// not 2084), BadMeasurement (WRAP_MAC, POLICY_MAC), PolicyFailure
	// (reserved bits, API version above the platform's). The simulated
	// platform always supports SEV-ES, so an ES policy is never refused
	// here (on a host without SEV-ES, QEMU's sev_kvm_init refuses it before
	// LAUNCH_START, from PLATFORM_STATUS).
	static Result<std::unique_ptr<GuestLaunch>> start(const Platform &platform,
							  const LaunchStartParams &params);

	// LAUNCH_UPDATE_DATA (launch-update only; a multiple of 16 bytes).
	Status updateData(ByteView data);
	// LAUNCH_UPDATE_VMSA (launch-update, SEV-ES only; exactly 4096 bytes).
	Status updateVmsa(ByteView vmsa);
	// LAUNCH_MEASURE: launch-update -> launch-secret.
	Result<sev::LaunchMeasurement> measure();
	// LAUNCH_SECRET into guest memory at `gpa` (16-byte aligned).
	Status injectSecret(ByteView header, ByteView payload, uint64_t gpa);
	// LAUNCH_FINISH: launch-secret -> running.
	Status finish();

	SevState state() const { return state_; }
	uint32_t policy() const { return policy_; }
	uint32_t handle() const { return handle_; }
	bool sevEs() const { return sev::isSevEs(policy_); }
	unsigned vmsaCount() const { return vmsaCount_; }
	const sev::PlatformVersion &version() const { return version_; }
	// The measurement blob once measured.
	const std::optional<sev::LaunchMeasurement> &measurement() const { return measurement_; }
	// The launch digest the firmware computed (after measure()).
	const std::optional<sev::Digest256> &launchDigest() const { return launchDigest_; }

	// Test-only fault: LAUNCH_MEASURE first measures one extra 16-byte block,
	// as if the host had loaded a different image (a consistent launch the
	// guest owner must refuse).
	void setCorruptMeasurement(bool on) { corruptMeasurement_ = on; }

	// What the guest received at `gpa` by LAUNCH_SECRET (decrypted), or null.
	const SecureBuffer *guestMemory(uint64_t gpa) const;
	// How many LAUNCH_SECRETs were accepted.
	unsigned secretsInjected() const { return secretsInjected_; }

private:
	GuestLaunch(sev::LaunchDigest digest) : digest_(std::move(digest)) {}
	Status requireState(SevState wanted, std::string_view command) const;

	SevState state_ = SevState::Uninit;
	uint32_t policy_ = 0;
	uint32_t handle_ = 0;
	sev::PlatformVersion version_;
	sev::TransportKeys keys_;
	std::optional<sev::LaunchDigest> digest_;
	std::optional<sev::Digest256> launchDigest_;
	std::optional<sev::LaunchMeasurement> measurement_;
	std::map<uint64_t, SecureBuffer> guestMemory_;
	unsigned vmsaCount_ = 0;
	unsigned secretsInjected_ = 0;
	bool corruptMeasurement_ = false;
};

} // namespace cvm::sim
