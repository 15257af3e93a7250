// SPDX-License-Identifier: Apache-2.0
//
// Worker threads for the slow parts of a request (ECDH and signature checks,
// SQLite commits), so the main context that runs libsoup only parses and
// writes HTTP. A job runs on a worker; its completion runs back on the main
// context, where libsoup objects may be touched.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <glib.h>

namespace cvm::server {

class WorkerPool
{
public:
	// threads == 0: one per processor. `main` is where completions run.
	// At most `maxQueued` jobs wait for a thread (0: no limit).
	WorkerPool(unsigned threads, GMainContext *main, size_t maxQueued = 0);
	// Finishes the queued jobs, joins the threads (so none outlives the
	// pool), then runs the completions they queued.
	~WorkerPool();
	WorkerPool(const WorkerPool &) = delete;
	WorkerPool &operator=(const WorkerPool &) = delete;

	// Runs `work` on a worker, then `done` with its result on the main
	// context. False (and nothing runs) when the queue is full.
	template<typename T>
	bool submit(std::function<T()> work, std::function<void(T)> done)
	{
		return run([this, work = std::move(work), done = std::move(done)]() mutable {
			auto result = std::make_shared<T>(work());
			toMain([done = std::move(done), result]() mutable { done(std::move(*result)); });
		});
	}

	bool run(std::function<void()> job);
	void toMain(std::function<void()> fn);
	unsigned threads() const { return static_cast<unsigned>(threads_.size()); }

private:
	void loop();

	GMainContext *main_;
	size_t maxQueued_;
	std::mutex mutex_;
	std::condition_variable wake_;
	std::deque<std::function<void()>> queue_;
	bool stopping_ = false;
	std::vector<std::thread> threads_;
};

} // namespace cvm::server
