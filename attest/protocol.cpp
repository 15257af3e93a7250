// SPDX-License-Identifier: Apache-2.0
//
// Scalar helpers of the protocol (schemes, versions, times, ids) and the
// request bodies. Responses are in protocol_responses.cpp.
#define G_LOG_DOMAIN "cvm-attest"

#include "cvm/attest/protocol.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "cvm/common/json.h"
#include "protocol_internal.h"

namespace cvm::attest {

std::string_view schemeName(Scheme scheme)
{
	switch (scheme) {
	case Scheme::AmdSev:
		return "amd-sev";
	case Scheme::AmdSevEs:
		return "amd-sev-es";
	case Scheme::IntelTdx:
		return "intel-tdx";
	}
	return "unknown";
}

Result<Scheme> parseScheme(std::string_view name)
{
	if (name == "amd-sev")
		return Scheme::AmdSev;
	if (name == "amd-sev-es")
		return Scheme::AmdSevEs;
	if (name == "intel-tdx")
		return Scheme::IntelTdx;
	return Error(ErrorCode::InvalidArgument,
		     "unknown scheme '" + std::string(name) + "' (expected amd-sev, amd-sev-es or intel-tdx)");
}

Result<ApiVersion> ApiVersion::parse(std::string_view text)
{
	auto dot = text.find('.');
	auto bad = [&] {
		return Error(ErrorCode::InvalidArgument,
			     "API version '" + std::string(text) + "' must be MAJOR.MINOR with numbers 0-255");
	};
	if (dot == std::string_view::npos || dot == 0 || dot + 1 == text.size())
		return bad();
	auto number = [](std::string_view s, uint8_t &out) {
		unsigned v = 0;
		auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
		if (ec != std::errc() || p != s.data() + s.size() || v > 255)
			return false;
		out = static_cast<uint8_t>(v);
		return true;
	};
	ApiVersion v;
	if (!number(text.substr(0, dot), v.major) || !number(text.substr(dot + 1), v.minor))
		return bad();
	return v;
}

std::string ApiVersion::toString() const
{
	return std::to_string(major) + "." + std::to_string(minor);
}

Guid luksKeyGuid()
{
	// The disk-passphrase entry GRUB's efisecret reads (libvirt alias "luks-key").
	return Guid::parse("736869e5-84f0-4973-92ec-06879ce3da0b").value();
}

Result<Guid> parseSecretName(std::string_view name)
{
	if (name == "luks-key")
		return luksKeyGuid();
	auto guid = Guid::parse(name);
	if (!guid)
		return Error(ErrorCode::InvalidArgument,
			     "secret name '" + std::string(name) + "' is neither 'luks-key' nor a GUID");
	return guid;
}

std::string formatTime(int64_t unixSeconds)
{
	GDateTime *dt = g_date_time_new_from_unix_utc(unixSeconds);
	if (!dt)
		return "1970-01-01T00:00:00Z";
	GCharPtr text(g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ"));
	g_date_time_unref(dt);
	return text ? text.get() : "";
}

Result<int64_t> parseTime(std::string_view text)
{
	std::string s(text);
	GDateTime *dt = g_date_time_new_from_iso8601(s.c_str(), nullptr);
	if (!dt)
		return Error(ErrorCode::InvalidArgument,
			     "time '" + s + "' is not RFC 3339 with a zone (e.g. 2030-01-01T00:00:00Z)");
	int64_t v = g_date_time_to_unix(dt);
	g_date_time_unref(dt);
	// Years 1970-9999: what formatTime() writes back in the same shape.
	if (v < 0 || v > 253402300799)
		return Error(ErrorCode::InvalidArgument, "time '" + s + "' is outside 1970-9999");
	return v;
}

bool isValidId(std::string_view id)
{
	if (id.empty() || id.size() > 128)
		return false;
	return std::all_of(id.begin(), id.end(), [](char c) {
		return g_ascii_isalnum(c) || c == '-' || c == '_' || c == '.';
	}) && id != "." && id != "..";
}

namespace detail {

Status onlyMembers(JsonObject *obj, std::initializer_list<std::string_view> allowed)
{
	GList *names = json_object_get_members(obj);
	std::string unknown;
	for (GList *l = names; l; l = l->next) {
		std::string_view name(static_cast<const char *>(l->data));
		if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
			unknown = std::string(name);
			break;
		}
	}
	g_list_free(names);
	if (!unknown.empty())
		return Error(ErrorCode::InvalidData, "unknown member '" + unknown + "'");
	return {};
}

Result<uint32_t> getU32(JsonObject *obj, std::string_view member)
{
	return static_cast<uint32_t>(CVM_TRY(json::getIntInRange(obj, member, 0, UINT32_MAX)));
}

Result<uint8_t> getU8(JsonObject *obj, std::string_view member)
{
	return static_cast<uint8_t>(CVM_TRY(json::getIntInRange(obj, member, 0, 255)));
}

Result<Bytes> getBase64Bounded(JsonObject *obj, std::string_view member, size_t min, size_t max)
{
	Bytes data = CVM_TRY(json::getBase64(obj, member));
	if (data.size() < min || data.size() > max) {
		std::string range = min == max ? std::to_string(min)
					       : "between " + std::to_string(min) + " and " + std::to_string(max);
		return Error(ErrorCode::InvalidData, "member '" + std::string(member) + "' must decode to " +
							     range + " bytes, not " + std::to_string(data.size()));
	}
	return data;
}

Result<std::optional<int64_t>> getOptionalTime(JsonObject *obj, std::string_view member)
{
	auto text = CVM_TRY(json::getOptionalString(obj, member));
	if (!text)
		return std::optional<int64_t>();
	auto t = parseTime(*text);
	if (!t)
		return Error(ErrorCode::InvalidData, "member '" + std::string(member) + "': " + t.error().message());
	return std::optional<int64_t>(*t);
}

Result<SevReference> parseSevReference(JsonObject *obj, Scheme scheme, bool strict)
{
	SevReference ref;
	ref.policy = CVM_TRY(getU32(obj, "policy"));
	constexpr uint32_t kPolicyEs = 1u << 2;
	if (strict && scheme == Scheme::AmdSevEs && !(ref.policy & kPolicyEs))
		return Error(ErrorCode::InvalidData, "scheme amd-sev-es needs policy bit 2 (ES) set");
	if (strict && scheme == Scheme::AmdSev && (ref.policy & kPolicyEs))
		return Error(ErrorCode::InvalidData, "policy bit 2 (ES) is set: register with scheme amd-sev-es");

	JsonArray *digests = CVM_TRY(json::getArray(obj, "launch-digests"));
	guint n = json_array_get_length(digests);
	if (n == 0 || n > kMaxLaunchDigests)
		return Error(ErrorCode::InvalidData, "member 'launch-digests' must hold 1 to " +
							     std::to_string(kMaxLaunchDigests) + " digests");
	for (guint i = 0; i < n; ++i) {
		std::string what = "launch-digests[" + std::to_string(i) + "]";
		std::string hex = CVM_TRY(json::nodeString(json_array_get_element(digests, i), what));
		auto d = fromHex(hex);
		if (!d || d->size() != 32)
			return Error(ErrorCode::InvalidData, what + " must be 64 hex digits (a SHA-256 launch digest)");
		ref.launchDigests.push_back(std::move(*d));
	}

	if (auto minApi = CVM_TRY(json::getOptionalString(obj, "min-api"))) {
		auto v = ApiVersion::parse(*minApi);
		if (!v)
			return Error(ErrorCode::InvalidData, "member 'min-api': " + v.error().message());
		ref.minApi = *v;
	}

	if (json_object_has_member(obj, "build-ids") && !json_object_get_null_member(obj, "build-ids")) {
		JsonArray *ids = CVM_TRY(json::getArray(obj, "build-ids"));
		guint count = json_array_get_length(ids);
		if (count > kMaxBuildIds)
			return Error(ErrorCode::InvalidData, "member 'build-ids' holds too many entries");
		for (guint i = 0; i < count; ++i) {
			std::string what = "build-ids[" + std::to_string(i) + "]";
			int64_t v = CVM_TRY(json::nodeInt(json_array_get_element(ids, i), what));
			if (v < 0 || v > 255)
				return Error(ErrorCode::InvalidData, what + " must be an integer in [0, 255]");
			ref.buildIds.push_back(static_cast<uint8_t>(v));
		}
	}

	if (json_object_has_member(obj, "cpu-count") && !json_object_get_null_member(obj, "cpu-count"))
		ref.cpuCount = static_cast<uint32_t>(CVM_TRY(json::getIntInRange(obj, "cpu-count", 1, 4096)));
	if (auto pin = CVM_TRY(json::getOptionalString(obj, "oca-pin"))) {
		auto d = fromHex(*pin);
		if (!d || d->size() != 32)
			return Error(ErrorCode::InvalidData,
				     "member 'oca-pin' must be 64 hex digits (SHA-256 of the OCA certificate)");
		ref.ocaPin = std::move(*d);
	}
	return ref;
}

void addSevReference(json::ObjectBuilder &b, const SevReference &ref)
{
	b.setInt("policy", ref.policy);
	JsonArray *digests = json_array_new();
	for (const auto &d : ref.launchDigests)
		json_array_add_string_element(digests, toHex(d).c_str());
	JsonNodePtr dn(json_node_new(JSON_NODE_ARRAY));
	json_node_take_array(dn.get(), digests);
	b.setNode("launch-digests", std::move(dn));
	b.setString("min-api", ref.minApi.toString());
	if (!ref.buildIds.empty()) {
		JsonArray *ids = json_array_new();
		for (uint8_t id : ref.buildIds)
			json_array_add_int_element(ids, id);
		JsonNodePtr in(json_node_new(JSON_NODE_ARRAY));
		json_node_take_array(in.get(), ids);
		b.setNode("build-ids", std::move(in));
	}
	if (ref.cpuCount)
		b.setInt("cpu-count", *ref.cpuCount);
	if (ref.ocaPin)
		b.setHex("oca-pin", *ref.ocaPin);
}

} // namespace detail

using namespace detail;

JsonNodePtr sevReferenceToJson(const SevReference &reference)
{
	json::ObjectBuilder b;
	addSevReference(b, reference);
	return b.build();
}

Result<SevReference> parseSevReferenceJson(JsonObject *obj, Scheme scheme)
{
	return parseSevReference(obj, scheme, false);
}

// --- requests -----------------------------------------------------------------

namespace {

Result<std::vector<SecretEntry>> parseSecrets(JsonObject *obj)
{
	std::vector<SecretEntry> out;
	if (!json_object_has_member(obj, "secrets"))
		return out;
	JsonObject *secrets = CVM_TRY(json::getObject(obj, "secrets"));
	GList *names = json_object_get_members(secrets);
	size_t tableSize = 20;
	Status status;
	for (GList *l = names; l && status.ok(); l = l->next) {
		const char *name = static_cast<const char *>(l->data);
		auto guid = parseSecretName(name);
		if (!guid) {
			status = Error(ErrorCode::InvalidData, "member 'secrets': " + guid.error().message());
			break;
		}
		for (const auto &e : out)
			if (e.guid == *guid)
				status = Error(ErrorCode::InvalidData,
					       "member 'secrets' names secret " + guid->toString() + " twice");
		if (!status.ok())
			break;
		auto data = json::getBase64(secrets, name);
		if (!data) {
			status = Error(ErrorCode::InvalidData, "member 'secrets': " + data.error().message());
			break;
		}
		SecretEntry entry{ *guid, SecureBuffer(ByteView(*data)) };
		size_t size = data->size();
		secureWipe(*data);
		if (size == 0) {
			status = Error(ErrorCode::InvalidData, "secret '" + std::string(name) + "' is empty");
			break;
		}
		tableSize += 20 + size;
		if (out.size() >= kMaxSecrets || tableSize > kMaxSecretsTotal) {
			status = Error(ErrorCode::InvalidData,
				       "member 'secrets' exceeds the secret table limit of " +
					       std::to_string(kMaxSecretsTotal) + " bytes / " +
					       std::to_string(kMaxSecrets) + " entries");
			break;
		}
		out.push_back(std::move(entry));
	}
	g_list_free(names);
	if (!status.ok())
		return std::move(status).error();
	return out;
}

} // namespace

Result<Registration> parseRegistration(JsonObject *obj)
{
	Registration r;
	std::string scheme = CVM_TRY(json::getString(obj, "scheme"));
	auto s = parseScheme(scheme);
	if (!s)
		return Error(ErrorCode::InvalidData, "member 'scheme': " + s.error().message());
	r.scheme = *s;
	if (r.scheme == Scheme::IntelTdx) {
		CVM_CHECK(onlyMembers(obj, { "scheme", "tdx-reference", "secrets", "max-concurrent-launches",
					     "expires" }));
		r.tdx = CVM_TRY(parseTdxReference(obj, true));
	} else {
		CVM_CHECK(onlyMembers(obj, { "scheme", "policy", "launch-digests", "min-api", "build-ids",
					     "cpu-count", "oca-pin", "secrets", "max-concurrent-launches",
					     "expires" }));
		r.sev = CVM_TRY(parseSevReference(obj, r.scheme, true));
	}
	r.secrets = CVM_TRY(parseSecrets(obj));
	if (json_object_has_member(obj, "max-concurrent-launches"))
		r.maxConcurrentLaunches = static_cast<uint32_t>(
			CVM_TRY(json::getIntInRange(obj, "max-concurrent-launches", 1, 1000000)));
	r.expiresAt = CVM_TRY(getOptionalTime(obj, "expires"));
	return r;
}

Result<LaunchRequest> parseLaunchRequest(JsonObject *obj)
{
	CVM_CHECK(onlyMembers(obj, { "pdh", "cert-chain", "cpu-id" }));
	LaunchRequest r;
	r.pdh = CVM_TRY(getBase64Bounded(obj, "pdh", 1, 8192));
	r.certChain = CVM_TRY(getBase64Bounded(obj, "cert-chain", 1, 32768));
	if (json_object_has_member(obj, "cpu-id") && !json_object_get_null_member(obj, "cpu-id"))
		r.cpuId = CVM_TRY(getBase64Bounded(obj, "cpu-id", 1, 256));
	return r;
}

Result<ValidateRequest> parseValidateRequest(JsonObject *obj)
{
	CVM_CHECK(onlyMembers(obj, { "api-major", "api-minor", "build-id", "policy", "measurement" }));
	ValidateRequest r;
	r.apiMajor = CVM_TRY(getU8(obj, "api-major"));
	r.apiMinor = CVM_TRY(getU8(obj, "api-minor"));
	r.buildId = CVM_TRY(getU8(obj, "build-id"));
	r.policy = CVM_TRY(getU32(obj, "policy"));
	r.measurement = CVM_TRY(getBase64Bounded(obj, "measurement", 48, 48));
	return r;
}

Result<EndRequest> parseEndRequest(JsonObject *obj)
{
	CVM_CHECK(onlyMembers(obj, { "reason" }));
	EndRequest r;
	if (auto reason = CVM_TRY(json::getOptionalString(obj, "reason"))) {
		if (reason->size() > 512)
			return Error(ErrorCode::InvalidData, "member 'reason' is longer than 512 characters");
		r.reason = *reason;
	}
	return r;
}

SecureBuffer registrationToJson(const Registration &registration)
{
	json::ObjectBuilder b;
	b.setString("scheme", schemeName(registration.scheme));
	if (registration.scheme == Scheme::IntelTdx)
		addTdxReference(b, registration.tdx);
	else
		addSevReference(b, registration.sev);
	b.setInt("max-concurrent-launches", registration.maxConcurrentLaunches);
	if (registration.expiresAt)
		b.setString("expires", formatTime(*registration.expiresAt));
	std::string head = b.serialize();

	// The secrets are spliced in by hand so their base64 text only ever lives
	// in buffers we wipe (json-glib would free its copies unwiped). GUID text
	// and base64 need no JSON escaping.
	std::string secrets;
	if (!registration.secrets.empty()) {
		secrets = ",\"secrets\":{";
		bool first = true;
		for (const auto &s : registration.secrets) {
			std::string b64 = toBase64(s.data.view());
			secrets += (first ? "\"" : ",\"") + s.guid.toString() + "\":\"" + b64 + "\"";
			secureWipe(b64.data(), b64.size());
			first = false;
		}
		secrets += "}";
	}
	// head is "{...}": insert before the closing brace.
	SecureBuffer out(head.size() + secrets.size());
	memcpy(out.data(), head.data(), head.size() - 1);
	memcpy(out.data() + head.size() - 1, secrets.data(), secrets.size());
	out.data()[out.size() - 1] = '}';
	secureWipe(secrets.data(), secrets.size());
	return out;
}

JsonNodePtr launchRequestToJson(const LaunchRequest &request)
{
	json::ObjectBuilder b;
	b.setBase64("pdh", request.pdh);
	b.setBase64("cert-chain", request.certChain);
	if (request.cpuId)
		b.setBase64("cpu-id", *request.cpuId);
	return b.build();
}

JsonNodePtr validateRequestToJson(const ValidateRequest &request)
{
	json::ObjectBuilder b;
	b.setInt("api-major", request.apiMajor);
	b.setInt("api-minor", request.apiMinor);
	b.setInt("build-id", request.buildId);
	b.setInt("policy", request.policy);
	b.setBase64("measurement", request.measurement);
	return b.build();
}

JsonNodePtr endRequestToJson(const EndRequest &request)
{
	json::ObjectBuilder b;
	if (!request.reason.empty())
		b.setString("reason", request.reason);
	return b.build();
}

} // namespace cvm::attest
