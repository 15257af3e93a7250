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
#include "store.h"

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
		// the one inside the write transaction of recordLaunch().
		refusal = asError(code::kLaunchLimitReached, "VM " + vmId + " already has its maximum of " +
								     std::to_string(vm->maxLaunches) +
								     " concurrent launch(es)");
	if (refusal) {
		metrics_.recordVerdict("launch", refusal->tag());
		CVM_CHECK(auditRefusal(vmId, "", "launch", *refusal, requestJson(request), ""));
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
		CVM_CHECK(auditRefusal(vmId, "", "launch", e, requestJson(request), ""));
		return e;
	}
	return platform;
}

Status AttestationService::recordLaunch(const LaunchRecord &launch, const VerifiedPlatform &platform)
{
	auto store = CVM_TRY(stores_.lease());
	auto txn = CVM_TRY(store->beginWrite());
	auto vm = CVM_TRY(store->getVm(launch.vmId));
	if (!vm)
		return asError(code::kVmNotFound, "VM " + launch.vmId + " was revoked during the launch");
	if (CVM_TRY(store->countActiveLaunches(launch.vmId, launch.created)) >= vm->maxLaunches) {
		Error e = asError(code::kLaunchLimitReached, "VM " + launch.vmId + " already has its maximum of " +
								     std::to_string(vm->maxLaunches) +
								     " concurrent launch(es)");
		AuditRecord audit{ 0, launch.created, launch.vmId, "", "launch", e.tag(), e.message(),
				   platformJson(platform), "" };
		CVM_CHECK(store->appendAudit(audit));
		CVM_CHECK(txn.commit());
		metrics_.recordVerdict("launch", e.tag());
		return e;
	}
	CVM_CHECK(store->insertLaunch(launch));
	AuditRecord audit{ 0, launch.created, launch.vmId, launch.id, "launch", "ok",
			   "session created; expires " + formatTime(launch.expiresAt), platformJson(platform), "" };
	CVM_CHECK(store->appendAudit(audit));
	return txn.commit();
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

Status AttestationService::checkPending(Store &store, const LaunchRecord &launch, const ValidateRequest &report,
				       int64_t now)
{
	const std::string &state = launch.state;
	const std::string &id = launch.id;
	if (state == launch_state::kValidated || state == launch_state::kRejected)
		return asError(code::kLaunchAlreadyValidated,
			       "launch " + id + " was already validated (" + state + "); start a new launch");
	if (state == launch_state::kEnded || state == launch_state::kRevoked)
		return asError(code::kLaunchEnded,
			       "launch " + id + " has " + (state == launch_state::kEnded ? "ended" : "been revoked"));
	Error expired = asError(code::kLaunchExpired, "launch " + id + " expired at " + formatTime(launch.expiresAt));
	if (state == launch_state::kExpired)
		return expired;
	if (launch.expiresAt <= now) {
		// Recorded before answering, within the caller's transaction.
		CVM_CHECK(store.moveLaunch(id, launch_state::kPending, launch_state::kExpired, now));
		AuditRecord audit{ 0, now, launch.vmId, id, "validate", expired.tag(), expired.message(),
				   reportJson(report), "" };
		CVM_CHECK(store.appendAudit(audit));
		metrics_.recordVerdict("validate", expired.tag());
		return expired;
	}
	return {};
}

Result<ValidateResponse> AttestationService::validate(const std::string &vmId, const std::string &launchId,
						      const ValidateRequest &report)
{
	int64_t now = clock_();
	auto store = CVM_TRY(stores_.lease());
	// One write transaction from the state check to the state change: two
	// concurrent validations of one launch cannot both pass.
	auto txn = CVM_TRY(store->beginWrite());
	auto vm = CVM_TRY(store->getVm(vmId));
	if (!vm)
		return asError(code::kVmNotFound, "no VM " + vmId + " is registered");
	auto launch = CVM_TRY(store->getLaunch(vmId, launchId));
	if (!launch)
		return asError(code::kLaunchNotFound, "VM " + vmId + " has no launch " + launchId);
	if (auto s = checkPending(*store, *launch, report, now); !s) {
		if (s.error().tag() == code::kLaunchExpired && launch->state == launch_state::kPending)
			CVM_CHECK(txn.commit());
		return std::move(s).error();
	}

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
		CVM_CHECK(store->moveLaunch(launchId, launch_state::kPending, launch_state::kRejected, now));
		AuditRecord audit{ 0, now, vmId, launchId, "validate", e.tag(), e.message(), reportJson(report),
				   expectedJson(ref, launch->policy) };
		CVM_CHECK(store->appendAudit(audit));
		CVM_CHECK(txn.commit());
		metrics_.recordVerdict("validate", e.tag());
		logEvent(G_LOG_LEVEL_MESSAGE, vmId, launchId, "validate", e.tag(), "validation refused: " + e.message());
		return e;
	}

	ValidateResponse response =
		CVM_TRY(release(launchId, *vm, tek, tik, ByteView(report.measurement).first(32)));
	CVM_CHECK(store->moveLaunch(launchId, launch_state::kPending, launch_state::kValidated, std::nullopt));
	AuditRecord audit{ 0, now, vmId, launchId, "validate", "ok",
			   response.hasSecret ? "measurement verified; secret released" : "measurement verified",
			   reportJson(report), "" };
	CVM_CHECK(store->appendAudit(audit));
	CVM_CHECK(txn.commit());
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

Result<ValidateResponse> AttestationService::release(const std::string &, const VmRecord &vm, ByteView tek,
						     ByteView tik, ByteView measurement)
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

Status AttestationService::end(const std::string &vmId, const std::string &launchId, const EndRequest &request)
{
	int64_t now = clock_();
	auto store = CVM_TRY(stores_.lease());
	auto txn = CVM_TRY(store->beginWrite());
	auto launch = CVM_TRY(store->getLaunch(vmId, launchId));
	if (!launch) {
		if (!CVM_TRY(store->getVm(vmId)))
			return asError(code::kVmNotFound, "no VM " + vmId + " is registered");
		return asError(code::kLaunchNotFound, "VM " + vmId + " has no launch " + launchId);
	}
	if (launch->state != launch_state::kPending && launch->state != launch_state::kValidated)
		return {}; // already over: ending is idempotent
	CVM_CHECK(store->moveLaunch(launchId, launch->state.c_str(), launch_state::kEnded, now));
	std::string message = launch->state == launch_state::kPending ? "launch voided before validation"
								       : "instance ended";
	if (!request.reason.empty())
		message += ": " + request.reason;
	AuditRecord audit{ 0, now, vmId, launchId, "end", "ok", message, "", "" };
	CVM_CHECK(store->appendAudit(audit));
	CVM_CHECK(txn.commit());
	logEvent(G_LOG_LEVEL_INFO, vmId, launchId, "end", "ok", message);
	return {};
}

Result<size_t> AttestationService::expireStale()
{
	size_t total = 0;
	for (;;) {
		int64_t now = clock_();
		auto store = CVM_TRY(stores_.lease());
		auto txn = CVM_TRY(store->beginWrite());
		auto stale = CVM_TRY(store->expiredPending(now, 100));
		for (const auto &l : stale) {
			CVM_CHECK(store->moveLaunch(l.id, launch_state::kPending, launch_state::kExpired, now));
			AuditRecord audit{ 0, now, l.vmId, l.id, "expire", std::string(code::kLaunchExpired),
					   "not validated before " + formatTime(l.expiresAt), "", "" };
			CVM_CHECK(store->appendAudit(audit));
		}
		CVM_CHECK(txn.commit());
		total += stale.size();
		if (stale.size() < 100)
			break;
	}
	if (total) {
		metrics_.recordEvent("expired-launches", "swept");
		g_info("expired %zu stale launch(es)", total);
	}
	return total;
}

} // namespace cvm::server
