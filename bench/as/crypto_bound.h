// SPDX-License-Identifier: Apache-2.0
//
// The crypto bound of a launch+validate flow: what the server cannot avoid
// per launch is one fresh P-384 key pair and one ECDH derivation against the
// platform's PDH. Measured in-process, in the same run as the flows.
#pragma once

#include <functional>

namespace cvm::bench {

// Calls `op` in a loop on `threads` threads for `seconds`; calls per second.
double callsPerSecond(unsigned threads, double seconds, const std::function<void()> &op);

// Keygen + derive operations per second on `threads` threads for `seconds`.
double cryptoBound(unsigned threads, double seconds);

} // namespace cvm::bench
