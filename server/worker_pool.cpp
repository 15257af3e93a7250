// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-attestd"

#include "worker_pool.h"

namespace cvm::server {

using Job = std::function<void()>;

WorkerPool::WorkerPool(unsigned threads, GMainContext *main, size_t maxQueued)
	: main_(g_main_context_ref(main)), maxQueued_(maxQueued)
{
	unsigned n = threads ? threads : g_get_num_processors();
	for (unsigned i = 0; i < n; ++i)
		threads_.emplace_back([this] { loop(); });
}

WorkerPool::~WorkerPool()
{
	{
		std::lock_guard<std::mutex> guard(mutex_);
		stopping_ = true;
	}
	wake_.notify_all();
	for (auto &t : threads_)
		t.join();
	// Completions queued by the last jobs.
	while (g_main_context_pending(main_))
		g_main_context_iteration(main_, FALSE);
	g_main_context_unref(main_);
}

void WorkerPool::loop()
{
	for (;;) {
		Job job;
		{
			std::unique_lock<std::mutex> lock(mutex_);
			wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
			if (queue_.empty())
				return; // stopping, and nothing left to do
			job = std::move(queue_.front());
			queue_.pop_front();
		}
		job();
	}
}

bool WorkerPool::run(Job job)
{
	{
		std::lock_guard<std::mutex> guard(mutex_);
		if (maxQueued_ && queue_.size() >= maxQueued_)
			return false;
		queue_.push_back(std::move(job));
	}
	wake_.notify_one();
	return true;
}

void WorkerPool::toMain(Job fn)
{
	g_main_context_invoke_full(
		main_, G_PRIORITY_DEFAULT,
		[](gpointer data) -> gboolean {
			(*static_cast<Job *>(data))();
			return G_SOURCE_REMOVE;
		},
		std::make_unique<Job>(std::move(fn)).release(),
		[](gpointer data) { std::unique_ptr<Job> owned(static_cast<Job *>(data)); });
}

} // namespace cvm::server
