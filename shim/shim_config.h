// SPDX-License-Identifier: Apache-2.0
//
// Where the shim finds the real QEMU and the simulator's state directory.
// libvirtd runs emulators with a clean environment (LC_ALL, PATH, HOME and
// XDG_* of the domain only), so the shim reads a key file, the first of:
//   $CVM_SEV_SHIM_CONFIG
//   <directory of argv[0]>/cvm-sev-shim.conf   (a shim copy with its own setup)
//   <sysconfdir>/cvm-launch/sev-shim.conf
//
//   [shim]
//   qemu=/usr/bin/qemu-system-x86_64
//   state-dir=/var/lib/cvm-sev-sim
//   test-commands=false     # x-cvm-sim-guest-secret on SEV guests' monitors
//
// CVM_SEV_SHIM_QEMU and CVM_SEV_SIM_STATE_DIR override the file (tests that
// run the shim directly).
#pragma once

#include <string>

#include "cvm/common/error.h"

namespace cvm::shim {

struct ShimConfig {
	std::string qemu = "/usr/bin/qemu-system-x86_64";
	std::string stateDir = "/var/lib/cvm-sev-sim";
	bool testCommands = false;
	std::string source; // the file read, "" for the defaults
};

Result<ShimConfig> loadShimConfig(const std::string &argv0);

} // namespace cvm::shim
