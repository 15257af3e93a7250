// SPDX-License-Identifier: Apache-2.0
#include "server_share.h"

#include <cstdio>
#include <cstdlib>
#include <sys/resource.h>
#include <unistd.h>

#include "cvm/common/file.h"

namespace cvm::bench {

namespace {

double metric(const std::string &metrics, const std::string &key)
{
	size_t at = metrics.find(key + " ");
	return at == std::string::npos ? 0 : atof(metrics.c_str() + at + key.size() + 1);
}

double histogramSum(const std::string &metrics, const std::string &endpoint)
{
	return metric(metrics, "cvm_attestd_http_request_duration_seconds_sum{endpoint=\"" + endpoint + "\"}");
}

// utime and stime (fields 14 and 15) of /proc/PID/stat, after the ")" of comm.
double processCpu(int pid)
{
	auto text = readTextFile("/proc/" + std::to_string(pid) + "/stat");
	if (!text)
		return 0;
	size_t paren = text->rfind(')');
	if (paren == std::string::npos)
		return 0;
	unsigned long utime = 0, stime = 0;
	if (sscanf(text->c_str() + paren + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
		   &stime) != 2)
		return 0;
	return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double selfCpu()
{
	rusage u{};
	getrusage(RUSAGE_SELF, &u);
	auto s = [](const timeval &t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
	return s(u.ru_utime) + s(u.ru_stime);
}

} // namespace

ServerSample sampleServer(attest::HttpTransport &client, int serverPid)
{
	ServerSample s;
	auto reply = client.send("GET", "/metrics", SecureBuffer());
	if (reply && reply->status == 200) {
		std::string text(asString(reply->body));
		s.launchSeconds = histogramSum(text, "launch");
		s.validateSeconds = histogramSum(text, "validate");
		s.endSeconds = histogramSum(text, "end");
		s.chainHits = metric(text, "cvm_attestd_events_total{event=\"chain-cache\",result=\"hit\"}");
		s.chainMisses = metric(text, "cvm_attestd_events_total{event=\"chain-cache\",result=\"miss\"}");
	}
	s.serverCpu = processCpu(serverPid);
	s.benchCpu = selfCpu();
	return s;
}

FlowShare shareBetween(const ServerSample &before, const ServerSample &after, size_t flows)
{
	FlowShare f;
	if (flows == 0)
		return f;
	double n = static_cast<double>(flows);
	f.serverRequestMs = (after.launchSeconds - before.launchSeconds + after.validateSeconds -
			     before.validateSeconds + after.endSeconds - before.endSeconds) * 1000 / n;
	f.serverCpuMs = (after.serverCpu - before.serverCpu) * 1000 / n;
	f.benchCpuMs = (after.benchCpu - before.benchCpu) * 1000 / n;
	double hits = after.chainHits - before.chainHits, misses = after.chainMisses - before.chainMisses;
	f.chainHitRatio = hits + misses > 0 ? hits / (hits + misses) : 0;
	return f;
}

} // namespace cvm::bench
