// SPDX-License-Identifier: Apache-2.0
//
// A closed-loop load driver: N clients on one main context, each starting its
// next flow as soon as the previous one finished, for a fixed time. Flows are
// asynchronous (libsoup), so one thread drives every client.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace cvm::bench {

// Starts one flow for `client`; calls done(ok) on the thread-default context
// when it has finished.
using Flow = std::function<void(unsigned client, std::function<void(bool ok)> done)>;

struct LoadResult {
	unsigned clients = 0;
	double seconds = 0;
	size_t failures = 0;
	std::string firstFailure;
	std::vector<double> latencyMs; // one per successful flow

	double rate() const { return seconds > 0 ? latencyMs.size() / seconds : 0; }
	double percentile(double p) const;
};

LoadResult runClosedLoop(unsigned clients, double seconds, const Flow &flow);

// Spawns cvm-attestd with `args` and a ready file; stops it on destruction.
class ServerProcess
{
public:
	ServerProcess(const std::string &exe, const std::string &workDir, std::vector<std::string> args);
	~ServerProcess();
	const std::string &url() const { return url_; }
	int pid() const { return pid_; }

private:
	int pid_ = 0;
	std::string url_;
};

} // namespace cvm::bench
