// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-attestd"

#include "worker_pool.h"

#include <memory>

namespace cvm::server {

using Job = std::function<void()>;

WorkerPool::WorkerPool(unsigned threads, GMainContext *main) : main_(g_main_context_ref(main))
{
	threads_ = threads ? threads : g_get_num_processors();
	// Exclusive threads: started up front, so the first requests do not pay
	// for thread creation.
	pool_ = g_thread_pool_new(runJob, this, static_cast<gint>(threads_), TRUE, nullptr);
}

WorkerPool::~WorkerPool()
{
	g_thread_pool_free(pool_, FALSE, TRUE);
	// Completions queued by the last jobs.
	while (g_main_context_pending(main_))
		g_main_context_iteration(main_, FALSE);
	g_main_context_unref(main_);
}

void WorkerPool::runJob(gpointer data, gpointer)
{
	std::unique_ptr<Job> job(static_cast<Job *>(data));
	(*job)();
}

void WorkerPool::run(Job job)
{
	g_thread_pool_push(pool_, std::make_unique<Job>(std::move(job)).release(), nullptr);
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
