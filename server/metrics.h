// SPDX-License-Identifier: Apache-2.0
//
// Counters and latency histograms for GET /metrics, rendered in the
// Prometheus text exposition format (version 0.0.4). Thread-safe: the HTTP
// front end records requests, worker threads record verdicts.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace cvm::server {

enum class Endpoint { Register, Show, Revoke, Audit, Launch, Validate, End, TdxLaunch, Quote, Metrics, Health, Other };
std::string_view endpointName(Endpoint endpoint);

class Metrics
{
public:
	static constexpr std::array<double, 12> kBuckets = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
							     0.1,   0.25,   0.5,   1.0,  2.5,   5.0 };

	void recordRequest(Endpoint endpoint, unsigned status, double seconds);
	// Outcome of a launch or validation: "ok" or the error code.
	void recordVerdict(std::string_view stage, std::string_view verdict);
	// Platform chain checks: "verified", "cache-hit"; CEK lookups: "cache", "kds", "failed".
	void recordEvent(std::string_view name, std::string_view result);

	std::string render() const;

private:
	struct Histogram {
		std::array<uint64_t, kBuckets.size()> buckets{};
		uint64_t count = 0;
		double sum = 0;
	};
	mutable std::mutex mutex_;
	std::map<std::pair<Endpoint, unsigned>, uint64_t> requests_;
	std::map<Endpoint, Histogram> latency_;
	std::map<std::pair<std::string, std::string>, uint64_t> verdicts_;
	std::map<std::pair<std::string, std::string>, uint64_t> events_;
};

} // namespace cvm::server
