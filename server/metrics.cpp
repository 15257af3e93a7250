// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-attestd"

#include "metrics.h"

#include <cstdio>

namespace cvm::server {

std::string_view endpointName(Endpoint endpoint)
{
	switch (endpoint) {
	case Endpoint::Register: return "register";
	case Endpoint::Show: return "show";
	case Endpoint::Revoke: return "revoke";
	case Endpoint::Audit: return "audit";
	case Endpoint::Launch: return "launch";
	case Endpoint::Validate: return "validate";
	case Endpoint::End: return "end";
	case Endpoint::TdxLaunch: return "tdx-launch";
	case Endpoint::Quote: return "quote";
	case Endpoint::Metrics: return "metrics";
	case Endpoint::Health: return "health";
	case Endpoint::Other: return "other";
	}
	return "other";
}

void Metrics::recordRequest(Endpoint endpoint, unsigned status, double seconds)
{
	std::lock_guard<std::mutex> guard(mutex_);
	++requests_[{ endpoint, status }];
	Histogram &h = latency_[endpoint];
	for (size_t i = 0; i < kBuckets.size(); ++i)
		if (seconds <= kBuckets[i])
			++h.buckets[i];
	++h.count;
	h.sum += seconds;
}

void Metrics::recordVerdict(std::string_view stage, std::string_view verdict)
{
	std::lock_guard<std::mutex> guard(mutex_);
	++verdicts_[{ std::string(stage), std::string(verdict) }];
}

void Metrics::recordEvent(std::string_view name, std::string_view result)
{
	std::lock_guard<std::mutex> guard(mutex_);
	++events_[{ std::string(name), std::string(result) }];
}

namespace {

// Label values here come from fixed vocabularies (endpoints, error codes);
// escape anyway so the exposition stays well-formed whatever they hold.
std::string escapeLabel(std::string_view v)
{
	std::string out;
	for (char c : v) {
		if (c == '\\' || c == '"')
			out += '\\';
		if (c == '\n') {
			out += "\\n";
			continue;
		}
		out += c;
	}
	return out;
}

std::string number(double v)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%.6g", v);
	return buf;
}

} // namespace

std::string Metrics::render() const
{
	std::lock_guard<std::mutex> guard(mutex_);
	std::string out;
	out += "# HELP cvm_attestd_http_requests_total HTTP requests by endpoint and status.\n";
	out += "# TYPE cvm_attestd_http_requests_total counter\n";
	for (const auto &[key, count] : requests_)
		out += "cvm_attestd_http_requests_total{endpoint=\"" + std::string(endpointName(key.first)) +
		       "\",status=\"" + std::to_string(key.second) + "\"} " + std::to_string(count) + "\n";

	out += "# HELP cvm_attestd_http_request_duration_seconds Time from request read to response queued.\n";
	out += "# TYPE cvm_attestd_http_request_duration_seconds histogram\n";
	for (const auto &[endpoint, h] : latency_) {
		std::string label = "endpoint=\"" + std::string(endpointName(endpoint)) + "\"";
		for (size_t i = 0; i < kBuckets.size(); ++i)
			out += "cvm_attestd_http_request_duration_seconds_bucket{" + label + ",le=\"" +
			       number(kBuckets[i]) + "\"} " + std::to_string(h.buckets[i]) + "\n";
		out += "cvm_attestd_http_request_duration_seconds_bucket{" + label + ",le=\"+Inf\"} " +
		       std::to_string(h.count) + "\n";
		out += "cvm_attestd_http_request_duration_seconds_sum{" + label + "} " + number(h.sum) + "\n";
		out += "cvm_attestd_http_request_duration_seconds_count{" + label + "} " +
		       std::to_string(h.count) + "\n";
	}

	out += "# HELP cvm_attestd_verdicts_total Launch and validation outcomes (ok or the refusal code).\n";
	out += "# TYPE cvm_attestd_verdicts_total counter\n";
	for (const auto &[key, count] : verdicts_)
		out += "cvm_attestd_verdicts_total{stage=\"" + escapeLabel(key.first) + "\",verdict=\"" +
		       escapeLabel(key.second) + "\"} " + std::to_string(count) + "\n";

	out += "# HELP cvm_attestd_events_total Internal events (chain cache, CEK lookups, expiry).\n";
	out += "# TYPE cvm_attestd_events_total counter\n";
	for (const auto &[key, count] : events_)
		out += "cvm_attestd_events_total{event=\"" + escapeLabel(key.first) + "\",result=\"" +
		       escapeLabel(key.second) + "\"} " + std::to_string(count) + "\n";
	return out;
}

} // namespace cvm::server
