// SPDX-License-Identifier: Apache-2.0
//
// Where a flow's time goes: the server's own request time (its /metrics
// histogram sums for launch and validate), the CPU time of the server process
// and of the bench process (whose stand-in platform crypto shares the CPUs),
// sampled before and after a load run.
#pragma once

#include <string>

#include "cvm/attest/http_transport.h"

namespace cvm::bench {

struct ServerSample {
	double launchSeconds = 0;   // sum of the launch request durations
	double validateSeconds = 0; // sum of the validate request durations
	double endSeconds = 0;      // sum of the end request durations
	double serverCpu = 0;       // user+system seconds of the cvm-attestd process
	double benchCpu = 0;        // user+system seconds of this process
	double chainHits = 0;       // chain-cache events
	double chainMisses = 0;
};

ServerSample sampleServer(attest::HttpTransport &client, int serverPid);

// Per flow, in milliseconds, between two samples.
struct FlowShare {
	double serverRequestMs = 0; // launch + validate + end inside the server
	double serverCpuMs = 0;
	double benchCpuMs = 0;
	double chainHitRatio = 0;   // of the launches in between
};
FlowShare shareBetween(const ServerSample &before, const ServerSample &after, size_t flows);

} // namespace cvm::bench
