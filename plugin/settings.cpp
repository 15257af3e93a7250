// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-plugin"

#include "cvm/plugin/settings.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <glib.h>

#include "cvm/common/file.h"
#include "cvm/common/gptr.h"
#include "cvm/tdx/launch_config.h"

namespace cvm::plugin {

namespace {

const SettingInfo kInfos[] = {
	{ "server", "URL", "attestation server used when the domain's metadata names none" },
	{ "ca-file", "FILE", "PEM bundle trusted for the attestation server's TLS (default: system store)" },
	{ "host-token-file", "FILE", "bearer token presented to the attestation server's host endpoints" },
	{ "step-timeout", "SECONDS", "longest time one platform step may take (default 60)" },
	{ "as-timeout", "SECONDS", "longest time one attestation-server request may take (default 30)" },
	{ "state-dir", "DIR", "pending and active launch records (default /run/cvm-launch)" },
	{ "amd-roots", "DIR", "pinned AMD roots, DIR/<generation>/{ark,ask}.cert (default /etc/cvm-launch/amd)" },
	{ "connect", "URI", "libvirt connection URI (default qemu:///system)" },
	{ "pending-timeout", "SECONDS", "how long a pending launch authorises its domain's start (default 300)" },
	{ "end-timeout", "SECONDS", "bound on the hook's end-of-launch notification (default 10)" },
	{ "tdx-qgs", "PATH|vsock:CID:PORT", "the quote generation service a TD's quotes go to (default: none given)" },
	{ nullptr, nullptr, nullptr },
};

Result<unsigned> parseSeconds(std::string_view key, std::string_view value)
{
	std::string text(value);
	char *end = nullptr;
	errno = 0;
	unsigned long v = text.empty() ? 0 : strtoul(text.c_str(), &end, 10);
	if (text.empty() || !g_ascii_isdigit(text[0]) || errno || *end || v < 1 || v > 86400)
		return Error(ErrorCode::InvalidArgument,
			     "setting '" + std::string(key) + "' must be a number of seconds in [1, 86400], not '" +
				     text + "'");
	return static_cast<unsigned>(v);
}

Status requireNonEmpty(std::string_view key, std::string_view value)
{
	if (value.empty())
		return Error(ErrorCode::InvalidArgument, "setting '" + std::string(key) + "' must not be empty");
	return {};
}

} // namespace

const SettingInfo *settingInfos()
{
	return kInfos;
}

Status applySetting(Settings &s, std::string_view key, std::string_view value)
{
	std::string v(value);
	if (key == "server")
		s.server = v;
	else if (key == "ca-file")
		s.caFile = v;
	else if (key == "host-token-file")
		s.hostTokenFile = v;
	else if (key == "step-timeout")
		s.stepTimeout = CVM_TRY(parseSeconds(key, value));
	else if (key == "as-timeout")
		s.asTimeout = CVM_TRY(parseSeconds(key, value));
	else if (key == "pending-timeout")
		s.pendingTimeout = CVM_TRY(parseSeconds(key, value));
	else if (key == "end-timeout")
		s.endTimeout = CVM_TRY(parseSeconds(key, value));
	else if (key == "state-dir") {
		CVM_CHECK(requireNonEmpty(key, value));
		s.stateDir = v;
	} else if (key == "amd-roots") {
		CVM_CHECK(requireNonEmpty(key, value));
		s.amdRoots = v;
	} else if (key == "connect") {
		CVM_CHECK(requireNonEmpty(key, value));
		s.connectUri = v;
	} else if (key == "tdx-qgs") {
		if (!v.empty())
			if (auto a = tdx::parseSocketAddress(v); !a)
				return a.error().withContext("setting 'tdx-qgs'");
		s.tdxQgs = v;
	} else
		return Error(ErrorCode::InvalidArgument, "unknown setting '" + std::string(key) + "'");
	return {};
}

Status applySettingsText(Settings &settings, std::string_view text, const std::string &origin)
{
	GKeyFilePtr kf(g_key_file_new());
	GError *raw = nullptr;
	if (!g_key_file_load_from_data(kf.get(), text.data(), text.size(), G_KEY_FILE_NONE, &raw)) {
		GErrorPtr err(raw);
		return Error::fromGError(err.get(), "config file " + origin);
	}
	gsize ngroups = 0;
	GStrvPtr groups(g_key_file_get_groups(kf.get(), &ngroups));
	for (gsize i = 0; i < ngroups; ++i)
		if (kConfigGroup != groups.get()[i])
			return Error(ErrorCode::InvalidArgument,
				     "config file " + origin + ": unknown group [" + groups.get()[i] +
					     "] (expected [" + std::string(kConfigGroup) + "])");
	std::string group(kConfigGroup);
	if (!g_key_file_has_group(kf.get(), group.c_str()))
		return {};
	gsize nkeys = 0;
	GStrvPtr keys(g_key_file_get_keys(kf.get(), group.c_str(), &nkeys, nullptr));
	for (gsize i = 0; i < nkeys; ++i) {
		const char *key = keys.get()[i];
		GCharPtr value(g_key_file_get_string(kf.get(), group.c_str(), key, &raw));
		if (!value) {
			GErrorPtr err(raw);
			return Error::fromGError(err.get(), "config file " + origin);
		}
		if (auto st = applySetting(settings, key, value.get()); !st)
			return st.error().withContext("config file " + origin);
	}
	return {};
}

Status applySettingsFile(Settings &settings, const std::string &path)
{
	std::string text = CVM_TRY(readTextFile(path, 1u << 20));
	return applySettingsText(settings, text, path);
}

ConfigLocation configLocation(const std::string &explicitPath)
{
	if (!explicitPath.empty())
		return { explicitPath, true };
	if (const char *env = g_getenv("CVM_LAUNCH_CONFIG"); env && *env)
		return { env, true };
	return { std::string(kDefaultConfigPath), false };
}

Result<Settings> loadSettings(const ConfigLocation &location)
{
	Settings settings;
	if (location.required || fileExists(location.path))
		CVM_CHECK(applySettingsFile(settings, location.path));
	return settings;
}

Status validateSettings(const Settings &s)
{
	if (s.stateDir.empty() || s.stateDir[0] != '/')
		return Error(ErrorCode::InvalidArgument, "state-dir must be an absolute path, not '" + s.stateDir + "'");
	if (!s.server.empty() && !g_str_has_prefix(s.server.c_str(), "https://") &&
	    !g_str_has_prefix(s.server.c_str(), "http://"))
		return Error(ErrorCode::InvalidArgument, "server must be an http:// or https:// URL, not '" + s.server + "'");
	return {};
}

} // namespace cvm::plugin
