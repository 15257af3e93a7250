// SPDX-License-Identifier: Apache-2.0
//
// The SEV side of the shim: the simulated secure processor behind the QMP
// commands QEMU would answer from the real one, and the guest's launch
// (LAUNCH_START at start-up, LAUNCH_FINISH at the first `cont`, or at
// start-up when QEMU runs without -S).
#pragma once

#include <memory>

#include "cvm/common/error.h"
#include "cvm/shim/launch_plan.h"
#include "cvm/shim/qmp_proxy.h"
#include "shim_config.h"

namespace cvm::shim {

class SevBackend
{
public:
	virtual ~SevBackend() = default;
	// The filter for the QMP monitors (borrowed from the backend).
	virtual CommandFilter &filter() = 0;
};

// Loads the platform from the configured state directory and, for a SEV
// guest, runs its launch up to LAUNCH_MEASURE. Failures read like QEMU's
// start-up errors (the shim prints them and exits 1).
Result<std::unique_ptr<SevBackend>> makeSevBackend(const ShimConfig &config, const LaunchPlan &plan);

} // namespace cvm::shim
