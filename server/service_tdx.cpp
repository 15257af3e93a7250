// SPDX-License-Identifier: Apache-2.0
//
// intel-tdx launches: nonce and launch configuration, quote appraisal,
// release of the wrapped secrets.
#define G_LOG_DOMAIN "cvm-attestd"

#include "service_tdx.h"

#include "cvm/attest/errors.h"
#include "cvm/attest/tdx_secrets.h"
#include "cvm/common/json.h"
#include "cvm/tdx/appraisal.h"
#include "cvm/tdx/launch_config.h"
#include "metrics.h"
#include "sealer.h"
#include "service_internal.h"
#include "store_pool.h"

namespace cvm::server {

using namespace attest;
using namespace detail;

namespace {

// What the TD's quote says, for the audit trail (measurements are public).
std::string reportedJson(const tdx::Quote &q)
{
	json::ObjectBuilder b;
	b.setHex("mrtd", q.body.mrTd);
	for (size_t i = 0; i < 4; ++i)
		b.setHex("rtmr" + std::to_string(i), q.body.rtmr[i]);
	b.setHex("mrconfigid", q.body.mrConfigId);
	b.setString("td-attributes", tdx::tdAttributesText(q.body.tdAttributes));
	b.setHex("report-data", q.body.reportData);
	return b.serialize();
}

std::string expectedJson(const tdx::ReferenceValues &ref)
{
	JsonNodePtr node = tdx::referenceValuesToJson(ref);
	return json::serialize(node.get());
}

// The AS code of a failed appraisal: quote checks are "quote-invalid", value
// checks carry their own code.
Error appraisalError(const tdx::Appraisal &a)
{
	Error e = a.status().error();
	if (!a.verification.ok())
		return asError(code::kQuoteInvalid, "the TD quote does not verify: " + e.message());
	return asError(e.tag(), e.message());
}

Status checkVm(const std::optional<VmRecord> &vm, const std::string &vmId, int64_t now)
{
	if (!vm)
		return asError(code::kVmNotFound, "no VM " + vmId + " is registered");
	if (vm->scheme != schemeName(Scheme::IntelTdx))
		return asError(code::kUnsupportedScheme, "VM " + vmId + " is registered with scheme " + vm->scheme +
								 ", not intel-tdx: use POST /v1/vm/" + vmId + "/launch");
	if (vm->expiresAt && *vm->expiresAt <= now)
		return asError(code::kRegistrationExpired,
			       "the registration of VM " + vmId + " expired at " + formatTime(*vm->expiresAt));
	return {};
}

// A launch that can still take a quote.
Status checkPendingTdx(const LaunchRecord &launch, int64_t now)
{
	const std::string &s = launch.state;
	if (s == launch_state::kValidated || s == launch_state::kRejected)
		return asError(code::kLaunchAlreadyValidated,
			       "launch " + launch.id + " was already validated (" + s + "); start a new launch");
	if (s == launch_state::kEnded || s == launch_state::kRevoked)
		return asError(code::kLaunchEnded, "launch " + launch.id + " has " +
							   (s == launch_state::kEnded ? "ended" : "been revoked"));
	if (s == launch_state::kExpired || launch.expiresAt <= now)
		return asError(code::kLaunchExpired,
			       "launch " + launch.id + " expired at " + formatTime(launch.expiresAt));
	return {};
}

} // namespace

namespace detail {

Result<tdx::ReferenceValues> tdxReferenceOf(const VmRecord &vm)
{
	auto node = json::parseObject(vm.reference);
	if (!node)
		return Error(ErrorCode::Internal, "stored reference values of " + vm.id + " are corrupt");
	return tdx::referenceValuesFromJson(json_node_get_object(node->get()));
}

} // namespace detail

TdxService::TdxService(TdxServiceOptions options, StorePool &stores, const SecretSealer &sealer, Metrics &metrics,
		       Clock clock)
	: options_(std::move(options)), stores_(stores), sealer_(sealer), metrics_(metrics), clock_(std::move(clock))
{
}

Result<TdxLaunchResponse> TdxService::launch(const std::string &vmId)
{
	int64_t now = clock_();
	SecureBuffer nonce = CVM_TRY(SecureBuffer::random(kTdxNonceSize));
	LaunchRecord launch;
	launch.id = newLaunchId();
	launch.vmId = vmId;
	launch.state = launch_state::kPending;
	launch.created = now;
	launch.expiresAt = now + options_.launchExpiry;
	launch.sealedKeys = CVM_TRY(sealer_.seal(nonce.view(), keysContext(launch.id)));

	std::optional<Error> refusal;
	std::optional<tdx::ReferenceValues> launchConfig;
	CVM_CHECK(stores_.write([&](Store &store) -> Status {
		auto vm = CVM_TRY(store.getVm(vmId));
		Status admitted = checkVm(vm, vmId, now);
		if (admitted && CVM_TRY(store.countActiveLaunches(vmId, now)) >= vm->maxLaunches)
			admitted = asError(code::kLaunchLimitReached, "VM " + vmId + " already has its maximum of " +
									      std::to_string(vm->maxLaunches) +
									      " concurrent launch(es)");
		if (!admitted) {
			refusal = std::move(admitted).error();
			if (!vm)
				return {};
			AuditRecord audit{ 0, now, vmId, "", "launch", refusal->tag(), refusal->message(), "", "" };
			return store.appendAudit(audit);
		}
		// What the host must create the TD with: the registered launch
		// values (the quote shows them; appraisal refuses a TD created otherwise).
		launchConfig = tdx::launchValuesOf(CVM_TRY(tdxReferenceOf(*vm)));
		CVM_CHECK(store.insertLaunch(launch));
		AuditRecord audit{ 0, now, vmId, launch.id, "launch", "ok",
				   "intel-tdx nonce issued; expires " + formatTime(launch.expiresAt), "", "" };
		return store.appendAudit(audit);
	}));
	if (refusal) {
		metrics_.recordVerdict("launch", refusal->tag());
		return *refusal;
	}
	metrics_.recordVerdict("launch", "ok");
	logEvent(G_LOG_LEVEL_INFO, vmId, launch.id, "launch", "ok", "intel-tdx launch started");
	return TdxLaunchResponse{ launch.id, Bytes(nonce.view().begin(), nonce.view().end()), launch.expiresAt,
				  std::move(*launchConfig) };
}

Status TdxService::refuse(Store &store, const LaunchRecord &launch, const Error &error, const std::string &reported,
			  const std::string &expected, int64_t now)
{
	const char *to = error.tag() == code::kLaunchExpired ? launch_state::kExpired : launch_state::kRejected;
	CVM_CHECK(store.moveLaunch(launch.id, launch_state::kPending, to, now));
	AuditRecord audit{ 0, now, launch.vmId, launch.id, "validate", error.tag(), error.message(), reported, expected };
	CVM_CHECK(store.appendAudit(audit));
	metrics_.recordVerdict("validate", error.tag());
	logEvent(G_LOG_LEVEL_MESSAGE, launch.vmId, launch.id, "validate", error.tag(),
		 "quote refused: " + error.message());
	return {};
}

Result<TdxQuoteResponse> TdxService::judge(Store &store, const VmRecord &vm, const LaunchRecord &launch,
					   const TdxQuoteRequest &request, int64_t now, std::string &reported)
{
	tdx::ReferenceValues ref = CVM_TRY(tdxReferenceOf(vm));
	SecureBuffer nonce = CVM_TRY(sealer_.open(launch.sealedKeys, keysContext(launch.id)));
	auto parsed = tdx::parseQuote(request.quote);
	if (!parsed) {
		Error e = asError(code::kQuoteInvalid, parsed.error().message());
		CVM_CHECK(refuse(store, launch, e, "", expectedJson(ref), now));
		return e;
	}
	tdx::AppraisalOptions options;
	options.verify.rootCaDer = options_.rootCaDer;
	options.verify.atTime = now;
	tdx::Appraisal appraisal = tdx::appraiseQuote(*parsed, ref, nonce.view(), request.teePublicKey, options);
	reported = reportedJson(*parsed);
	if (!appraisal.ok()) {
		Error e = appraisalError(appraisal);
		CVM_CHECK(refuse(store, launch, e, reported, expectedJson(ref), now));
		return e;
	}
	TdxQuoteResponse response;
	if (!vm.sealedSecrets.empty()) {
		SecureBuffer table = CVM_TRY(sealer_.open(vm.sealedSecrets, secretsContext(vm.id)));
		response.secrets = CVM_TRY(wrapTdxSecrets(request.teePublicKey, nonce.view(), launch.id, table.view()));
		response.hasSecret = true;
	}
	return response;
}

Result<TdxQuoteResponse> TdxService::quote(const std::string &vmId, const std::string &launchId,
					   const TdxQuoteRequest &request)
{
	int64_t now = clock_();
	auto store = CVM_TRY(stores_.lease());
	// One write transaction from the state check to the state change: a
	// launch takes one quote.
	auto txn = CVM_TRY(store->beginWrite());
	auto vm = CVM_TRY(store->getVm(vmId));
	if (!vm)
		return asError(code::kVmNotFound, "no VM " + vmId + " is registered");
	if (vm->scheme != schemeName(Scheme::IntelTdx))
		return asError(code::kUnsupportedScheme, "VM " + vmId + " is not an intel-tdx registration");
	auto launch = CVM_TRY(store->getLaunch(vmId, launchId));
	if (!launch)
		return asError(code::kLaunchNotFound, "VM " + vmId + " has no launch " + launchId);
	if (auto s = checkPendingTdx(*launch, now); !s) {
		if (s.error().tag() == code::kLaunchExpired && launch->state == launch_state::kPending) {
			CVM_CHECK(refuse(*store, *launch, s.error(), "", "", now));
			CVM_CHECK(txn.commit());
		}
		return std::move(s).error();
	}
	std::string reported;
	auto verdict = judge(*store, *vm, *launch, request, now, reported);
	if (!verdict) {
		// A refusal is recorded and committed; a failure of ours is not a verdict.
		if (verdict.error().code() == ErrorCode::VerificationFailed)
			CVM_CHECK(txn.commit());
		return std::move(verdict).error();
	}
	TdxQuoteResponse response = std::move(*verdict);
	CVM_CHECK(store->moveLaunch(launchId, launch_state::kPending, launch_state::kValidated, std::nullopt));
	AuditRecord audit{ 0, now, vmId, launchId, "validate", "ok",
			   response.hasSecret ? "TD quote verified; secrets released to the TD's key"
					      : "TD quote verified",
			   reported, "" };
	CVM_CHECK(store->appendAudit(audit));
	CVM_CHECK(txn.commit());
	metrics_.recordVerdict("validate", "ok");
	logEvent(G_LOG_LEVEL_INFO, vmId, launchId, "validate", "ok", "intel-tdx quote verified");
	return response;
}

} // namespace cvm::server
