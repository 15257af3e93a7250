// SPDX-License-Identifier: Apache-2.0
//
// Runs a callable when the scope ends unless released: rollback on error paths.
#pragma once

#include <utility>

namespace cvm {

template<typename F>
class ScopeExit
{
public:
	explicit ScopeExit(F &&f) : f_(std::forward<F>(f)) {}
	~ScopeExit()
	{
		if (active_)
			f_();
	}
	ScopeExit(const ScopeExit &) = delete;
	ScopeExit &operator=(const ScopeExit &) = delete;

	void release() { active_ = false; }

private:
	F f_;
	bool active_ = true;
};

template<typename F>
ScopeExit(F &&) -> ScopeExit<F>;

} // namespace cvm
