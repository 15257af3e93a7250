// SPDX-License-Identifier: Apache-2.0
#include "platform_pool.h"

#include <memory>

namespace cvm::bench {

PlatformPool::PlatformPool(unsigned threads) : main_(g_main_context_ref_thread_default())
{
	unsigned n = threads ? threads : g_get_num_processors();
	for (unsigned i = 0; i < n; ++i)
		threads_.emplace_back([this] { loop(); });
}

PlatformPool::~PlatformPool()
{
	{
		std::lock_guard<std::mutex> guard(mutex_);
		stopping_ = true;
	}
	wake_.notify_all();
	for (auto &t : threads_)
		t.join();
	g_main_context_unref(main_);
}

void PlatformPool::loop()
{
	for (;;) {
		std::function<void()> job;
		{
			std::unique_lock<std::mutex> lock(mutex_);
			wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
			if (queue_.empty())
				return;
			job = std::move(queue_.front());
			queue_.pop_front();
		}
		job();
	}
}

void PlatformPool::run(std::function<void()> work, std::function<void()> done)
{
	using Fn = std::function<void()>;
	auto job = [this, work = std::move(work), done = std::move(done)]() mutable {
		work();
		g_main_context_invoke_full(
			main_, G_PRIORITY_DEFAULT,
			[](gpointer data) -> gboolean {
				(*static_cast<Fn *>(data))();
				return G_SOURCE_REMOVE;
			},
			std::make_unique<Fn>(std::move(done)).release(),
			[](gpointer data) { std::unique_ptr<Fn> owned(static_cast<Fn *>(data)); });
	};
	{
		std::lock_guard<std::mutex> guard(mutex_);
		queue_.push_back(std::move(job));
	}
	wake_.notify_one();
}

} // namespace cvm::bench
