// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-plugin"

#include "cvm/plugin/metadata.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <set>

#include <glib.h>

#include "cvm/attest/protocol.h"

namespace cvm::plugin {

namespace {

Error badAttribute(std::string_view name, std::string_view why)
{
	return Error(ErrorCode::InvalidArgument,
		     "<cvm:launch> attribute '" + std::string(name) + "' " + std::string(why));
}

Result<bool> parseYesNo(std::string_view name, std::string_view value)
{
	if (value == "yes")
		return true;
	if (value == "no")
		return false;
	return badAttribute(name, "must be 'yes' or 'no', not '" + std::string(value) + "'");
}

Status checkServer(std::string_view value)
{
	std::string v(value);
	if (!g_str_has_prefix(v.c_str(), "https://") && !g_str_has_prefix(v.c_str(), "http://"))
		return badAttribute("server", "must be an http:// or https:// URL, not '" + v + "'");
	bool controlOrSpace = false;
	for (unsigned char c : v)
		controlOrSpace = controlOrSpace || c <= 0x20 || c == 0x7f;
	if (controlOrSpace || !g_uri_is_valid(v.c_str(), G_URI_FLAGS_NONE, nullptr))
		return badAttribute("server", "is not a valid URL: '" + v + "'");
	return {};
}

Status applyAttribute(LaunchMetadata &m, std::string_view name, std::string_view value)
{
	if (name == "server") {
		CVM_CHECK(checkServer(value));
		m.server = std::string(value);
	} else if (name == "vm") {
		if (!attest::isValidId(value))
			return badAttribute(name, "must be 1-128 characters of A-Z a-z 0-9 . _ -");
		m.vmId = std::string(value);
	} else if (name == "plain-start") {
		if (value == "refuse")
			m.plainStart = PlainStart::Refuse;
		else if (value == "attest")
			m.plainStart = PlainStart::Attest;
		else
			return badAttribute(name, "must be 'refuse' or 'attest', not '" + std::string(value) + "'");
	} else if (name == "scheme") {
		if (value == "amd-sev")
			m.scheme = SevScheme::Sev;
		else if (value == "amd-sev-es")
			m.scheme = SevScheme::SevEs;
		else if (value == "intel-tdx")
			m.scheme = SevScheme::IntelTdx;
		else
			return badAttribute(name, "must be 'amd-sev', 'amd-sev-es' or 'intel-tdx', not '" +
							  std::string(value) + "'");
	} else if (name == "policy") {
		m.policy = static_cast<uint32_t>(CVM_TRY(parseUnsigned(value, UINT32_MAX, "attribute 'policy'")));
	} else if (name == "ca") {
		if (value.empty() || value[0] != '/')
			return badAttribute(name, "must be an absolute path");
		m.caFile = std::string(value);
	} else if (name == "kernel-hashes") {
		m.kernelHashes = CVM_TRY(parseYesNo(name, value));
	} else if (name == "secret-address") {
		m.secretAddress = CVM_TRY(parseUnsigned(value, UINT64_MAX, "attribute 'secret-address'"));
	} else {
		return badAttribute(name, "is unknown (expected server, vm, plain-start, scheme, policy, ca, "
					  "kernel-hashes, secret-address)");
	}
	return {};
}

std::string hex(uint64_t v)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(v));
	return buf;
}

} // namespace

std::string_view plainStartName(PlainStart p)
{
	return p == PlainStart::Attest ? "attest" : "refuse";
}

std::string_view sevSchemeName(SevScheme s)
{
	switch (s) {
	case SevScheme::SevEs:
		return "amd-sev-es";
	case SevScheme::IntelTdx:
		return "intel-tdx";
	case SevScheme::Sev:
		break;
	}
	return "amd-sev";
}

Result<uint64_t> parseUnsigned(std::string_view text, uint64_t max, std::string_view what)
{
	std::string t(text);
	bool isHex = t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X');
	const char *digits = t.c_str() + (isHex ? 2 : 0);
	bool ok = *digits != '\0';
	for (const char *p = digits; *p && ok; ++p)
		ok = isHex ? g_ascii_isxdigit(*p) : g_ascii_isdigit(*p);
	unsigned long long v = 0;
	if (ok) {
		errno = 0;
		v = strtoull(digits, nullptr, isHex ? 16 : 10);
		ok = errno == 0 && v <= max;
	}
	if (!ok)
		return Error(ErrorCode::InvalidArgument,
			     std::string(what) + " must be an unsigned integer (decimal or 0x-hex) not above " +
				     std::to_string(max) + ", not '" + t + "'");
	return static_cast<uint64_t>(v);
}

Result<LaunchMetadata> parseLaunchAttributes(const std::vector<std::pair<std::string, std::string>> &attributes)
{
	LaunchMetadata m;
	std::set<std::string> seen;
	for (const auto &[name, value] : attributes) {
		if (!seen.insert(name).second)
			return badAttribute(name, "is given twice");
		CVM_CHECK(applyAttribute(m, name, value));
	}
	// A TD gets its configuration from the AS and its secret over the quote
	// endpoint: the SEV launch knobs would be silently meaningless.
	if (m.scheme == SevScheme::IntelTdx)
		for (const char *sevOnly : { "policy", "kernel-hashes", "secret-address" })
			if (seen.count(sevOnly))
				return badAttribute(sevOnly, "applies to AMD SEV only, not to scheme 'intel-tdx' (the "
							     "attestation server's registration decides a TD's configuration)");
	return m;
}

std::vector<std::pair<std::string, std::string>> launchAttributes(const LaunchMetadata &m)
{
	std::vector<std::pair<std::string, std::string>> a;
	if (!m.server.empty())
		a.emplace_back("server", m.server);
	if (!m.vmId.empty())
		a.emplace_back("vm", m.vmId);
	if (m.plainStart != PlainStart::Refuse)
		a.emplace_back("plain-start", std::string(plainStartName(m.plainStart)));
	if (m.scheme != SevScheme::Sev)
		a.emplace_back("scheme", std::string(sevSchemeName(m.scheme)));
	if (m.policy)
		a.emplace_back("policy", hex(*m.policy));
	if (!m.caFile.empty())
		a.emplace_back("ca", m.caFile);
	if (m.kernelHashes)
		a.emplace_back("kernel-hashes", *m.kernelHashes ? "yes" : "no");
	if (m.secretAddress)
		a.emplace_back("secret-address", hex(*m.secretAddress));
	return a;
}

std::string effectiveVmId(const LaunchMetadata &m, std::string_view domainUuid)
{
	return m.vmId.empty() ? std::string(domainUuid) : m.vmId;
}

} // namespace cvm::plugin
