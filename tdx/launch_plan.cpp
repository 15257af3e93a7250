// SPDX-License-Identifier: Apache-2.0
//
// From the owner's registration to the emulator's command line: which
// registered values the host sets, QGS addresses, the -machine/-object
// wiring inside an existing argument vector, the fw_cfg hand-over item.
#define G_LOG_DOMAIN "cvm-tdx"

#include <cerrno>
#include <cstdlib>

#include <glib.h>

#include "cvm/tdx/launch_config.h"

namespace cvm::tdx {

namespace {

constexpr size_t kFwCfgMaxName = 56; // FW_CFG_MAX_FILE_PATH, NUL included

Error planError(const std::string &what)
{
	return Error(ErrorCode::InvalidArgument, "TDX launch configuration: " + what);
}

bool isMachineOption(std::string_view a)
{
	return a == "-machine" || a == "--machine" || a == "-M" || a == "--M";
}

bool isObjectOption(std::string_view a)
{
	return a == "-object" || a == "--object";
}

Result<uint32_t> parseU32(std::string_view text, std::string_view what)
{
	std::string t(text);
	bool digits = !t.empty() && t.size() <= 10;
	for (char c : t)
		digits = digits && g_ascii_isdigit(c);
	unsigned long long v = digits ? strtoull(t.c_str(), nullptr, 10) : 0;
	if (!digits || v > UINT32_MAX)
		return planError(std::string(what) + " must be a decimal number below 2^32, not \"" + t + "\"");
	return static_cast<uint32_t>(v);
}

} // namespace

ReferenceValues launchValuesOf(const ReferenceValues &reference)
{
	ReferenceValues v;
	v.tdAttributes = reference.tdAttributes;
	v.mrConfigId = reference.mrConfigId;
	v.mrOwner = reference.mrOwner;
	v.mrOwnerConfig = reference.mrOwnerConfig;
	return v;
}

Status checkLaunchValuesOnly(const ReferenceValues &values)
{
	bool rtmr = false;
	for (const auto &r : values.rtmr)
		rtmr = rtmr || r.has_value();
	if (!values.mrtd.empty() || rtmr || values.xfam)
		return planError("tdx.mrtd, tdx.rtmr0..3 and tdx.xfam are measurements, not launch configuration");
	return {};
}

Result<TdxGuestConfig> guestConfigFromLaunchValues(const ReferenceValues &values, std::string id)
{
	CVM_CHECK(checkLaunchValuesOnly(values));
	TdxGuestConfig c;
	c.id = std::move(id);
	c.attributes = values.tdAttributes;
	c.mrConfigId = values.mrConfigId;
	c.mrOwner = values.mrOwner;
	c.mrOwnerConfig = values.mrOwnerConfig;
	CVM_CHECK(validateTdxGuestConfig(c));
	return c;
}

Result<SocketAddress> parseSocketAddress(std::string_view text)
{
	if (text.rfind("vsock:", 0) == 0) {
		std::string_view rest = text.substr(6);
		size_t colon = rest.find(':');
		if (colon == std::string_view::npos)
			return planError("a vsock QGS address is vsock:CID:PORT, not \"" + std::string(text) + "\"");
		uint32_t cid = CVM_TRY(parseU32(rest.substr(0, colon), "the vsock CID"));
		uint32_t port = CVM_TRY(parseU32(rest.substr(colon + 1), "the vsock port"));
		return SocketAddress::vsock(cid, port);
	}
	if (text.empty() || text[0] != '/')
		return planError("a QGS address is an absolute UNIX socket path or vsock:CID:PORT, not \"" +
				 std::string(text) + "\"");
	SocketAddress s = SocketAddress::unixSocket(std::string(text));
	TdxGuestConfig probe;
	probe.quoteGenerationSocket = s;
	CVM_CHECK(validateTdxGuestConfig(probe));
	return s;
}

std::string socketAddressText(const SocketAddress &s)
{
	if (s.type == SocketAddress::Type::Vsock)
		return "vsock:" + std::to_string(s.cid) + ":" + std::to_string(s.port);
	return s.path;
}

Result<std::vector<std::string>> tdxEmulatorArguments(const std::vector<std::string> &args,
						      const TdxGuestConfig &config)
{
	std::string object = CVM_TRY(tdxGuestObjectArgument(config));
	std::vector<std::string> out = args;
	std::optional<size_t> lastMachine;
	for (size_t i = 0; i < out.size(); ++i) {
		if (isObjectOption(out[i]) && i + 1 < out.size() && out[i + 1].find("tdx-guest") != std::string::npos)
			return planError("the emulator arguments already create a tdx-guest object (\"" + out[i + 1] +
					 "\"); the TD's configuration comes from the attestation server, remove it");
		if (!isMachineOption(out[i]))
			continue;
		if (i + 1 >= out.size())
			return planError(out[i] + " has no value");
		auto checked = addConfidentialGuestSupport(out[i + 1], config.id);
		if (!checked)
			return checked.error().withContext(out[i] + " " + out[i + 1]);
		lastMachine = i + 1;
		++i;
	}
	if (lastMachine)
		out[*lastMachine] = CVM_TRY(addConfidentialGuestSupport(out[*lastMachine], config.id));
	else
		out.insert(out.end(), { "-machine", "confidential-guest-support=" + config.id });
	out.insert(out.end(), { "-object", object });
	return out;
}

Result<std::string> fwCfgFileArgument(std::string_view name, std::string_view path)
{
	if (name.rfind("opt/", 0) != 0 || name.size() >= kFwCfgMaxName || name.find(',') != std::string_view::npos)
		return planError("fw_cfg item \"" + std::string(name) + "\" must start with opt/, be shorter than " +
				 std::to_string(kFwCfgMaxName) + " bytes and hold no comma");
	if (path.empty() || path.find('\0') != std::string_view::npos)
		return planError("the fw_cfg file path is empty");
	std::string escaped;
	for (char c : path) {
		escaped += c;
		if (c == ',')
			escaped += ',';
	}
	return "name=" + std::string(name) + ",file=" + escaped;
}

} // namespace cvm::tdx
