// SPDX-License-Identifier: Apache-2.0
//
// The attested SEV launch as one state machine, shared by the libvirt path
// (`cvm-launch start`) and the QMP path (`cvm-launch qemu`):
//
//   certificates → AS launch → paused start → measurement → validate → inject → resume
//
// Pure code: the platform (libvirt or a QEMU process), the attestation server
// and the pending-launch journal are interfaces, so ordering and rollback are
// unit-tested without I/O (tests/plugin/launch_test.cpp) and the same code runs
// against real libvirtd, QEMU/the simulator and cvm-attestd.
//
// Rollback: once the AS has issued a launch, every failure voids it (`end`);
// once the start was attempted, every failure destroys the guest first. A
// validated launch that fails to inject or resume is destroyed too: a guest
// never runs without its secret, and nothing stays paused. The launch record
// goes only once the guest is known to be gone: when the destroy fails (libvirtd
// unreachable) it stays, so the next `cvm-launch start` or the hook's
// `release end` finishes the cleanup.
//
// Interruption (interrupt.h): checked before every step; a step cut short by
// it fails with the interruption as its cause, and the rollback runs as for
// any other failure.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cvm/attest/protocol.h"
#include "cvm/common/bytes.h"
#include "cvm/common/error.h"
#include "cvm/common/secure_buffer.h"
#include "cvm/plugin/interrupt.h"

namespace cvm::plugin {

// Platform is the intel-tdx launch's first step (tdx_launch.h); an SEV launch
// runs the other seven.
enum class LaunchStep { Certificates, AsLaunch, Start, Measure, Validate, Inject, Resume, Platform };
inline constexpr int kLaunchStepCount = 7; // of an SEV launch
// "certificates", "as-launch", "start", "measure", "validate", "inject", "resume", "platform".
std::string_view launchStepName(LaunchStep step);

// What the platform reports about itself (virNodeGetSEVInfo / query-sev-capabilities).
struct PlatformCertificates {
	Bytes pdh;                    // 2084 bytes
	Bytes certChain;              // PEK || OCA || CEK
	std::optional<Bytes> cpuId;   // GET_ID, when the platform gives it
	uint32_t cbitpos = 0;
	uint32_t reducedPhysBits = 0;
};

// What the guest is started with: <launchSecurity> / -object sev-guest.
struct SevStartParameters {
	uint32_t policy = 0;
	uint32_t cbitpos = 0;
	uint32_t reducedPhysBits = 0;
	Bytes dhCert;
	Bytes session;
	std::optional<bool> kernelHashes;
};

// The launch measurement and platform state (GetLaunchSecurityInfo / query-sev).
struct PlatformMeasurement {
	uint8_t apiMajor = 0;
	uint8_t apiMinor = 0;
	uint8_t buildId = 0;
	uint32_t policy = 0;
	Bytes measurement;            // 48 bytes
};

// One platform: a libvirt domain or a QEMU process. Calls come in the order
// of LaunchStep; destroy() may come at any point after startPaused() was
// called (even when it failed) and must be idempotent. destroy() reports
// success only when no guest of this launch runs any more, and never touches
// a guest this launch did not start.
class LaunchBackend
{
public:
	virtual ~LaunchBackend() = default;
	virtual Result<PlatformCertificates> certificates() = 0;
	virtual Status startPaused(const SevStartParameters &parameters) = 0;
	virtual Result<PlatformMeasurement> measure() = 0;
	virtual Status injectSecret(const SecureBuffer &header, const SecureBuffer &payload,
				    std::optional<uint64_t> guestAddress) = 0;
	virtual Status resume() = 0;
	// Best effort: the error is reported, the rollback continues anyway.
	virtual Status destroy() = 0;
};

// The attestation server's host endpoints for one VM.
class AttestationService
{
public:
	virtual ~AttestationService() = default;
	virtual Result<attest::LaunchResponse> launch(const attest::LaunchRequest &request) = 0;
	virtual Result<attest::ValidateResponse> validate(std::string_view launchId,
							  const attest::ValidateRequest &request) = 0;
	virtual Status end(std::string_view launchId, std::string_view reason) = 0;
};

// Where the launch leaves traces for the hook: the pending-launch record is
// written before the paused start (the hook lets exactly that session start)
// and marked running after the resume (the hook's release end reports to the
// AS), or removed when the launch is rolled back.
class LaunchJournal
{
public:
	virtual ~LaunchJournal() = default;
	virtual Status recordPending(std::string_view launchId, ByteView session) = 0;
	virtual Status recordRunning(std::string_view launchId) = 0;
	virtual void clear() = 0;
};

struct LaunchOptions {
	std::optional<uint32_t> expectedPolicy;      // metadata policy=: a different AS answer is refused
	std::optional<bool> kernelHashes;
	std::optional<uint64_t> secretAddress;
};

struct StepTiming {
	LaunchStep step;
	std::chrono::nanoseconds duration{};
	bool ok = false;
};

struct LaunchOutcome {
	bool ok = false;
	std::optional<LaunchStep> failedStep;
	std::optional<Error> error;          // the cause (the first failure)
	std::string launchId;                // "" when the AS issued none
	std::vector<StepTiming> steps;       // in the order they ran
	bool destroyed = false;              // rollback destroyed the guest
	bool voided = false;                 // rollback told the AS the launch is void
	bool recordKept = false;             // the guest may still exist: its launch record stays
	std::vector<Error> rollbackErrors;   // what went wrong while rolling back

	// "validate: measurement-mismatch: ..." — names the step and the cause.
	std::string describe() const;
};

// Progress: called once a step has finished (ok or not).
using StepListener = std::function<void(const StepTiming &timing, const Error *error)>;
using Clock = std::function<std::chrono::nanoseconds()>;

// What the SEV and the TD state machines share (launch.cpp): running one
// step (the interruption check, its timing, the outcome's record of it, the
// listener) and the rollback rules described at the top of this file.
namespace detail {

std::chrono::nanoseconds monotonicNow();

template<typename F>
auto runStep(LaunchOutcome &out, LaunchStep which, const Clock &clock, const StepListener &listener,
	     const InterruptCheck &interrupted, F &&body) -> decltype(body())
{
	auto begin = clock();
	std::optional<Error> stop = interrupted ? interrupted() : std::nullopt;
	auto result = stop ? decltype(body())(std::move(*stop)) : body();
	StepTiming t{ which, clock() - begin, result.ok() };
	out.steps.push_back(t);
	if (!result.ok()) {
		out.failedStep = which;
		out.error = result.error();
	}
	if (listener)
		listener(t, result.ok() ? nullptr : &result.error());
	return result;
}

// `guest` names what destroy() destroys in messages ("the guest", "the TD").
void rollBack(LaunchOutcome &out, bool started, const std::function<Status()> &destroy,
	      const std::function<Status(std::string_view, std::string_view)> &end, LaunchJournal &journal,
	      std::string_view guest);

} // namespace detail

class LaunchStateMachine
{
public:
	LaunchStateMachine(LaunchBackend &backend, AttestationService &as, LaunchJournal &journal,
			   LaunchOptions options = {});
	void setStepListener(StepListener listener) { listener_ = std::move(listener); }
	void setClock(Clock clock) { clock_ = std::move(clock); }
	void setInterruptCheck(InterruptCheck check) { interrupted_ = std::move(check); }

	// Runs every step once; on failure rolls back before returning.
	LaunchOutcome run();

private:
	template<typename F>
	auto step(LaunchStep which, F &&body) -> decltype(body());
	void rollBack(LaunchOutcome &outcome, bool started);

	LaunchBackend &backend_;
	AttestationService &as_;
	LaunchJournal &journal_;
	LaunchOptions options_;
	StepListener listener_;
	Clock clock_;
	InterruptCheck interrupted_;
	LaunchOutcome *current_ = nullptr;
};

} // namespace cvm::plugin
