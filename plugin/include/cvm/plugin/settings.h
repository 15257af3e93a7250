// SPDX-License-Identifier: Apache-2.0
//
// cvm-launch's host settings: /etc/cvm-launch/cvm-launch.conf (GKeyFile, group
// [cvm-launch]) with a command-line option per key on top. The domain XML
// metadata (metadata.h) carries per-domain values; these are the host's
// defaults and its private material (the host token).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "cvm/common/error.h"

namespace cvm::plugin {

// Where the settings live; CVM_LAUNCH_CONFIG in the environment names another
// file (tests, and the libvirt hook of a build tree).
inline constexpr std::string_view kDefaultConfigPath = "/etc/cvm-launch/cvm-launch.conf";
inline constexpr std::string_view kConfigGroup = "cvm-launch";

struct Settings {
	std::string server;                     // default AS URL (metadata's server= wins)
	std::string caFile;                     // PEM bundle for the AS's TLS ("" = system store)
	std::string hostTokenFile;              // bearer token for the AS host endpoints ("" = none)
	unsigned stepTimeout = 60;              // seconds one platform step may take
	unsigned asTimeout = 30;                // seconds one AS request may take
	std::string stateDir = "/run/cvm-launch";
	std::string amdRoots = "/etc/cvm-launch/amd";
	std::string connectUri = "qemu:///system";
	unsigned pendingTimeout = 300;          // seconds a pending-launch record authorises a start
	unsigned endTimeout = 10;               // seconds the hook's AS notification may take
	std::string tdxQgs;                     // a TD's quote generation service: absolute UNIX
	                                        // socket path or vsock:CID:PORT ("" = none given)
};

// One setting as it appears in the file and on the command line.
struct SettingInfo {
	const char *key;          // "step-timeout" (= the long option name)
	const char *argument;     // "SECONDS", "URL", ...
	const char *description;
};
// Every setting, in documentation order (ends with a null key).
const SettingInfo *settingInfos();

// Sets `key` from its text form (file or command line). Unknown keys and bad
// values are errors that name the key.
Status applySetting(Settings &settings, std::string_view key, std::string_view value);

// Reads a key file on top of `settings`. Unknown groups or keys are refused
// (a misspelt key must not fall back to a default silently).
Status applySettingsText(Settings &settings, std::string_view text, const std::string &origin);
Status applySettingsFile(Settings &settings, const std::string &path);

// The path in use: `explicitPath` when given, else $CVM_LAUNCH_CONFIG, else
// the default. `required` tells whether a missing file is an error (it is
// not for the default path: the defaults apply).
struct ConfigLocation {
	std::string path;
	bool required = false;
};
ConfigLocation configLocation(const std::string &explicitPath = {});

// Defaults, then the file at `location` (if present or required).
Result<Settings> loadSettings(const ConfigLocation &location);

// Checks values that only make sense together (timeouts ≥ 1, an absolute state dir).
Status validateSettings(const Settings &settings);

} // namespace cvm::plugin
