// SPDX-License-Identifier: Apache-2.0
#include "load.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include <glib.h>
#include <sys/wait.h>

#include "cvm/common/file.h"

namespace cvm::bench {

double LoadResult::percentile(double p) const
{
	if (latencyMs.empty())
		return 0;
	std::vector<double> sorted = latencyMs;
	std::sort(sorted.begin(), sorted.end());
	size_t index = static_cast<size_t>(p / 100.0 * static_cast<double>(sorted.size() - 1) + 0.5);
	return sorted[std::min(index, sorted.size() - 1)];
}

LoadResult runClosedLoop(unsigned clients, double seconds, const Flow &flow)
{
	using Clock = std::chrono::steady_clock;
	LoadResult result;
	result.clients = clients;
	auto start = Clock::now();
	auto deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
	unsigned inFlight = 0;
	GMainContext *ctx = g_main_context_get_thread_default();

	std::function<void(unsigned)> next = [&](unsigned client) {
		if (Clock::now() >= deadline)
			return;
		++inFlight;
		auto t0 = Clock::now();
		flow(client, [&, client, t0](bool ok) {
			--inFlight;
			if (ok)
				result.latencyMs.push_back(
					std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
			else
				++result.failures;
			next(client);
		});
	};
	for (unsigned c = 0; c < clients; ++c)
		next(c);
	while (inFlight > 0)
		g_main_context_iteration(ctx, TRUE);
	result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
	return result;
}

ServerProcess::ServerProcess(const std::string &exe, const std::string &workDir, std::vector<std::string> args)
{
	std::string ready = workDir + "/ready";
	args.insert(args.begin(), exe);
	args.push_back("--ready-file");
	args.push_back(ready);
	std::vector<char *> argv;
	for (auto &a : args)
		argv.push_back(a.data());
	argv.push_back(nullptr);
	GError *err = nullptr;
	GPid pid;
	if (!g_spawn_async(nullptr, argv.data(), nullptr,
			   static_cast<GSpawnFlags>(G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDERR_TO_DEV_NULL),
			   nullptr, nullptr, &pid, &err)) {
		fprintf(stderr, "as-bench: cannot start %s: %s\n", exe.c_str(), err->message);
		exit(1);
	}
	pid_ = pid;
	for (int i = 0; i < 1000; ++i) {
		auto text = readTextFile(ready);
		if (text.ok() && !text->empty()) {
			url_ = text->substr(0, text->find('\n'));
			if (!url_.empty() && url_.back() == '/')
				url_.pop_back();
			return;
		}
		std::this_thread::sleep_for(std::chrono::milliseconds(20));
	}
	fprintf(stderr, "as-bench: cvm-attestd did not start\n");
	exit(1);
}

ServerProcess::~ServerProcess()
{
	kill(pid_, SIGTERM);
	int status;
	waitpid(pid_, &status, 0);
}

} // namespace cvm::bench
