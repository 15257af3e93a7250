// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-sim"

#include "cvm/sim/qemu_options.h"

#include <charconv>
#include <cstdlib>

#include <glib.h>

#include "cvm/common/json.h"
#include "cvm/sev/vmsa.h"

namespace cvm::sim {

namespace {

Error bad(std::string message)
{
	return Error(ErrorCode::InvalidArgument, std::move(message));
}

// The properties of sev-guest in 7.2 (qom-list-properties, fixture 03).
constexpr std::string_view kSevGuestProps[] = { "id", "qom-type", "policy", "handle", "cbitpos",
						 "reduced-phys-bits", "dh-cert-file", "session-file",
						 "sev-device", "kernel-hashes" };

bool isSevGuestProp(std::string_view key)
{
	for (auto p : kSevGuestProps)
		if (p == key)
			return true;
	return false;
}

Status setSevProp(SevGuestObject &o, const std::string &key, const std::string &value)
{
	if (key == "id")
		o.id = value;
	else if (key == "policy")
		o.policy = CVM_TRY(parseUint32Property(key, value));
	else if (key == "handle")
		o.handle = CVM_TRY(parseUint32Property(key, value));
	else if (key == "cbitpos")
		o.cbitpos = CVM_TRY(parseUint32Property(key, value));
	else if (key == "reduced-phys-bits")
		o.reducedPhysBits = CVM_TRY(parseUint32Property(key, value));
	else if (key == "dh-cert-file")
		o.dhCertFile = value;
	else if (key == "session-file")
		o.sessionFile = value;
	else if (key == "sev-device")
		o.sevDevice = value;
	else if (key == "kernel-hashes")
		o.kernelHashes = CVM_TRY(parseBoolProperty(key, value));
	else if (key != "qom-type")
		return bad("Property 'sev-guest." + key + "' not found");
	return {};
}

// A JSON member as the string a keyval would have carried, checking the type
// QEMU's visitor expects ("Invalid parameter type for 'policy', expected: integer").
Result<std::string> jsonPropText(JsonObject *obj, const std::string &key)
{
	JsonNode *node = json_object_get_member(obj, key.c_str());
	bool isInt = key == "policy" || key == "handle" || key == "cbitpos" || key == "reduced-phys-bits";
	bool isBool = key == "kernel-hashes";
	GType t = JSON_NODE_HOLDS_VALUE(node) ? json_node_get_value_type(node) : G_TYPE_INVALID;
	if (isInt) {
		if (t != G_TYPE_INT64)
			return bad("Invalid parameter type for '" + key + "', expected: integer");
		int64_t v = json_node_get_int(node);
		if (v < 0 || v > UINT32_MAX)
			return bad("Parameter '" + key + "' expects uint32_t");
		return std::to_string(v);
	}
	if (isBool) {
		if (t != G_TYPE_BOOLEAN)
			return bad("Invalid parameter type for '" + key + "', expected: boolean");
		return std::string(json_node_get_boolean(node) ? "on" : "off");
	}
	if (t != G_TYPE_STRING)
		return bad("Invalid parameter type for '" + key + "', expected: string");
	return std::string(json_node_get_string(node));
}

Result<std::optional<SevGuestObject>> parseJsonObject(std::string_view text)
{
	auto node = json::parseObject(text);
	if (!node)
		return bad("invalid JSON object: " + node.error().message());
	JsonObject *obj = json_node_get_object(node->get());
	auto type = json::getString(obj, "qom-type");
	if (!type)
		return bad("Parameter 'qom-type' is missing");
	if (*type != "sev-guest")
		return std::optional<SevGuestObject>();
	SevGuestObject o;
	GList *members = json_object_get_members(obj);
	for (GList *l = members; l; l = l->next) {
		std::string key = static_cast<const char *>(l->data);
		if (!isSevGuestProp(key)) {
			g_list_free(members);
			return bad("Property 'sev-guest." + key + "' not found");
		}
		auto value = jsonPropText(obj, key);
		Status set = value ? setSevProp(o, key, *value) : Status(value.error());
		if (!set) {
			g_list_free(members);
			return set.error();
		}
	}
	g_list_free(members);
	if (o.id.empty())
		return bad("Parameter 'id' is missing");
	return std::optional<SevGuestObject>(std::move(o));
}

} // namespace

std::optional<std::string> OptionParams::get(std::string_view key) const
{
	std::optional<std::string> found;
	for (const auto &[k, v] : params)
		if (k == key)
			found = v; // the last one wins, as in QEMU
	return found;
}

Result<OptionParams> parseKeyval(std::string_view text, bool hasImplied)
{
	OptionParams out;
	size_t i = 0;
	bool first = true;
	while (i <= text.size()) {
		std::string item;
		while (i < text.size()) {
			if (text[i] == ',') {
				if (i + 1 < text.size() && text[i + 1] == ',') {
					item += ',';
					i += 2;
					continue;
				}
				break;
			}
			item += text[i++];
		}
		++i; // the comma (or the end)
		size_t eq = item.find('=');
		if (eq == std::string::npos) {
			if (first && hasImplied)
				out.implied = item;
			else if (!item.empty())
				out.params.emplace_back(item, "on");
			else if (!(first && text.empty()))
				return bad("Invalid parameter ''");
		} else {
			if (eq == 0)
				return bad("Invalid parameter ''");
			out.params.emplace_back(item.substr(0, eq), item.substr(eq + 1));
		}
		first = false;
		if (i > text.size())
			break;
	}
	return out;
}

Result<uint32_t> parseUint32Property(std::string_view name, std::string_view value)
{
	std::string v(value);
	if (v.empty() || v[0] == '-' || v[0] == '+' || g_ascii_isspace(v[0]))
		return bad("Parameter '" + std::string(name) + "' expects integer");
	char *end = nullptr;
	errno = 0;
	unsigned long long n = strtoull(v.c_str(), &end, 0);
	if (errno != 0 || end == v.c_str() || *end != '\0')
		return bad("Parameter '" + std::string(name) + "' expects integer");
	if (n > UINT32_MAX)
		return bad("Parameter '" + std::string(name) + "' expects uint32_t");
	return static_cast<uint32_t>(n);
}

Result<bool> parseBoolProperty(std::string_view name, std::string_view value)
{
	if (value == "on" || value == "yes" || value == "true" || value == "y")
		return true;
	if (value == "off" || value == "no" || value == "false" || value == "n")
		return false;
	return bad("Parameter '" + std::string(name) + "' expects 'on' or 'off'");
}

Result<std::optional<SevGuestObject>> parseObjectOption(std::string_view text)
{
	if (!text.empty() && text.front() == '{')
		return parseJsonObject(text);
	OptionParams p = CVM_TRY(parseKeyval(text, true));
	std::string type = p.implied.empty() ? p.get("qom-type").value_or("") : p.implied;
	if (type.empty())
		return bad("Parameter 'qom-type' is missing");
	if (type != "sev-guest")
		return std::optional<SevGuestObject>();
	SevGuestObject o;
	for (const auto &[k, v] : p.params)
		CVM_CHECK(setSevProp(o, k, v));
	if (o.id.empty())
		return bad("Parameter 'id' is missing");
	return std::optional<SevGuestObject>(std::move(o));
}

std::optional<uint32_t> cpuSignatureForModel(std::string_view model)
{
	struct Sku {
		std::string_view prefix;
		uint32_t family, model, stepping;
	};
	// QEMU's builtin x86 models (target/i386/cpu.c), longest names first.
	static constexpr Sku kSkus[] = {
		{ "EPYC-Genoa", 25, 17, 0 }, { "EPYC-Milan", 25, 1, 1 }, { "EPYC-Rome", 23, 49, 0 },
		{ "EPYC-IBPB", 23, 1, 2 },   { "EPYC", 23, 1, 2 },
	};
	for (const auto &s : kSkus)
		if (model == s.prefix || (model.substr(0, s.prefix.size()) == s.prefix &&
					  model.substr(s.prefix.size(), 2) == "-v"))
			return sev::cpuSignature(s.family, s.model, s.stepping);
	return std::nullopt;
}

} // namespace cvm::sim
