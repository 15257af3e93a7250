// SPDX-License-Identifier: Apache-2.0
//
// The crypto bound of a launch+validate flow: what the server cannot avoid
// per launch is one fresh P-384 key pair and one ECDH derivation against the
// platform's PDH. The PDH itself is validated once per platform chain (the
// server caches verified chains with the parsed key), so the bound's derive,
// like the server's, checks only that the peer is a point on the curve, not
// the full n·Q = O test (P-384 has cofactor 1). Measured in-process, in the
// same run as the flows, as calls per second and as CPU time per call (the
// latter does not depend on how busy the machine is).
#pragma once

#include <functional>

namespace cvm::bench {

struct Rate {
	double perSecond = 0;   // calls per second of wall time, all threads
	double cpuMsPerCall = 0; // thread CPU time per call
};

// Calls `op` in a loop on `threads` threads for `seconds`.
Rate callsPerSecond(unsigned threads, double seconds, const std::function<void()> &op);

// Keygen + derive operations on `threads` threads for `seconds`.
Rate cryptoBound(unsigned threads, double seconds);

} // namespace cvm::bench
