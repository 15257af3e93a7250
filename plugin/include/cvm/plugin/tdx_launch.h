// SPDX-License-Identifier: Apache-2.0
//
// The attested launch of a TD (scheme intel-tdx), shared by the libvirt path
// (`cvm-launch start` of a domain with scheme="intel-tdx") and the QMP path
// (`cvm-launch qemu --scheme intel-tdx`):
//
//   platform → AS launch → start (paused) → resume
//
//   platform   the emulator / libvirt can create a TD at all — checked before
//              the AS issues anything, so an unfit host wastes no launch
//   as-launch  POST /v1/vm/{id}/tdx/launch: launch id, nonce, and the launch
//              configuration the owner registered (TD attributes, MRCONFIGID,
//              MROWNER, MROWNERCONFIG)
//   start      the TD created paused with that configuration (tdx-guest /
//              <launchSecurity type='tdx'>, the host's QGS address) and the
//              hand-over item (fw_cfg, tdx::kFwCfgLaunchItem) that tells the TD
//              its launch; the pending record is written first (the hook lets
//              exactly that start through)
//   resume     the TD runs
//
// Unlike SEV there is nothing to measure or inject from the host: once
// running, the TD reads the hand-over item, asks TDG.MR.REPORT for
// report_data = SHA-512(nonce || its key), has it quoted by the QGS and posts
// the quote to the AS itself (POST …/launch/{id}/quote), which releases the
// secrets encrypted to the TD's key (docs/api.md "Intel TDX"). The host never
// sees a secret; a host that alters the configuration or the nonce only gets
// the quote refused.
//
// Rollback as for SEV (launch.h): after the AS issued a launch every failure
// voids it; after the start was attempted every failure destroys the TD first.
#pragma once

#include <optional>
#include <string>

#include "cvm/attest/protocol_tdx.h"
#include "cvm/plugin/launch.h"
#include "cvm/tdx/launch_config.h"

namespace cvm::plugin {

// What the TD is started with.
struct TdxStartParameters {
	tdx::TdxGuestConfig config;
	std::string handover; // JSON text of the fw_cfg item kFwCfgLaunchItem
};

// One platform: a QEMU process (QmpBackend) or a libvirt domain
// (LibvirtTdxBackend). destroy() may come at any point after startTd() was
// called (even when it failed) and must be idempotent.
class TdxLaunchBackend
{
public:
	virtual ~TdxLaunchBackend() = default;
	virtual Status checkTdxPlatform() = 0;
	virtual Status startTd(const TdxStartParameters &parameters) = 0;
	virtual Status resume() = 0;
	virtual Status destroy() = 0;
};

// The attestation server's host endpoints for one intel-tdx VM.
class TdxAttestationService
{
public:
	virtual ~TdxAttestationService() = default;
	virtual Result<attest::TdxLaunchResponse> tdxLaunch() = 0;
	virtual Status end(std::string_view launchId, std::string_view reason) = 0;
};

struct TdxLaunchOptions {
	std::string server;                               // the AS URL, for the hand-over
	std::string vmId;                                 // the VM id at the AS
	std::optional<tdx::SocketAddress> qgs;            // the host's QGS (setting tdx-qgs)
	std::string objectId = "tdx0";
};

// The hand-over document (format "cvm-launch/tdx-launch/1"): server, vm,
// launch-id, nonce (base64), report-data (the binding), expires. Public
// values only.
std::string tdxHandoverJson(const TdxLaunchOptions &options, const attest::TdxLaunchResponse &launch);

// The TD's configuration for a launch: the AS's launch configuration plus the
// host's QGS; refused (as-launch) when QEMU would refuse it.
Result<tdx::TdxGuestConfig> tdxGuestConfigFor(const TdxLaunchOptions &options,
					      const attest::TdxLaunchResponse &launch);

class TdxLaunchStateMachine
{
public:
	TdxLaunchStateMachine(TdxLaunchBackend &backend, TdxAttestationService &as, LaunchJournal &journal,
			      TdxLaunchOptions options);
	void setStepListener(StepListener listener) { listener_ = std::move(listener); }
	void setClock(Clock clock) { clock_ = std::move(clock); }
	void setInterruptCheck(InterruptCheck check) { interrupted_ = std::move(check); }

	// Runs every step once; on failure rolls back before returning.
	LaunchOutcome run();

private:
	template<typename F>
	auto step(LaunchStep which, F &&body) -> decltype(body());
	void rollBack(bool started);
	InterruptCheck interrupted_;

	TdxLaunchBackend &backend_;
	TdxAttestationService &as_;
	LaunchJournal &journal_;
	TdxLaunchOptions options_;
	StepListener listener_;
	Clock clock_;
	LaunchOutcome *current_ = nullptr;
};

} // namespace cvm::plugin
