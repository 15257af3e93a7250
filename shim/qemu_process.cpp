// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-shim"

#include "qemu_process.h"

#include <cerrno>
#include <csignal>
#include <cstring>

#include <fcntl.h>
#include <sys/prctl.h>
#include <unistd.h>

namespace cvm::shim {

namespace {

void writeStderr(const char *a, const char *b)
{
	// Only async-signal-safe calls between fork and exec.
	ssize_t r = ::write(2, a, std::strlen(a));
	r = ::write(2, b, std::strlen(b));
	r = ::write(2, "\n", 1);
	(void)r;
}

[[noreturn]] void childExec(const QemuSpawn &s, char *const *argv, pid_t parent)
{
	if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent)
		::_exit(127);
	for (int fd : s.closeFds)
		::close(fd);
	for (int fd : s.passFds) {
		int flags = ::fcntl(fd, F_GETFD);
		if (flags < 0 || ::fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) < 0)
			::_exit(127);
	}
	if (s.stdoutFd >= 0)
		::dup2(s.stdoutFd, 1);
	if (s.stderrFd >= 0)
		::dup2(s.stderrFd, 2);
	sigset_t none;
	sigemptyset(&none);
	::sigprocmask(SIG_SETMASK, &none, nullptr);
	::execv(s.path.c_str(), argv);
	writeStderr("cvm-sev-shim: cannot run QEMU ", s.path.c_str());
	::_exit(127);
}

} // namespace

Result<pid_t> spawnQemu(const QemuSpawn &spawn)
{
	std::vector<char *> argv;
	argv.push_back(const_cast<char *>(spawn.path.c_str()));
	for (const auto &a : spawn.args)
		argv.push_back(const_cast<char *>(a.c_str()));
	argv.push_back(nullptr);
	pid_t parent = ::getpid();
	pid_t pid = ::fork();
	if (pid < 0)
		return Error(ErrorCode::Io, std::string("cannot start QEMU: fork: ") + std::strerror(errno));
	if (pid == 0)
		childExec(spawn, argv.data(), parent);
	return pid;
}

Error execQemu(const std::string &path, char **argv)
{
	argv[0] = const_cast<char *>(path.c_str()); // the caller exits on failure
	::execv(path.c_str(), argv);
	int err = errno;
	return Error(ErrorCode::NotFound, "cannot run QEMU " + path + ": " + std::strerror(err));
}

} // namespace cvm::shim
