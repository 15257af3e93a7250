// SPDX-License-Identifier: Apache-2.0
//
// Test-only fault knobs of the simulator, from `--fault KNOB[=VALUE]`
// options and the environment variable CVM_SEV_SIM_FAULTS
// ("KNOB[=VALUE],KNOB[=VALUE]"):
//
//   wrong-measurement        LAUNCH_MEASURE reports a MEASURE with a flipped bit
//   delay-ms=N               wait N ms before answering each command
//   drop-after=N             close the client connection instead of answering
//                            command N+1 (counted over all connections)
//   malformed-reply=CMD|N    the reply to CMD (or to the N-th command) is
//                            cut off mid-JSON
//   exit-at=CMD              the process exits (status 1) when CMD arrives,
//                            before answering (query-sev-launch-measure,
//                            sev-inject-launch-secret, cont, ...)
//   exit-at=measure          the process exits during LAUNCH_MEASURE at start-up
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cvm/common/error.h"

namespace cvm::sim {

inline constexpr const char *kFaultsEnv = "CVM_SEV_SIM_FAULTS";

struct Faults {
	bool wrongMeasurement = false;
	unsigned delayMs = 0;
	std::optional<unsigned> dropAfter;
	std::optional<std::string> malformedReplyCommand;
	std::optional<unsigned> malformedReplyIndex; // 1-based
	std::vector<std::string> exitAt;

	bool exitsAt(std::string_view what) const;
	bool any() const;
};

// Adds the knobs of one "KNOB[=VALUE]" item (or a comma-separated list).
Status addFaults(Faults &faults, std::string_view spec);

} // namespace cvm::sim
