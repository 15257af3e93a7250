// SPDX-License-Identifier: Apache-2.0
//
// The intel-tdx branch of `cvm-launch start` and `cvm-launch qemu`: the TD
// launch (cvm/plugin/tdx_launch.h) with the host's settings.
#pragma once

#include <string>

#include "cvm/plugin/domain_xml.h"
#include "cvm/plugin/libvirt_connection.h"
#include "cvm/plugin/settings.h"
#include "cvm/plugin/tdx_launch.h"


namespace cvm::cli {

// The TD launch options for a VM: the AS URL and VM id (for the hand-over)
// and the host's tdx-qgs setting.
Result<plugin::TdxLaunchOptions> tdxLaunchOptions(const plugin::Settings &settings, const std::string &server,
						  const std::string &vmId);

// `cvm-launch start` of a domain whose metadata says scheme="intel-tdx".
int launchTdDomain(plugin::LibvirtConnection &conn, const plugin::DomainXml &xml, plugin::TdxAttestationService &as,
		   plugin::LaunchJournal &journal, const plugin::TdxLaunchOptions &options, bool json, bool quiet);

} // namespace cvm::cli
