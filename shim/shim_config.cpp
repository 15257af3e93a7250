// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-shim"

#include "shim_config.h"

#include <cstdlib>

#include <glib.h>

#include "cvm-config.h"
#include "cvm/common/file.h"
#include "cvm/common/gptr.h"

namespace cvm::shim {

namespace {

std::string configPath(const std::string &argv0)
{
	if (const char *e = std::getenv("CVM_SEV_SHIM_CONFIG"); e && *e)
		return e;
	if (argv0.find('/') != std::string::npos) {
		GCharPtr dir(g_path_get_dirname(argv0.c_str()));
		std::string sibling = std::string(dir.get()) + "/cvm-sev-shim.conf";
		if (fileExists(sibling))
			return sibling;
	}
	std::string system = std::string(CVM_SYSCONFDIR) + "/cvm-launch/sev-shim.conf";
	return fileExists(system) ? system : "";
}

Status readKey(GKeyFile *kf, const char *key, const std::string &path, std::string &out)
{
	GError *err = nullptr;
	GCharPtr v(g_key_file_get_string(kf, "shim", key, &err));
	if (err) {
		bool missing = g_error_matches(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND) ||
			       g_error_matches(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_GROUP_NOT_FOUND);
		GErrorPtr owned(err);
		if (missing)
			return {};
		return Error::fromGError(err, path + ": [shim] " + key);
	}
	if (!v || !*v.get() || v.get()[0] != '/')
		return Error(ErrorCode::InvalidArgument,
			     path + ": [shim] " + key + " must be an absolute path");
	out = v.get();
	return {};
}

Status readBool(GKeyFile *kf, const char *key, const std::string &path, bool &out)
{
	if (!g_key_file_has_key(kf, "shim", key, nullptr))
		return {};
	GError *err = nullptr;
	gboolean v = g_key_file_get_boolean(kf, "shim", key, &err);
	if (err) {
		GErrorPtr owned(err);
		return Error::fromGError(err, path + ": [shim] " + key);
	}
	out = v;
	return {};
}

} // namespace

Result<ShimConfig> loadShimConfig(const std::string &argv0)
{
	ShimConfig c;
	c.source = configPath(argv0);
	if (!c.source.empty()) {
		GKeyFilePtr kf(g_key_file_new());
		GError *err = nullptr;
		if (!g_key_file_load_from_file(kf.get(), c.source.c_str(), G_KEY_FILE_NONE, &err)) {
			GErrorPtr owned(err);
			return Error::fromGError(err, "cannot read " + c.source);
		}
		CVM_CHECK(readKey(kf.get(), "qemu", c.source, c.qemu));
		CVM_CHECK(readKey(kf.get(), "state-dir", c.source, c.stateDir));
		CVM_CHECK(readBool(kf.get(), "test-commands", c.source, c.testCommands));
	}
	if (const char *e = std::getenv("CVM_SEV_SHIM_QEMU"); e && *e)
		c.qemu = e;
	if (const char *e = std::getenv("CVM_SEV_SIM_STATE_DIR"); e && *e)
		c.stateDir = e;
	return c;
}

} // namespace cvm::shim
