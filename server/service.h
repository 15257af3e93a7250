// SPDX-License-Identifier: Apache-2.0
//
// The attestation server's logic, independent of HTTP: registrations, launches
// (fresh session each, bounded per VM), single-use validation, end, expiry and
// the audit trail. Every method is called on a worker thread and is safe to
// call concurrently. Reads and crypto run on the calling worker; the state
// changes are short write jobs committed in groups by the store's writer
// thread (store_pool.h), each guarded by the state it expects (a launch moves
// only from `pending`), so concurrent requests cannot both win.
//
// Errors carry an AS error code as their tag (see cvm/attest/errors.h); the
// front end turns them into HTTP statuses. Every launch attempt and every
// verdict leaves an audit record; audit records never hold key material.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "cvm/attest/protocol.h"
#include "cvm/common/error.h"
#include "refusal_limiter.h"

namespace cvm::server {

class LaunchCrypto;
class Metrics;
class SecretSealer;
class StorePool;
class Store;
struct VmRecord;
struct LaunchRecord;
struct VerifiedPlatform;

// The texts of an audit record (event, result, message, reported, expected).
struct AuditRecordText {
	std::string event;
	std::string result;
	std::string message;
	std::string reported;
	std::string expected;
};

struct ServiceOptions {
	unsigned launchExpiry = 600; // seconds
	unsigned auditLimit = 1000;
	unsigned refusalAuditsPerMinute = 60; // per VM; 0: every refusal is recorded
};

// Who ended a launch: the host (the VM stopped, the start failed) or the
// owner (freeing the slot of an instance the host never reported ended).
enum class EndedBy { Host, Owner };

// Seconds since the epoch; replaceable so tests can move time.
using Clock = std::function<int64_t()>;
int64_t systemClock();

class AttestationService
{
public:
	AttestationService(ServiceOptions options, StorePool &stores, const SecretSealer &sealer,
			   LaunchCrypto &crypto, Metrics &metrics, Clock clock = systemClock);

	struct Registered {
		attest::VmInfo info;
		bool created = false;
	};
	Result<Registered> registerVm(const std::string &vmId, const attest::Registration &registration);
	Result<attest::VmInfo> getVm(const std::string &vmId);
	// Revokes the registration: secrets are dropped, unfinished launches voided.
	Status deleteVm(const std::string &vmId);
	Result<attest::AuditTrail> auditTrail(const std::string &vmId);

	Result<attest::LaunchResponse> launch(const std::string &vmId, const attest::LaunchRequest &request);
	Result<attest::ValidateResponse> validate(const std::string &vmId, const std::string &launchId,
						  const attest::ValidateRequest &report);
	// Ends a launch (the VM stopped or the start failed). Idempotent.
	Status end(const std::string &vmId, const std::string &launchId, const attest::EndRequest &request,
		   EndedBy by = EndedBy::Host);
	// Moves pending launches past their expiry to "expired"; returns how many.
	Result<size_t> expireStale();

private:
	Result<attest::VmInfo> vmInfo(Store &store, const VmRecord &vm, int64_t now);
	// launch(): the early checks, the platform, then the binding insert.
	Result<attest::SevReference> admitLaunch(const std::string &vmId, const attest::LaunchRequest &request,
						 int64_t now);
	Result<VerifiedPlatform> verifyPlatform(const std::string &vmId, const attest::LaunchRequest &request,
						const attest::SevReference &ref);
	Status recordLaunch(const LaunchRecord &launch, const VerifiedPlatform &platform);
	// validate(): refuses a launch that is not pending (marking it expired
	// when its time has passed, in the store).
	Status checkPending(const LaunchRecord &launch, const attest::ValidateRequest &report, int64_t now);
	// The verdict on a report (VerificationFailed errors), or a failure of ours.
	Status judgeReport(const attest::ValidateRequest &report, const attest::SevReference &ref, uint32_t policy,
			   ByteView tik);
	// Moves a pending launch to `to` with its audit record, in one write
	// job. When someone else moved it first, the error for its new state.
	Status finishPending(const LaunchRecord &launch, const char *to, std::optional<int64_t> finishedAt,
			     const AuditRecordText &audit, int64_t now);
	// A launch attempt refused before a launch exists: recorded within the
	// per-VM refusal budget (refusal_limiter.h).
	Status auditRefusal(const std::string &vmId, const std::string &event, const Error &error,
			    const std::string &reported);
	Result<attest::ValidateResponse> release(const VmRecord &vm, ByteView tek, ByteView tik,
						 ByteView measurement);

	ServiceOptions options_;
	StorePool &stores_;
	const SecretSealer &sealer_;
	LaunchCrypto &crypto_;
	Metrics &metrics_;
	Clock clock_;
	RefusalLimiter refusals_;
};

// The sealed-at-rest form of a secret list (GUID || u32 length || bytes, ...).
SecureBuffer encodeSecrets(const std::vector<attest::SecretEntry> &secrets);
Result<std::vector<attest::SecretEntry>> decodeSecrets(ByteView encoded);

} // namespace cvm::server
