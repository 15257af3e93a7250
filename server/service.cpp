// SPDX-License-Identifier: Apache-2.0
//
// Registrations and the audit trail. Launch, validate, end and expiry are in
// service_launch.cpp.
#define G_LOG_DOMAIN "cvm-attestd"

#include "service.h"

#include <chrono>
#include <ctime>

#include <openssl/rand.h>

#include "cvm/attest/errors.h"
#include "cvm/common/json.h"
#include "metrics.h"
#include "sealer.h"
#include "service_internal.h"
#include "store_pool.h"

namespace cvm::server {

using namespace attest;

int64_t systemClock()
{
	return static_cast<int64_t>(time(nullptr));
}

SecureBuffer encodeSecrets(const std::vector<SecretEntry> &secrets)
{
	size_t size = 0;
	for (const auto &s : secrets)
		size += 16 + 4 + s.data.size();
	SecureBuffer out(size);
	size_t off = 0;
	for (const auto &s : secrets) {
		storeBytes(out.span(), off, s.guid.bytes);
		storeLe32(out.span(), off + 16, static_cast<uint32_t>(s.data.size()));
		storeBytes(out.span(), off + 20, s.data.view());
		off += 20 + s.data.size();
	}
	return out;
}

Result<std::vector<SecretEntry>> decodeSecrets(ByteView encoded)
{
	std::vector<SecretEntry> out;
	ByteReader r(encoded, "sealed secrets");
	while (!r.atEnd()) {
		ByteView guid = CVM_TRY(r.bytes(16, "guid"));
		uint32_t len = CVM_TRY(r.le32("length"));
		ByteView data = CVM_TRY(r.bytes(len, "data"));
		out.push_back(SecretEntry{ Guid::fromBytes(guid), SecureBuffer(data) });
	}
	return out;
}

namespace detail {

std::string newLaunchId()
{
	// A random (version 4) UUID from the OpenSSL CSPRNG: a launch id is a
	// capability-like name the host presents, so it must not be guessable
	// (g_uuid_string_random uses GLib's non-cryptographic generator).
	uint8_t b[16];
	if (RAND_bytes(b, sizeof(b)) != 1)
		g_error("the random number generator failed"); // no safe way on
	b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);
	b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);
	std::string hex = toHex(ByteView(b, sizeof(b)));
	secureWipe(b, sizeof(b));
	return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" + hex.substr(16, 4) + "-" +
	       hex.substr(20);
}

std::string hostText(std::string_view text, size_t maxBytes)
{
	// Host-supplied text ends up in the audit trail, the journal and
	// terminals: control and formatting characters (newlines, escape
	// sequences, bidirectional overrides) are shown as \u{...}, invalid
	// UTF-8 as \x.., and the result is cut at maxBytes.
	std::string out;
	const char *p = text.data();
	const char *end = p + text.size();
	while (p < end) {
		gunichar c = g_utf8_get_char_validated(p, end - p);
		std::string piece;
		size_t step = 1;
		if (c == static_cast<gunichar>(-1) || c == static_cast<gunichar>(-2)) {
			char hex[8];
			snprintf(hex, sizeof(hex), "\\x%02x", static_cast<unsigned char>(*p));
			piece = hex;
		} else {
			step = static_cast<size_t>(g_utf8_next_char(p) - p);
			GUnicodeType type = g_unichar_type(c);
			if (c == '\\') {
				piece = "\\\\";
			} else if (type == G_UNICODE_CONTROL || type == G_UNICODE_FORMAT ||
				   type == G_UNICODE_LINE_SEPARATOR || type == G_UNICODE_PARAGRAPH_SEPARATOR) {
				char esc[16];
				snprintf(esc, sizeof(esc), "\\u{%x}", static_cast<unsigned>(c));
				piece = esc;
			} else {
				piece.assign(p, step);
			}
		}
		if (out.size() + piece.size() > maxBytes) {
			out += "...";
			break;
		}
		out += piece;
		p += step;
	}
	return out;
}

std::string secretsContext(const std::string &vmId)
{
	return "cvm-attestd/vm-secrets/" + vmId;
}

std::string keysContext(const std::string &launchId)
{
	return "cvm-attestd/launch-keys/" + launchId;
}

Result<SevReference> referenceOf(const VmRecord &vm)
{
	Scheme scheme = CVM_TRY(parseScheme(vm.scheme));
	if (scheme == Scheme::IntelTdx)
		return asError(code::kUnsupportedScheme, "VM " + vm.id + " is registered with scheme intel-tdx: use POST /v1/vm/" +
								 vm.id + "/tdx/launch and .../quote (service_tdx.h)");
	auto node = json::parseObject(vm.reference);
	if (!node)
		return Error(ErrorCode::Internal, "stored reference values of " + vm.id + " are corrupt");
	return parseSevReferenceJson(json_node_get_object(node->get()), scheme);
}

std::string expectedJson(const SevReference &ref, uint32_t policy)
{
	json::ObjectBuilder b;
	b.setInt("policy", policy);
	b.setString("min-api", ref.minApi.toString());
	if (!ref.buildIds.empty()) {
		JsonArray *ids = json_array_new();
		for (uint8_t id : ref.buildIds)
			json_array_add_int_element(ids, id);
		JsonNodePtr n(json_node_new(JSON_NODE_ARRAY));
		json_node_take_array(n.get(), ids);
		b.setNode("build-ids", std::move(n));
	}
	JsonArray *digests = json_array_new();
	for (const auto &d : ref.launchDigests)
		json_array_add_string_element(digests, toHex(d).c_str());
	JsonNodePtr n(json_node_new(JSON_NODE_ARRAY));
	json_node_take_array(n.get(), digests);
	b.setNode("launch-digests", std::move(n));
	return b.serialize();
}

void logEvent(GLogLevelFlags level, const std::string &vmId, const std::string &launchId, const char *event,
	      const std::string &result, const std::string &message)
{
	std::string text = "VM " + vmId + (launchId.empty() ? "" : ", launch " + launchId) + ": " + message;
	const GLogField fields[] = {
		{ "GLIB_DOMAIN", G_LOG_DOMAIN, -1 },
		{ "MESSAGE", text.c_str(), -1 },
		{ "CVM_VM_ID", vmId.c_str(), -1 },
		{ "CVM_LAUNCH_ID", launchId.c_str(), -1 },
		{ "CVM_EVENT", event, -1 },
		{ "CVM_RESULT", result.c_str(), -1 },
	};
	g_log_structured_array(level, fields, G_N_ELEMENTS(fields));
}

} // namespace detail

using namespace detail;

namespace {

std::string secretIndexJson(const std::vector<SecretEntry> &secrets)
{
	JsonArray *array = json_array_new();
	for (const auto &s : secrets) {
		json::ObjectBuilder e;
		e.setString("guid", s.guid.toString());
		e.setInt("size", static_cast<int64_t>(s.data.size()));
		json_array_add_element(array, e.build().release());
	}
	JsonNodePtr node(json_node_new(JSON_NODE_ARRAY));
	json_node_take_array(node.get(), array);
	return json::serialize(node.get());
}

Result<std::vector<SecretInfo>> parseSecretIndex(const std::string &text)
{
	std::vector<SecretInfo> out;
	auto node = json::parse(text);
	if (!node || !JSON_NODE_HOLDS_ARRAY(node->get()))
		return Error(ErrorCode::Internal, "stored secret index is corrupt");
	JsonArray *array = json_node_get_array(node->get());
	for (guint i = 0; i < json_array_get_length(array); ++i) {
		JsonObject *e = json_array_get_object_element(array, i);
		if (!e)
			return Error(ErrorCode::Internal, "stored secret index is corrupt");
		SecretInfo info;
		info.guid = CVM_TRY(Guid::parse(CVM_TRY(json::getString(e, "guid"))));
		info.size = static_cast<size_t>(CVM_TRY(json::getInt(e, "size")));
		out.push_back(info);
	}
	return out;
}

std::string registrationSummary(const Registration &r)
{
	if (r.scheme == Scheme::IntelTdx)
		return "intel-tdx, " + std::to_string(r.tdx.mrtd.size()) + " MRTD(s), " +
		       std::to_string(r.secrets.size()) + " secret(s), at most " +
		       std::to_string(r.maxConcurrentLaunches) + " concurrent launch(es)";
	return std::string(schemeName(r.scheme)) + ", policy " + std::to_string(r.sev.policy) + ", " +
	       std::to_string(r.sev.launchDigests.size()) + " launch digest(s), " +
	       std::to_string(r.secrets.size()) + " secret(s), at most " +
	       std::to_string(r.maxConcurrentLaunches) + " concurrent launch(es)";
}

} // namespace

AttestationService::AttestationService(ServiceOptions options, StorePool &stores, const SecretSealer &sealer,
				       LaunchCrypto &crypto, Metrics &metrics, Clock clock)
	: options_(options), stores_(stores), sealer_(sealer), crypto_(crypto), metrics_(metrics),
	  clock_(std::move(clock)), refusals_(options.refusalAuditsPerMinute)
{
}

Result<VmInfo> AttestationService::vmInfo(Store &store, const VmRecord &vm, int64_t now)
{
	VmInfo info;
	info.id = vm.id;
	info.scheme = CVM_TRY(parseScheme(vm.scheme));
	if (info.scheme == Scheme::IntelTdx)
		info.tdx = CVM_TRY(tdxReferenceOf(vm));
	else
		info.sev = CVM_TRY(referenceOf(vm));
	info.secrets = CVM_TRY(parseSecretIndex(vm.secretIndex));
	info.maxConcurrentLaunches = vm.maxLaunches;
	info.activeLaunches = CVM_TRY(store.countActiveLaunches(vm.id, now));
	info.expiresAt = vm.expiresAt;
	info.created = vm.created;
	info.updated = vm.updated;
	return info;
}

Result<AttestationService::Registered> AttestationService::registerVm(const std::string &vmId,
								       const Registration &registration)
{
	int64_t now = clock_();
	VmRecord vm;
	vm.id = vmId;
	vm.scheme = std::string(schemeName(registration.scheme));
	JsonNodePtr reference = registration.scheme == Scheme::IntelTdx ? tdx::referenceValuesToJson(registration.tdx)
									 : sevReferenceToJson(registration.sev);
	vm.reference = json::serialize(reference.get());
	vm.secretIndex = secretIndexJson(registration.secrets);
	if (!registration.secrets.empty()) {
		SecureBuffer plain = encodeSecrets(registration.secrets);
		vm.sealedSecrets = CVM_TRY(sealer_.seal(plain.view(), secretsContext(vmId)));
	}
	vm.maxLaunches = registration.maxConcurrentLaunches;
	vm.expiresAt = registration.expiresAt;
	vm.created = now;
	vm.updated = now;

	AuditRecord audit;
	audit.time = now;
	audit.vmId = vmId;
	audit.result = "ok";
	audit.message = registrationSummary(registration);
	bool created = false;
	CVM_CHECK(stores_.write([&](Store &store) -> Status {
		created = CVM_TRY(store.putVm(vm));
		audit.event = created ? "register" : "update";
		return store.appendAudit(audit);
	}));
	logEvent(G_LOG_LEVEL_MESSAGE, vmId, "", audit.event.c_str(), "ok",
		 std::string(created ? "registered: " : "updated: ") + audit.message);

	auto store = CVM_TRY(stores_.lease());
	auto stored = CVM_TRY(store->getVm(vmId));
	if (!stored)
		return asError(code::kVmNotFound, "VM " + vmId + " was revoked while being registered");
	VmInfo info = CVM_TRY(vmInfo(*store, *stored, now));
	return Registered{ std::move(info), created };
}

Result<VmInfo> AttestationService::getVm(const std::string &vmId)
{
	auto store = CVM_TRY(stores_.lease());
	auto vm = CVM_TRY(store->getVm(vmId));
	if (!vm)
		return asError(code::kVmNotFound, "no VM " + vmId + " is registered");
	return vmInfo(*store, *vm, clock_());
}

Status AttestationService::deleteVm(const std::string &vmId)
{
	int64_t now = clock_();
	CVM_CHECK(stores_.write([&](Store &store) -> Status {
		auto vm = CVM_TRY(store.getVm(vmId));
		if (!vm)
			return asError(code::kVmNotFound, "no VM " + vmId + " is registered");
		auto launches = CVM_TRY(store.unfinishedLaunches(vmId));
		for (const auto &l : launches) {
			CVM_CHECK(store.moveLaunch(l.id, l.state.c_str(), launch_state::kRevoked, now));
			AuditRecord audit{ 0, now, vmId, l.id, "revoke", "ok",
					   "launch voided: the registration was revoked", "", "" };
			CVM_CHECK(store.appendAudit(audit));
		}
		CVM_CHECK(store.deleteVm(vmId));
		AuditRecord audit{ 0, now, vmId, "", "revoke", "ok",
				   "registration and its secrets deleted; " + std::to_string(launches.size()) +
					   " unfinished launch(es) voided",
				   "", "" };
		return store.appendAudit(audit);
	}));
	logEvent(G_LOG_LEVEL_MESSAGE, vmId, "", "revoke", "ok", "registration revoked");
	return {};
}

Result<AuditTrail> AttestationService::auditTrail(const std::string &vmId)
{
	auto store = CVM_TRY(stores_.lease());
	AuditTrail trail;
	trail.vmId = vmId;
	auto records = CVM_TRY(store->listAudit(vmId, options_.auditLimit));
	auto vm = CVM_TRY(store->getVm(vmId));
	// A revoked VM keeps its history; a VM never seen has none.
	if (!vm && records.empty())
		return asError(code::kVmNotFound, "no VM " + vmId + " is registered and none ever was");
	auto launches = CVM_TRY(store->listLaunches(vmId, options_.auditLimit));
	for (const auto &l : launches)
		trail.launches.push_back(LaunchSummary{ l.id, l.state, l.created, l.expiresAt, l.finished, l.chipId });
	for (const auto &r : records)
		trail.events.push_back(AuditEvent{ r.seq, r.time, r.launchId, r.event, r.result, r.message,
						   r.reported, r.expected });
	return trail;
}

Status AttestationService::auditRefusal(const std::string &vmId, const std::string &event, const Error &error,
					const std::string &reported)
{
	int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(
			     std::chrono::steady_clock::now().time_since_epoch())
			     .count();
	auto decision = refusals_.admit(vmId, ms);
	if (!decision.record) {
		metrics_.recordEvent("refusal-audit", "suppressed");
		return {};
	}
	std::string message = error.message();
	if (decision.suppressedBefore)
		message += " (" + std::to_string(decision.suppressedBefore) +
			   " more refused launch attempt(s) before this one were not recorded: over " +
			   std::to_string(options_.refusalAuditsPerMinute) + " per minute)";
	AuditRecord audit{ 0, clock_(), vmId, "", event, asCodeForError(error), message, reported, "" };
	return stores_.write([&](Store &store) { return store.appendAudit(audit); });
}

} // namespace cvm::server
