// SPDX-License-Identifier: Apache-2.0
//
// Bounds how many refused launch attempts per VM reach the audit table. A
// refusal before a launch exists (bad chain, over the bound, expired
// registration) costs the host nothing, and audit rows are append-only, so
// without a bound a host could grow the database without limit. Each VM has
// a bucket of `perMinute` records refilled continuously; refusals beyond it
// are counted, and the next recorded one says how many were left out. The
// metrics and the log still see every refusal.
//
// Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace cvm::server {

class RefusalLimiter
{
public:
	// perMinute == 0: no limit.
	explicit RefusalLimiter(unsigned perMinute) : perMinute_(perMinute) {}

	struct Decision {
		bool record = true;
		uint64_t suppressedBefore = 0; // refusals left out since the last recorded one
	};
	// `nowMs` is a monotonic time in milliseconds.
	Decision admit(const std::string &vmId, int64_t nowMs);

	// VMs tracked at most; idle full buckets are dropped first.
	static constexpr size_t kMaxTracked = 4096;

private:
	struct Bucket {
		double tokens = 0;
		int64_t lastMs = 0;
		uint64_t suppressed = 0;
	};
	void prune(int64_t nowMs);

	unsigned perMinute_;
	std::mutex mutex_;
	std::unordered_map<std::string, Bucket> buckets_;
};

} // namespace cvm::server
