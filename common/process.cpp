// SPDX-License-Identifier: Apache-2.0
#include "cvm/common/process.h"

#include <cstring>

#include <sys/wait.h>

namespace cvm {

namespace {

std::string signalText(int sig)
{
	const char *name = strsignal(sig);
	std::string s = "signal " + std::to_string(sig);
	if (name)
		s += std::string(" (") + name + ")";
	return s;
}

} // namespace

std::string describeWaitStatus(int status)
{
	if (WIFEXITED(status))
		return "exit status " + std::to_string(WEXITSTATUS(status));
	if (WIFSIGNALED(status)) {
		std::string s = "killed by " + signalText(WTERMSIG(status));
		if (WCOREDUMP(status))
			s += ", core dumped";
		return s;
	}
	if (WIFSTOPPED(status))
		return "stopped by " + signalText(WSTOPSIG(status));
	return "wait status " + std::to_string(status);
}

} // namespace cvm
