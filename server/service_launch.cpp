// SPDX-License-Identifier: Apache-2.0
//
// Launch, validate, end and expiry.
#define G_LOG_DOMAIN "cvm-attestd"

#include <algorithm>
#include <cstring>

#include "cvm/attest/errors.h"
#include "cvm/common/json.h"
#include "launch_crypto.h"
#include "metrics.h"
#include "sealer.h"
#include "service.h"
#include "service_internal.h"
#include "store_pool.h"

namespace cvm::server {

using namespace attest;
using namespace detail;

namespace {

std::string platformJson(const VerifiedPlatform &p)
{
	json::ObjectBuilder b;
	if (!p.chipId.empty())
		b.setString("chip-id", p.chipId);
	b.setString("generation", p.generation);
	b.setHex("oca-sha256", p.ocaDigest);
	return b.serialize();
}

std::string requestJson(const LaunchRequest &r)
{
	json::ObjectBuilder b;
	if (r.cpuId)
		b.setHex("chip-id", *r.cpuId);
	b.setInt("pdh-bytes", static_cast<int64_t>(r.pdh.size()));
	b.setInt("cert-chain-bytes", static_cast<int64_t>(r.certChain.size()));
	return b.serialize();
}

std::string reportJson(const ValidateRequest &r)
{
	json::ObjectBuilder b;
	b.setInt("api-major", r.apiMajor);
	b.setInt("api-minor", r.apiMinor);
	b.setInt("build-id", r.buildId);
	b.setInt("policy", r.policy);
	// The measurement is an HMAC and the nonce is public: neither is key material.
	b.setHex("measurement", ByteView(r.measurement).first(32));
	b.setHex("mnonce", ByteView(r.measurement).subspan(32));
	return b.serialize();
}

// The checks of a report against the registration, in the order an admin
// would want them reported (cheap and specific first).
Status checkReport(const ValidateRequest &report, const SevReference &ref, uint32_t launchPolicy)
{
	if (report.policy != launchPolicy)
		return asError(code::kPolicyMismatch, "the platform reports policy " + std::to_string(report.policy) +
							      ", the launch was started with policy " +
							      std::to_string(launchPolicy));
	ApiVersion api{ report.apiMajor, report.apiMinor };
	if (api < ref.minApi)
		return asError(code::kApiVersionTooOld, "the platform firmware API " + api.toString() +
								 " is older than the registered minimum " +
								 ref.minApi.toString());
	if (!ref.buildIds.empty() &&
	    std::find(ref.buildIds.begin(), ref.buildIds.end(), report.buildId) == ref.buildIds.end())
		return asError(code::kBuildIdNotAllowed, "the platform firmware build " +
								  std::to_string(report.buildId) +
								  " is not among the allowed build ids");
	return {};
}

} // namespace

Result<SevReference> AttestationService::admitLaunch(const std::string &vmId, const LaunchRequest &request,
						     int64_t now)
{
	auto store = CVM_TRY(stores_.lease());
	auto vm = CVM_TRY(store->getVm(vmId));
	if (!vm)
		return asError(code::kVmNotFound, "no VM " + vmId + " is registered");
	SevReference ref = CVM_TRY(referenceOf(*vm)); // refuses intel-tdx registrations first
	std::optional<Error> refusal;
	if (vm->expiresAt && *vm->expiresAt <= now)
		refusal = asError(code::kRegistrationExpired,
				  "the registration of VM " + vmId + " expired at " + formatTime(*vm->expiresAt));
	else if (CVM_TRY(store->countActiveLaunches(vmId, now)) >= vm->maxLaunches)
		// Early refusal without spending the crypto; the binding check is
		// the one inside the write job of recordLaunch().
		refusal = asError(code::kLaunchLimitReached, "VM " + vmId + " already has its maximum of " +
								     std::to_string(vm->maxLaunches) +
								     " concurrent launch(es)");
	if (refusal) {
		metrics_.recordVerdict("launch", refusal->tag());
		CVM_CHECK(auditRefusal(vmId, "launch", *refusal, requestJson(request)));
		return *refusal;
	}
	return ref;
}

Result<VerifiedPlatform> AttestationService::verifyPlatform(const std::string &vmId, const LaunchRequest &request,
							    const SevReference &ref)
{
	auto platform = crypto_.verifyPlatform(request);
	if (platform && ref.ocaPin && !constantTimeEqual(platform->ocaDigest, *ref.ocaPin))
		platform = asError(code::kOcaMismatch,
				   "the platform's OCA certificate is not the one pinned for VM " + vmId);
	if (!platform) {
		Error e = std::move(platform).error();
		metrics_.recordVerdict("launch", asCodeForError(e));
		logEvent(G_LOG_LEVEL_MESSAGE, vmId, "", "launch", asCodeForError(e), "launch refused: " + e.message());
		CVM_CHECK(auditRefusal(vmId, "launch", e, requestJson(request)));
		return e;
	}
	return platform;
}

Status AttestationService::recordLaunch(const LaunchRecord &launch, const VerifiedPlatform &platform)
{
	std::optional<Error> refusal;
	std::string reported = platformJson(platform);
	CVM_CHECK(stores_.write([&](Store &store) -> Status {
		auto vm = CVM_TRY(store.getVm(launch.vmId));
		if (!vm)
			return asError(code::kVmNotFound, "VM " + launch.vmId + " was revoked during the launch");
		if (CVM_TRY(store.countActiveLaunches(launch.vmId, launch.created)) >= vm->maxLaunches) {
			refusal = asError(code::kLaunchLimitReached, "VM " + launch.vmId +
									     " already has its maximum of " +
									     std::to_string(vm->maxLaunches) +
									     " concurrent launch(es)");
			return {};
		}
		CVM_CHECK(store.insertLaunch(launch));
		AuditRecord audit{ 0, launch.created, launch.vmId, launch.id, "launch", "ok",
				   "session created; expires " + formatTime(launch.expiresAt), reported, "" };
		return store.appendAudit(audit);
	}));
	if (refusal) {
		metrics_.recordVerdict("launch", refusal->tag());
		CVM_CHECK(auditRefusal(launch.vmId, "launch", *refusal, reported));
		return *refusal;
	}
	return {};
}

Result<LaunchResponse> AttestationService::launch(const std::string &vmId, const LaunchRequest &request)
{
	int64_t now = clock_();
	SevReference ref = CVM_TRY(admitLaunch(vmId, request, now));
	VerifiedPlatform platform = CVM_TRY(verifyPlatform(vmId, request, ref));
	LaunchSession session = CVM_TRY(crypto_.startSession(platform, ref.policy));

	LaunchRecord launch;
	launch.id = newLaunchId();
	launch.vmId = vmId;
	launch.state = launch_state::kPending;
	launch.policy = ref.policy;
	launch.chipId = platform.chipId;
	launch.created = now;
	launch.expiresAt = now + options_.launchExpiry;
	SecureBuffer keys(session.tek.size() + session.tik.size());
	storeBytes(keys.span(), 0, session.tek.view());
	storeBytes(keys.span(), session.tek.size(), session.tik.view());
	launch.sealedKeys = CVM_TRY(sealer_.seal(keys.view(), keysContext(launch.id)));
	CVM_CHECK(recordLaunch(launch, platform));

	metrics_.recordVerdict("launch", "ok");
	logEvent(G_LOG_LEVEL_INFO, vmId, launch.id, "launch", "ok",
		 "launch started (chip " + (platform.chipId.empty() ? std::string("unknown") : platform.chipId) + ")");
	LaunchResponse response;
	response.launchId = launch.id;
	response.session = std::move(session.session);
	response.ownerCert = std::move(session.ownerCert);
	response.policy = launch.policy;
	response.expiresAt = launch.expiresAt;
	return response;
}

namespace {

// Why a launch in `state` cannot be validated (nothing when it is pending).
std::optional<Error> notPending(const LaunchRecord &launch)
{
	const std::string &state = launch.state;
	const std::string &id = launch.id;
	if (state == launch_state::kValidated || state == launch_state::kRejected)
		return asError(code::kLaunchAlreadyValidated,
			       "launch " + id + " was already validated (" + state + "); start a new launch");
	if (state == launch_state::kEnded || state == launch_state::kRevoked)
		return asError(code::kLaunchEnded,
			       "launch " + id + " has " + (state == launch_state::kEnded ? "ended" : "been revoked"));
	if (state == launch_state::kExpired)
		return asError(code::kLaunchExpired, "launch " + id + " expired at " + formatTime(launch.expiresAt));
	return std::nullopt;
}

} // namespace

Status AttestationService::finishPending(const LaunchRecord &launch, const char *to, std::optional<int64_t> finishedAt,
					 const AuditRecordText &text, int64_t now)
{
	std::optional<Error> lost;
	CVM_CHECK(stores_.write([&](Store &store) -> Status {
		auto moved = store.moveLaunch(launch.id, launch_state::kPending, to, finishedAt);
		if (!moved && moved.error().code() == ErrorCode::Conflict) {
			// Validated, ended, expired or revoked by a concurrent request.
			auto current = CVM_TRY(store.getLaunch(launch.vmId, launch.id));
			lost = current ? notPending(*current) : std::nullopt;
			if (!lost)
				lost = asError(code::kLaunchNotFound, "VM " + launch.vmId + " has no launch " + launch.id);
			return {};
		}
		CVM_CHECK(moved);
		AuditRecord audit{ 0, now, launch.vmId, launch.id, text.event, text.result, text.message, text.reported,
				   text.expected };
		return store.appendAudit(audit);
	}));
	if (lost)
		return *lost;
	return {};
}

Status AttestationService::checkPending(const LaunchRecord &launch, const ValidateRequest &report, int64_t now)
{
	if (auto refusal = notPending(launch))
		return *refusal;
	if (launch.expiresAt > now)
		return {};
	Error expired = asError(code::kLaunchExpired, "launch " + launch.id + " expired at " + formatTime(launch.expiresAt));
	// Recorded before answering.
	CVM_CHECK(finishPending(launch, launch_state::kExpired, now,
				{ "validate", expired.tag(), expired.message(), reportJson(report), "" }, now));
	metrics_.recordVerdict("validate", expired.tag());
	return expired;
}

Result<ValidateResponse> AttestationService::validate(const std::string &vmId, const std::string &launchId,
						      const ValidateRequest &report)
{
	int64_t now = clock_();
	std::optional<VmRecord> vm;
	std::optional<LaunchRecord> launch;
	{
		auto store = CVM_TRY(stores_.lease());
		vm = CVM_TRY(store->getVm(vmId));
		if (!vm)
			return asError(code::kVmNotFound, "no VM " + vmId + " is registered");
		launch = CVM_TRY(store->getLaunch(vmId, launchId));
		if (!launch)
			return asError(code::kLaunchNotFound, "VM " + vmId + " has no launch " + launchId);
	}
	CVM_CHECK(checkPending(*launch, report, now));

	// The verdict and the secret packet are computed outside the store; the
	// state change from `pending` is what makes the answer single use: if a
	// concurrent request moved the launch first, this answer is discarded.
	SevReference ref = CVM_TRY(referenceOf(*vm));
	SecureBuffer keys = CVM_TRY(sealer_.open(launch->sealedKeys, keysContext(launchId)));
	if (keys.size() != 32)
		return Error(ErrorCode::Internal, "stored keys of launch " + launchId + " are corrupt");
	ByteView tek = keys.view().first(16), tik = keys.view().subspan(16);

	Status verdict = judgeReport(report, ref, launch->policy, tik);
	if (!verdict && verdict.error().code() != ErrorCode::VerificationFailed)
		return std::move(verdict).error(); // not a verdict: a failure of ours
	if (!verdict) {
		Error e = std::move(verdict).error();
		CVM_CHECK(finishPending(*launch, launch_state::kRejected, now,
					{ "validate", e.tag(), e.message(), reportJson(report), expectedJson(ref, launch->policy) },
					now));
		metrics_.recordVerdict("validate", e.tag());
		logEvent(G_LOG_LEVEL_MESSAGE, vmId, launchId, "validate", e.tag(), "validation refused: " + e.message());
		return e;
	}

	ValidateResponse response = CVM_TRY(release(*vm, tek, tik, ByteView(report.measurement).first(32)));
	CVM_CHECK(finishPending(*launch, launch_state::kValidated, std::nullopt,
				{ "validate", "ok",
				  response.hasSecret ? "measurement verified; secret released" : "measurement verified",
				  reportJson(report), "" },
				now));
	metrics_.recordVerdict("validate", "ok");
	logEvent(G_LOG_LEVEL_INFO, vmId, launchId, "validate", "ok",
		 response.hasSecret ? "validated; secret released" : "validated");
	return response;
}

Status AttestationService::judgeReport(const ValidateRequest &report, const SevReference &ref, uint32_t policy,
				      ByteView tik)
{
	CVM_CHECK(checkReport(report, ref, policy));
	auto match = CVM_TRY(crypto_.matchMeasurement(tik, report, ref.launchDigests));
	if (!match)
		return asError(code::kMeasurementMismatch,
			       "the launch measurement matches none of the " + std::to_string(ref.launchDigests.size()) +
				       " registered launch digest(s): the guest's firmware, kernel, initrd, command "
				       "line or vCPU setup differ, or the platform is not genuine");
	return {};
}

Result<ValidateResponse> AttestationService::release(const VmRecord &vm, ByteView tek, ByteView tik,
						     ByteView measurement)
{
	ValidateResponse response;
	if (vm.sealedSecrets.empty())
		return response;
	SecureBuffer plain = CVM_TRY(sealer_.open(vm.sealedSecrets, secretsContext(vm.id)));
	auto secrets = CVM_TRY(decodeSecrets(plain.view()));
	SecretPacket packet = CVM_TRY(crypto_.buildSecret(tek, tik, measurement, secrets));
	response.hasSecret = true;
	response.secretHeader = std::move(packet.header);
	response.secretPayload = std::move(packet.payload);
	return response;
}

Status AttestationService::end(const std::string &vmId, const std::string &launchId, const EndRequest &request,
			       EndedBy by)
{
	int64_t now = clock_();
	std::string message;
	CVM_CHECK(stores_.write([&](Store &store) -> Status {
		auto launch = CVM_TRY(store.getLaunch(vmId, launchId));
		if (!launch) {
			if (!CVM_TRY(store.getVm(vmId)))
				return asError(code::kVmNotFound, "no VM " + vmId + " is registered");
			return asError(code::kLaunchNotFound, "VM " + vmId + " has no launch " + launchId);
		}
		if (launch->state != launch_state::kPending && launch->state != launch_state::kValidated)
			return {}; // already over: ending is idempotent
		CVM_CHECK(store.moveLaunch(launchId, launch->state.c_str(), launch_state::kEnded, now));
		message = launch->state == launch_state::kPending ? "launch voided before validation" : "instance ended";
		message += by == EndedBy::Owner ? " by the owner" : " by the host";
		if (!request.reason.empty())
			message += ": " + hostText(request.reason, 256);
		AuditRecord audit{ 0, now, vmId, launchId, "end", "ok", message, "", "" };
		return store.appendAudit(audit);
	}));
	if (!message.empty())
		logEvent(G_LOG_LEVEL_INFO, vmId, launchId, "end", "ok", message);
	return {};
}

Result<size_t> AttestationService::expireStale()
{
	size_t total = 0;
	for (;;) {
		int64_t now = clock_();
		size_t batch = 0;
		CVM_CHECK(stores_.write([&](Store &store) -> Status {
			auto stale = CVM_TRY(store.expiredPending(now, 100));
			for (const auto &l : stale) {
				CVM_CHECK(store.moveLaunch(l.id, launch_state::kPending, launch_state::kExpired, now));
				AuditRecord audit{ 0, now, l.vmId, l.id, "expire", std::string(code::kLaunchExpired),
						   "not validated before " + formatTime(l.expiresAt), "", "" };
				CVM_CHECK(store.appendAudit(audit));
			}
			batch = stale.size();
			return {};
		}));
		total += batch;
		if (batch < 100)
			break;
	}
	if (total) {
		metrics_.recordEvent("expired-launches", "swept");
		g_info("expired %zu stale launch(es)", total);
	}
	return total;
}

} // namespace cvm::server
