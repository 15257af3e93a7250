// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "metrics.h"

using namespace cvm::server;

TEST_CASE("metrics render as Prometheus text with cumulative buckets")
{
	Metrics m;
	m.recordRequest(Endpoint::Launch, 201, 0.003);
	m.recordRequest(Endpoint::Launch, 201, 0.2);
	m.recordRequest(Endpoint::Launch, 409, 0.0005);
	m.recordVerdict("validate", "measurement-mismatch");
	m.recordVerdict("validate", "measurement-mismatch");
	m.recordEvent("cek-lookup", "ka\"ds");
	std::string text = m.render();
	CHECK(text.find("cvm_attestd_http_requests_total{endpoint=\"launch\",status=\"201\"} 2\n") != std::string::npos);
	CHECK(text.find("cvm_attestd_http_requests_total{endpoint=\"launch\",status=\"409\"} 1\n") != std::string::npos);
	CHECK(text.find("cvm_attestd_http_request_duration_seconds_bucket{endpoint=\"launch\",le=\"0.001\"} 1\n") !=
	      std::string::npos);
	CHECK(text.find("cvm_attestd_http_request_duration_seconds_bucket{endpoint=\"launch\",le=\"0.005\"} 2\n") !=
	      std::string::npos);
	CHECK(text.find("cvm_attestd_http_request_duration_seconds_bucket{endpoint=\"launch\",le=\"+Inf\"} 3\n") !=
	      std::string::npos);
	CHECK(text.find("cvm_attestd_http_request_duration_seconds_count{endpoint=\"launch\"} 3\n") != std::string::npos);
	CHECK(text.find("cvm_attestd_verdicts_total{stage=\"validate\",verdict=\"measurement-mismatch\"} 2\n") !=
	      std::string::npos);
	CHECK(text.find("result=\"ka\\\"ds\"") != std::string::npos);
	CHECK(text.find("# TYPE cvm_attestd_http_request_duration_seconds histogram") != std::string::npos);
}
