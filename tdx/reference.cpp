// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-tdx"

#include "cvm/tdx/reference.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "cvm/common/json.h"

namespace cvm::tdx {

namespace {

constexpr const char *kMrtd = "tdx.mrtd";
constexpr const char *kRtmr[4] = { "tdx.rtmr0", "tdx.rtmr1", "tdx.rtmr2", "tdx.rtmr3" };
constexpr const char *kMrConfigId = "tdx.mrconfigid";
constexpr const char *kMrOwner = "tdx.mrowner";
constexpr const char *kMrOwnerConfig = "tdx.mrownerconfig";
constexpr const char *kTdAttributes = "tdx.td-attributes";
constexpr const char *kXfam = "tdx.xfam";

std::string hex64(uint64_t v)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "0x%016llx", static_cast<unsigned long long>(v));
	return buf;
}

Error badValue(std::string_view member, const std::string &why)
{
	return Error(ErrorCode::InvalidArgument, "reference value '" + std::string(member) + "': " + why);
}

Result<Sha384Digest> digestNode(JsonNode *node, std::string_view member)
{
	if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING)
		return badValue(member, "must be a string of 96 hex digits");
	return sha384DigestFromHex(json_node_get_string(node), "reference value '" + std::string(member) + "'");
}

Result<std::vector<Sha384Digest>> digestList(JsonNode *node, std::string_view member)
{
	std::vector<Sha384Digest> out;
	if (!JSON_NODE_HOLDS_ARRAY(node)) {
		out.push_back(CVM_TRY(digestNode(node, member)));
		return out;
	}
	JsonArray *a = json_node_get_array(node);
	guint n = json_array_get_length(a);
	if (n == 0)
		return badValue(member, "is an empty list (omit it to accept any value)");
	for (guint i = 0; i < n; ++i)
		out.push_back(CVM_TRY(digestNode(json_array_get_element(a, i), member)));
	return out;
}

Result<uint64_t> u64Node(JsonNode *node, std::string_view member)
{
	if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING)
		return badValue(member, "must be a string such as \"0x0000000010000000\"");
	std::string s = json_node_get_string(node);
	if (s.size() < 3 || s.size() > 18 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return badValue(member, "\"" + s + "\" is not a 64-bit hex value (\"0x...\")");
	char *end = nullptr;
	errno = 0;
	unsigned long long v = strtoull(s.c_str() + 2, &end, 16);
	if (errno || *end || !g_ascii_isxdigit(s[2]))
		return badValue(member, "\"" + s + "\" is not a 64-bit hex value (\"0x...\")");
	return static_cast<uint64_t>(v);
}

Status readMember(ReferenceValues &v, const std::string &name, JsonNode *node)
{
	if (name == kMrtd) {
		v.mrtd = CVM_TRY(digestList(node, name));
		return {};
	}
	for (size_t i = 0; i < 4; ++i) {
		if (name == kRtmr[i]) {
			v.rtmr[i] = CVM_TRY(digestNode(node, name));
			return {};
		}
	}
	if (name == kMrConfigId)
		v.mrConfigId = CVM_TRY(digestNode(node, name));
	else if (name == kMrOwner)
		v.mrOwner = CVM_TRY(digestNode(node, name));
	else if (name == kMrOwnerConfig)
		v.mrOwnerConfig = CVM_TRY(digestNode(node, name));
	else if (name == kTdAttributes)
		v.tdAttributes = CVM_TRY(u64Node(node, name));
	else if (name == kXfam)
		v.xfam = CVM_TRY(u64Node(node, name));
	else
		return Error(ErrorCode::InvalidArgument, "unknown reference value '" + name + "'");
	return {};
}

JsonNodePtr inputJson(const ProvenanceInput &in)
{
	json::ObjectBuilder b;
	b.setString("role", in.role)
		.setString("file", in.file)
		.setInt("size", static_cast<int64_t>(in.fingerprint.size))
		.setHex("sha256", in.fingerprint.sha256);
	return b.build();
}

Result<ProvenanceInput> inputFromJson(JsonNode *node)
{
	if (!JSON_NODE_HOLDS_OBJECT(node))
		return Error(ErrorCode::InvalidArgument, "provenance input must be an object");
	JsonObject *o = json_node_get_object(node);
	ProvenanceInput in;
	in.role = CVM_TRY(json::getString(o, "role"));
	in.file = CVM_TRY(json::getString(o, "file"));
	int64_t size = CVM_TRY(json::getIntInRange(o, "size", 0, INT64_MAX));
	in.fingerprint.size = static_cast<uint64_t>(size);
	Bytes sha = CVM_TRY(json::getHex(o, "sha256"));
	if (sha.size() != in.fingerprint.sha256.size())
		return Error(ErrorCode::InvalidArgument, "provenance input sha256 must be 32 bytes");
	std::copy(sha.begin(), sha.end(), in.fingerprint.sha256.begin());
	return in;
}

Status provenanceFromJson(JsonObject *p, ReferenceDocument &doc)
{
	doc.tool = CVM_TRY(json::getString(p, "tool"));
	doc.mrtdMethod = CVM_TRY(json::getOptionalString(p, "mrtd-method")).value_or("");
	JsonArray *inputs = CVM_TRY(json::getArray(p, "inputs"));
	for (guint i = 0; i < json_array_get_length(inputs); ++i)
		doc.inputs.push_back(CVM_TRY(inputFromJson(json_array_get_element(inputs, i))));
	return {};
}

} // namespace

bool ReferenceValues::empty() const
{
	for (const auto &r : rtmr)
		if (r)
			return false;
	return mrtd.empty() && !mrConfigId && !mrOwner && !mrOwnerConfig && !tdAttributes && !xfam;
}

JsonNodePtr referenceValuesToJson(const ReferenceValues &v)
{
	json::ObjectBuilder b;
	if (v.mrtd.size() == 1) {
		b.setHex(kMrtd, v.mrtd[0]);
	} else if (!v.mrtd.empty()) {
		JsonArrayPtr a(json_array_new());
		for (const auto &d : v.mrtd)
			json_array_add_string_element(a.get(), toHex(d).c_str());
		JsonNodePtr n(json_node_alloc());
		json_node_init_array(n.get(), a.get());
		b.setNode(kMrtd, std::move(n));
	}
	for (size_t i = 0; i < 4; ++i)
		if (v.rtmr[i])
			b.setHex(kRtmr[i], *v.rtmr[i]);
	if (v.mrConfigId)
		b.setHex(kMrConfigId, *v.mrConfigId);
	if (v.mrOwner)
		b.setHex(kMrOwner, *v.mrOwner);
	if (v.mrOwnerConfig)
		b.setHex(kMrOwnerConfig, *v.mrOwnerConfig);
	if (v.tdAttributes)
		b.setString(kTdAttributes, hex64(*v.tdAttributes));
	if (v.xfam)
		b.setString(kXfam, hex64(*v.xfam));
	return b.build();
}

Result<ReferenceValues> referenceValuesFromJson(JsonObject *values)
{
	ReferenceValues v;
	JsonObjectIter it;
	const gchar *name;
	JsonNode *node;
	json_object_iter_init(&it, values);
	while (json_object_iter_next(&it, &name, &node))
		CVM_CHECK(readMember(v, name, node));
	return v;
}

JsonNodePtr referenceDocumentToJson(const ReferenceDocument &d)
{
	JsonArrayPtr inputs(json_array_new());
	for (const auto &in : d.inputs)
		json_array_add_element(inputs.get(), inputJson(in).release());
	JsonNodePtr inputsNode(json_node_alloc());
	json_node_init_array(inputsNode.get(), inputs.get());

	json::ObjectBuilder provenance;
	provenance.setString("tool", d.tool);
	if (!d.mrtdMethod.empty())
		provenance.setString("mrtd-method", d.mrtdMethod);
	provenance.setNode("inputs", std::move(inputsNode));

	json::ObjectBuilder doc;
	doc.setString("format", kReferenceFormat)
		.setNode("reference-values", referenceValuesToJson(d.values))
		.setObject("provenance", std::move(provenance));
	return doc.build();
}

Result<ReferenceDocument> referenceDocumentFromJson(std::string_view text)
{
	JsonNodePtr root = CVM_TRY(json::parseObject(text));
	JsonObject *o = json_node_get_object(root.get());
	ReferenceDocument doc;
	if (!json_object_has_member(o, "format") && !json_object_has_member(o, "reference-values")) {
		doc.values = CVM_TRY(referenceValuesFromJson(o));
		return doc;
	}
	std::string format = CVM_TRY(json::getString(o, "format"));
	if (format != kReferenceFormat)
		return Error(ErrorCode::InvalidArgument, "reference document format \"" + format + "\", expected \"" +
								 std::string(kReferenceFormat) + "\"");
	doc.values = CVM_TRY(referenceValuesFromJson(CVM_TRY(json::getObject(o, "reference-values"))));
	if (json_object_has_member(o, "provenance"))
		CVM_CHECK(provenanceFromJson(CVM_TRY(json::getObject(o, "provenance")), doc));
	return doc;
}

} // namespace cvm::tdx
