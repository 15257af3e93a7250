// SPDX-License-Identifier: Apache-2.0
//
// Response bodies of the attestation server API (lenient parsing: unknown
// members are ignored so clients survive server upgrades).
#define G_LOG_DOMAIN "cvm-attest"

#include "cvm/attest/protocol.h"

#include "cvm/common/json.h"
#include "protocol_internal.h"

namespace cvm::attest {

using namespace detail;

namespace {

JsonNodePtr arrayNode(JsonArray *array)
{
	JsonNodePtr node(json_node_new(JSON_NODE_ARRAY));
	json_node_take_array(node.get(), array);
	return node;
}

// An absent array member reads as null (length 0).
Result<JsonArray *> getArrayOrNull(JsonObject *obj, std::string_view member)
{
	if (!json_object_has_member(obj, std::string(member).c_str()))
		return static_cast<JsonArray *>(nullptr);
	return json::getArray(obj, member);
}

guint length(JsonArray *array)
{
	return array ? json_array_get_length(array) : 0;
}

Result<JsonObject *> elementObject(JsonArray *array, guint i, std::string_view what)
{
	JsonNode *node = json_array_get_element(array, i);
	if (!JSON_NODE_HOLDS_OBJECT(node))
		return Error(ErrorCode::InvalidData, std::string(what) + "[" + std::to_string(i) + "] must be an object");
	return json_node_get_object(node);
}

// An optional JSON object member kept as text (audit details).
Result<std::string> objectText(JsonObject *obj, std::string_view member)
{
	std::string name(member);
	JsonNode *node = json_object_get_member(obj, name.c_str());
	if (!node || JSON_NODE_HOLDS_NULL(node))
		return std::string();
	if (!JSON_NODE_HOLDS_OBJECT(node))
		return Error(ErrorCode::InvalidData, "member '" + name + "' must be an object");
	return json::serialize(node);
}

void setObjectText(json::ObjectBuilder &b, std::string_view member, const std::string &text)
{
	if (text.empty())
		return;
	auto node = json::parseObject(text);
	if (node)
		b.setNode(member, std::move(*node));
}

} // namespace

JsonNodePtr vmInfoToJson(const VmInfo &info)
{
	json::ObjectBuilder b;
	b.setString("id", info.id);
	b.setString("scheme", schemeName(info.scheme));
	if (info.scheme == Scheme::IntelTdx)
		addTdxReference(b, info.tdx);
	else
		addSevReference(b, info.sev);
	JsonArray *secrets = json_array_new();
	for (const auto &s : info.secrets) {
		json::ObjectBuilder e;
		e.setString("guid", s.guid.toString());
		e.setInt("size", static_cast<int64_t>(s.size));
		json_array_add_element(secrets, e.build().release());
	}
	b.setNode("secrets", arrayNode(secrets));
	b.setInt("max-concurrent-launches", info.maxConcurrentLaunches);
	b.setInt("active-launches", info.activeLaunches);
	if (info.expiresAt)
		b.setString("expires", formatTime(*info.expiresAt));
	b.setString("created", formatTime(info.created));
	b.setString("updated", formatTime(info.updated));
	return b.build();
}

Result<VmInfo> parseVmInfo(JsonObject *obj)
{
	VmInfo info;
	info.id = CVM_TRY(json::getString(obj, "id"));
	std::string scheme = CVM_TRY(json::getString(obj, "scheme"));
	info.scheme = CVM_TRY(parseScheme(scheme));
	if (info.scheme == Scheme::IntelTdx)
		info.tdx = CVM_TRY(parseTdxReference(obj, false));
	else
		info.sev = CVM_TRY(parseSevReference(obj, info.scheme, false));
	JsonArray *secrets = CVM_TRY(getArrayOrNull(obj, "secrets"));
	for (guint i = 0; i < length(secrets); ++i) {
		JsonObject *e = CVM_TRY(elementObject(secrets, i, "secrets"));
		std::string guid = CVM_TRY(json::getString(e, "guid"));
		SecretInfo s;
		s.guid = CVM_TRY(Guid::parse(guid));
		s.size = static_cast<size_t>(CVM_TRY(json::getIntInRange(e, "size", 0, INT32_MAX)));
		info.secrets.push_back(s);
	}
	info.maxConcurrentLaunches = CVM_TRY(getU32(obj, "max-concurrent-launches"));
	if (json_object_has_member(obj, "active-launches"))
		info.activeLaunches = CVM_TRY(getU32(obj, "active-launches"));
	info.expiresAt = CVM_TRY(getOptionalTime(obj, "expires"));
	info.created = CVM_TRY(getOptionalTime(obj, "created")).value_or(0);
	info.updated = CVM_TRY(getOptionalTime(obj, "updated")).value_or(0);
	return info;
}

JsonNodePtr launchResponseToJson(const LaunchResponse &r)
{
	json::ObjectBuilder b;
	b.setString("launch-id", r.launchId);
	b.setBase64("session", r.session);
	b.setBase64("owner-cert", r.ownerCert);
	b.setInt("policy", r.policy);
	b.setString("expires", formatTime(r.expiresAt));
	return b.build();
}

Result<LaunchResponse> parseLaunchResponse(JsonObject *obj)
{
	LaunchResponse r;
	r.launchId = CVM_TRY(json::getString(obj, "launch-id"));
	if (!isValidId(r.launchId))
		return Error(ErrorCode::InvalidData, "member 'launch-id' is not a valid id");
	r.session = CVM_TRY(getBase64Bounded(obj, "session", 1, 4096));
	r.ownerCert = CVM_TRY(getBase64Bounded(obj, "owner-cert", 1, 8192));
	r.policy = CVM_TRY(getU32(obj, "policy"));
	auto expires = CVM_TRY(getOptionalTime(obj, "expires"));
	if (!expires)
		return Error(ErrorCode::InvalidData, "member 'expires' is missing");
	r.expiresAt = *expires;
	return r;
}

JsonNodePtr validateResponseToJson(const ValidateResponse &r)
{
	json::ObjectBuilder b;
	b.setString("verdict", "ok");
	if (r.hasSecret) {
		b.setBase64("secret-header", r.secretHeader.view());
		b.setBase64("secret-payload", r.secretPayload.view());
	}
	return b.build();
}

Result<ValidateResponse> parseValidateResponse(JsonObject *obj)
{
	ValidateResponse r;
	std::string verdict = CVM_TRY(json::getString(obj, "verdict"));
	if (verdict != "ok")
		return Error(ErrorCode::Protocol, "validation answered with verdict '" + verdict + "'");
	if (!json_object_has_member(obj, "secret-header"))
		return r;
	Bytes header = CVM_TRY(getBase64Bounded(obj, "secret-header", 1, 1024));
	Bytes payload = CVM_TRY(getBase64Bounded(obj, "secret-payload", 1, 1u << 20));
	r.hasSecret = true;
	r.secretHeader = SecureBuffer(ByteView(header));
	r.secretPayload = SecureBuffer(ByteView(payload));
	secureWipe(header);
	secureWipe(payload);
	return r;
}

JsonNodePtr auditTrailToJson(const AuditTrail &trail)
{
	json::ObjectBuilder b;
	b.setString("vm-id", trail.vmId);
	JsonArray *launches = json_array_new();
	for (const auto &l : trail.launches) {
		json::ObjectBuilder e;
		e.setString("launch-id", l.launchId);
		e.setString("state", l.state);
		e.setString("created", formatTime(l.created));
		e.setString("expires", formatTime(l.expiresAt));
		if (l.finished)
			e.setString("finished", formatTime(*l.finished));
		if (!l.chipId.empty())
			e.setString("chip-id", l.chipId);
		json_array_add_element(launches, e.build().release());
	}
	b.setNode("launches", arrayNode(launches));
	JsonArray *events = json_array_new();
	for (const auto &ev : trail.events) {
		json::ObjectBuilder e;
		e.setInt("seq", ev.seq);
		e.setString("time", formatTime(ev.time));
		if (!ev.launchId.empty())
			e.setString("launch-id", ev.launchId);
		e.setString("event", ev.event);
		e.setString("result", ev.result);
		if (!ev.message.empty())
			e.setString("message", ev.message);
		setObjectText(e, "reported", ev.reported);
		setObjectText(e, "expected", ev.expected);
		json_array_add_element(events, e.build().release());
	}
	b.setNode("events", arrayNode(events));
	return b.build();
}

Result<AuditTrail> parseAuditTrail(JsonObject *obj)
{
	AuditTrail t;
	t.vmId = CVM_TRY(json::getString(obj, "vm-id"));
	JsonArray *launches = CVM_TRY(getArrayOrNull(obj, "launches"));
	for (guint i = 0; i < length(launches); ++i) {
		JsonObject *e = CVM_TRY(elementObject(launches, i, "launches"));
		LaunchSummary l;
		l.launchId = CVM_TRY(json::getString(e, "launch-id"));
		l.state = CVM_TRY(json::getString(e, "state"));
		l.created = CVM_TRY(getOptionalTime(e, "created")).value_or(0);
		l.expiresAt = CVM_TRY(getOptionalTime(e, "expires")).value_or(0);
		l.finished = CVM_TRY(getOptionalTime(e, "finished"));
		l.chipId = CVM_TRY(json::getOptionalString(e, "chip-id")).value_or("");
		t.launches.push_back(std::move(l));
	}
	JsonArray *events = CVM_TRY(getArrayOrNull(obj, "events"));
	for (guint i = 0; i < length(events); ++i) {
		JsonObject *e = CVM_TRY(elementObject(events, i, "events"));
		AuditEvent ev;
		ev.seq = CVM_TRY(json::getInt(e, "seq"));
		ev.time = CVM_TRY(getOptionalTime(e, "time")).value_or(0);
		ev.launchId = CVM_TRY(json::getOptionalString(e, "launch-id")).value_or("");
		ev.event = CVM_TRY(json::getString(e, "event"));
		ev.result = CVM_TRY(json::getString(e, "result"));
		ev.message = CVM_TRY(json::getOptionalString(e, "message")).value_or("");
		ev.reported = CVM_TRY(objectText(e, "reported"));
		ev.expected = CVM_TRY(objectText(e, "expected"));
		t.events.push_back(std::move(ev));
	}
	return t;
}

JsonNodePtr errorBodyToJson(const ErrorBody &error)
{
	json::ObjectBuilder inner;
	inner.setString("code", error.code);
	inner.setString("message", error.message);
	json::ObjectBuilder b;
	b.setObject("error", std::move(inner));
	return b.build();
}

Result<ErrorBody> parseErrorBody(JsonObject *obj)
{
	JsonObject *inner = CVM_TRY(json::getObject(obj, "error"));
	ErrorBody e;
	e.code = CVM_TRY(json::getString(inner, "code"));
	e.message = CVM_TRY(json::getOptionalString(inner, "message")).value_or("");
	return e;
}

} // namespace cvm::attest
