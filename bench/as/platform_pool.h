// SPDX-License-Identifier: Apache-2.0
//
// Threads for the stand-in platform's crypto in the benchmark (opening the
// session, measuring, opening the secret packet): with it on the thread that
// drives every HTTP client, 32 clients queued behind one CPU and the bench,
// not the server, set the pace. A job runs on a pool thread; its completion
// runs on the main context that created the pool.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include <glib.h>

namespace cvm::bench {

class PlatformPool
{
public:
	// threads == 0: one per processor.
	explicit PlatformPool(unsigned threads);
	~PlatformPool();
	PlatformPool(const PlatformPool &) = delete;
	PlatformPool &operator=(const PlatformPool &) = delete;

	// `work` on a pool thread, then `done` on the thread-default main
	// context of the caller.
	void run(std::function<void()> work, std::function<void()> done);
	unsigned threads() const { return static_cast<unsigned>(threads_.size()); }

private:
	void loop();

	GMainContext *main_;
	std::mutex mutex_;
	std::condition_variable wake_;
	std::deque<std::function<void()>> queue_;
	bool stopping_ = false;
	std::vector<std::thread> threads_;
};

} // namespace cvm::bench
