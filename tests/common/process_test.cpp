// SPDX-License-Identifier: Apache-2.0
//
// describeWaitStatus on the statuses of real child processes.
#include <catch2/catch.hpp>

#include <csignal>
#include <cstdlib>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cvm/common/process.h"

using namespace cvm;

namespace {

// Forks a child that runs `body` and returns its wait status.
template<typename F>
int statusOfChild(F body)
{
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		// No core files from the abort case.
		struct rlimit none = { 0, 0 };
		setrlimit(RLIMIT_CORE, &none);
		body();
		_exit(0);
	}
	int status = 0;
	REQUIRE(waitpid(pid, &status, 0) == pid);
	return status;
}

} // namespace

TEST_CASE("exit codes and signals are described in words")
{
	CHECK(describeWaitStatus(statusOfChild([] { _exit(0); })) == "exit status 0");
	CHECK(describeWaitStatus(statusOfChild([] { _exit(3); })) == "exit status 3");
	CHECK(describeWaitStatus(statusOfChild([] { abort(); })) == "killed by signal 6 (Aborted)");
	CHECK(describeWaitStatus(statusOfChild([] { raise(SIGKILL); })) == "killed by signal 9 (Killed)");
}

TEST_CASE("a core dump is mentioned")
{
	// The status word of a SIGSEGV with the core flag, as the kernel reports it.
	int status = SIGSEGV | 0x80;
	REQUIRE(WIFSIGNALED(status));
	CHECK(describeWaitStatus(status) == "killed by signal 11 (Segmentation fault), core dumped");
}
