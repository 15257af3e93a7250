// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-attestd"

#include "refusal_limiter.h"

#include <algorithm>

namespace cvm::server {

RefusalLimiter::Decision RefusalLimiter::admit(const std::string &vmId, int64_t nowMs)
{
	if (perMinute_ == 0)
		return {};
	std::lock_guard<std::mutex> guard(mutex_);
	auto it = buckets_.find(vmId);
	if (it == buckets_.end()) {
		if (buckets_.size() >= kMaxTracked)
			prune(nowMs);
		it = buckets_.emplace(vmId, Bucket{ static_cast<double>(perMinute_), nowMs, 0 }).first;
	}
	Bucket &b = it->second;
	double refill = static_cast<double>(std::max<int64_t>(0, nowMs - b.lastMs)) * perMinute_ / 60000.0;
	b.tokens = std::min(static_cast<double>(perMinute_), b.tokens + refill);
	b.lastMs = nowMs;
	if (b.tokens < 1) {
		++b.suppressed;
		return Decision{ false, 0 };
	}
	b.tokens -= 1;
	Decision d{ true, b.suppressed };
	b.suppressed = 0;
	return d;
}

void RefusalLimiter::prune(int64_t nowMs)
{
	// A bucket that would be full again has nothing to remember, except a
	// count of left-out refusals: those are kept so they are reported.
	for (auto it = buckets_.begin(); it != buckets_.end();) {
		bool full = it->second.tokens + static_cast<double>(nowMs - it->second.lastMs) * perMinute_ / 60000.0 >=
			    perMinute_;
		if (full && it->second.suppressed == 0)
			it = buckets_.erase(it);
		else
			++it;
	}
	if (buckets_.size() >= kMaxTracked)
		buckets_.clear(); // a flood across many VMs: start over rather than grow
}

} // namespace cvm::server
