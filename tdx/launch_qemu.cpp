// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-tdx"

#include <cstdio>

#include <glib.h>

#include "cvm/common/json.h"
#include "cvm/tdx/launch_config.h"

namespace cvm::tdx {

namespace {

constexpr size_t kSunPathMax = 108; // sizeof(sockaddr_un::sun_path), NUL included

std::string hex(uint64_t v)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(v));
	return buf;
}

Error configError(const std::string &what)
{
	return Error(ErrorCode::InvalidArgument, "TDX launch configuration: " + what);
}

// QEMU's id_wellformed(): a letter, then letters, digits, '-', '.', '_'.
bool wellFormedId(std::string_view id)
{
	if (id.empty() || !g_ascii_isalpha(id[0]))
		return false;
	for (char c : id)
		if (!g_ascii_isalnum(c) && c != '-' && c != '.' && c != '_')
			return false;
	return true;
}

Status validateSocket(const SocketAddress &s)
{
	if (s.type == SocketAddress::Type::Vsock)
		return {};
	if (s.path.empty())
		return {};
	if (s.path.find('\0') != std::string::npos || s.path[0] != '/')
		return configError("the quote generation socket must be an absolute path, got \"" + s.path + "\"");
	if (s.path.size() >= kSunPathMax)
		return configError("the quote generation socket path has " + std::to_string(s.path.size()) +
				   " bytes; a UNIX socket path has at most 107");
	return {};
}

JsonNodePtr socketJson(const SocketAddress &s)
{
	json::ObjectBuilder b;
	if (s.type == SocketAddress::Type::Unix)
		b.setString("type", "unix").setString("path", s.path);
	else // QAPI VsockSocketAddress: cid and port are strings
		b.setString("type", "vsock").setString("cid", std::to_string(s.cid)).setString("port",
											       std::to_string(s.port));
	return b.build();
}

struct MachineOption {
	std::string key; // '_' folded to '-'
	std::string value;
	bool hasValue = false;
};

// QEMU option syntax: comma-separated, ",," is a literal comma.
std::vector<MachineOption> splitOptions(std::string_view s)
{
	std::vector<MachineOption> out;
	std::string item;
	auto flush = [&]() {
		MachineOption o;
		size_t eq = item.find('=');
		o.key = item.substr(0, eq);
		o.hasValue = eq != std::string::npos;
		if (o.hasValue)
			o.value = item.substr(eq + 1);
		for (char &c : o.key)
			if (c == '_')
				c = '-';
		out.push_back(std::move(o));
		item.clear();
	};
	for (size_t i = 0; i < s.size(); ++i) {
		if (s[i] == ',' && i + 1 < s.size() && s[i + 1] == ',') {
			item += ',';
			++i;
		} else if (s[i] == ',') {
			flush();
		} else {
			item += s[i];
		}
	}
	if (!item.empty() || !s.empty())
		flush();
	return out;
}

} // namespace

SocketAddress SocketAddress::unixSocket(std::string path)
{
	SocketAddress s;
	s.type = Type::Unix;
	s.path = std::move(path);
	return s;
}

SocketAddress SocketAddress::vsock(uint32_t cid, uint32_t port)
{
	SocketAddress s;
	s.type = Type::Vsock;
	s.cid = cid;
	s.port = port;
	return s;
}

Status validateTdxGuestConfig(const TdxGuestConfig &c)
{
	if (!wellFormedId(c.id))
		return configError("\"" + c.id + "\" is not a valid object id (a letter, then letters, digits, '-', '.', '_')");
	if (c.attributes) {
		uint64_t a = *c.attributes;
		if (a & tdattr::kDebug)
			return configError("TD attribute DEBUG (bit 0) is refused: QEMU does not support it and a "
					   "debug TD exposes its memory to the host");
		if (a & ~kQemuSupportedTdAttributes)
			return configError("TD attributes " + hex(a & ~kQemuSupportedTdAttributes) +
					   " are not supported by QEMU (only SEPT_VE_DISABLE, PKS and PERFMON)");
		if (c.septVeDisable && bool(a & tdattr::kSeptVeDisable) != *c.septVeDisable)
			return configError("sept-ve-disable contradicts the SEPT_VE_DISABLE bit of the attributes");
	}
	if (c.quoteGenerationSocket)
		CVM_CHECK(validateSocket(*c.quoteGenerationSocket));
	return {};
}

uint64_t requestedTdAttributes(const TdxGuestConfig &c)
{
	uint64_t a = c.attributes.value_or(kQemuDefaultTdAttributes);
	if (c.septVeDisable)
		a = *c.septVeDisable ? (a | tdattr::kSeptVeDisable) : (a & ~tdattr::kSeptVeDisable);
	return a;
}

Result<JsonNodePtr> tdxGuestObject(const TdxGuestConfig &c)
{
	CVM_CHECK(validateTdxGuestConfig(c));
	if (c.quoteGenerationSocket && c.quoteGenerationSocket->type == SocketAddress::Type::Unix &&
	    c.quoteGenerationSocket->path.empty())
		return configError("QEMU needs the quote generation socket's path (it has no default)");
	json::ObjectBuilder b;
	b.setString("qom-type", "tdx-guest").setString("id", c.id);
	if (c.attributes)
		b.setInt("attributes", static_cast<int64_t>(*c.attributes));
	if (c.septVeDisable)
		b.setBool("sept-ve-disable", *c.septVeDisable);
	if (c.mrConfigId)
		b.setBase64("mrconfigid", *c.mrConfigId);
	if (c.mrOwner)
		b.setBase64("mrowner", *c.mrOwner);
	if (c.mrOwnerConfig)
		b.setBase64("mrownerconfig", *c.mrOwnerConfig);
	if (c.quoteGenerationSocket)
		b.setNode("quote-generation-socket", socketJson(*c.quoteGenerationSocket));
	return b.build();
}

Result<std::string> tdxGuestObjectArgument(const TdxGuestConfig &c)
{
	JsonNodePtr node = CVM_TRY(tdxGuestObject(c));
	return json::serialize(node.get(), false);
}

Result<std::string> addConfidentialGuestSupport(std::string_view machineOptions, std::string_view objectId)
{
	if (!wellFormedId(objectId))
		return configError("\"" + std::string(objectId) + "\" is not a valid object id");
	for (const auto &o : splitOptions(machineOptions)) {
		if (o.key == "confidential-guest-support") {
			if (o.value == objectId)
				return std::string(machineOptions);
			return configError("-machine already has confidential-guest-support=" + o.value);
		}
		if (o.key == "smm" && o.value == "on")
			return configError("-machine smm=on: a TD cannot have SMM");
		if (o.key == "kernel-irqchip" && o.hasValue && o.value != "split")
			return configError("-machine kernel-irqchip=" + o.value + ": a TD needs a split irqchip");
	}
	std::string out(machineOptions);
	if (!out.empty())
		out += ',';
	out += "confidential-guest-support=" + std::string(objectId);
	return out;
}

Result<std::vector<std::string>> tdxQemuArguments(const TdxGuestConfig &c, std::string_view machineOptions)
{
	std::string object = CVM_TRY(tdxGuestObjectArgument(c));
	std::string machine = CVM_TRY(addConfidentialGuestSupport(machineOptions, c.id));
	return std::vector<std::string>{ "-object", object, "-machine", machine };
}

} // namespace cvm::tdx
