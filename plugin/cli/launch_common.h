// SPDX-License-Identifier: Apache-2.0
//
// What `cvm-launch start` (libvirt) and `cvm-launch qemu` (QMP) share: the
// host settings with their command-line overrides, the AS client, progress
// lines on stderr and the --json result object, the exit code of an outcome.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <glib.h>

#include "cvm/attest/client.h"
#include "cvm/plugin/launch.h"
#include "cvm/plugin/settings.h"

namespace cvm::cli {

// --config FILE plus one long option per setting (--server, --as-timeout, ...).
class SettingsOptions
{
public:
	SettingsOptions();
	~SettingsOptions();
	// Appends the entries to `entries` (before its terminator is added).
	void addEntries(std::vector<GOptionEntry> &entries);
	// Defaults → file → command line, validated.
	Result<plugin::Settings> load() const;
	// Whether --KEY was on the command line (--server then beats the metadata).
	bool given(std::string_view key) const;

private:
	char *config_ = nullptr;
	std::vector<std::string> longNames_;
	std::vector<std::string> descriptions_;
	std::vector<char *> values_;
};

Result<std::unique_ptr<attest::Client>> makeAsClient(const plugin::Settings &settings, const std::string &server,
						     const std::string &caFile);

// One line per finished step on stderr: "cvm-launch: measure ok (12.3 ms)";
// on a terminal with a mark and colour. Silent when quiet.
plugin::StepListener progressPrinter(bool quiet);

// The result object of --json.
JsonNodePtr outcomeToJson(const plugin::LaunchOutcome &outcome, const std::string &domain);

// 0 ok; 2 when the cause was transport/protocol (AS or platform unreachable,
// garbage answers); 1 for every other failure or refusal.
int outcomeExitCode(const plugin::LaunchOutcome &outcome);

// Prints the outcome (JSON on stdout, or the verdict/cause on stderr) and
// returns its exit code.
int reportOutcome(const plugin::LaunchOutcome &outcome, const std::string &domain, bool json);

} // namespace cvm::cli
