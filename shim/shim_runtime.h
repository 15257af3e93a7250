// SPDX-License-Identifier: Apache-2.0
//
// The shim's life: (daemonize,) set up the SEV backend and the monitors,
// start QEMU, proxy until QEMU exits, and end the way QEMU ended.
#pragma once

#include "cvm/shim/launch_plan.h"
#include "shim_config.h"

namespace cvm::shim {

// Returns the process exit status (QEMU's).
int runShim(const ShimConfig &config, LaunchPlan plan);

} // namespace cvm::shim
