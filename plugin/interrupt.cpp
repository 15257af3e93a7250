// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-plugin"

#include "cvm/plugin/interrupt.h"

#include <atomic>
#include <csignal>
#include <cstring>
#include <unistd.h>

namespace cvm::plugin {

namespace {

std::atomic<int> received{ 0 };
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs a lock-free store");

struct sigaction oldInt, oldTerm;

void onSignal(int signo)
{
	int none = 0;
	if (received.compare_exchange_strong(none, signo)) {
		static const char note[] = "cvm-launch: interrupted: rolling back the launch\n";
		ssize_t n = write(STDERR_FILENO, note, sizeof(note) - 1);
		(void)n;
	}
}

} // namespace

LaunchInterrupt::LaunchInterrupt()
{
	received = 0;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = onSignal;
	sigemptyset(&sa.sa_mask);
	// Restarted system calls: the waits poll pending() and need no EINTR.
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, &oldInt);
	sigaction(SIGTERM, &sa, &oldTerm);
}

LaunchInterrupt::~LaunchInterrupt()
{
	sigaction(SIGINT, &oldInt, nullptr);
	sigaction(SIGTERM, &oldTerm, nullptr);
}

int LaunchInterrupt::pending()
{
	return received.load();
}

std::optional<Error> LaunchInterrupt::check()
{
	int s = received.load();
	if (!s)
		return std::nullopt;
	return Error(ErrorCode::Cancelled, std::string("interrupted by ") + (s == SIGINT ? "SIGINT" : "SIGTERM"),
		     "interrupted");
}

} // namespace cvm::plugin
