// SPDX-License-Identifier: Apache-2.0
#include "daemon_process.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <thread>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cvm/common/file.h"
#include "test_support.h"

namespace cvm::test {

DaemonProcess::DaemonProcess(const std::string &workDir, std::vector<std::string> args)
{
	std::string exe = buildPath("server/cvm-attestd");
	requireExecutable(exe);
	static int counter = 0;
	std::string ready = workDir + "/ready-" + std::to_string(++counter);
	logPath_ = workDir + "/daemon-" + std::to_string(counter) + ".log";
	args.insert(args.begin(), exe);
	args.push_back("--ready-file");
	args.push_back(ready);
	std::vector<char *> argv;
	for (auto &a : args)
		argv.push_back(a.data());
	argv.push_back(nullptr);
	int logFd = open(logPath_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	REQUIRE(logFd >= 0);
	GError *err = nullptr;
	bool ok = g_spawn_async_with_fds(nullptr, argv.data(), nullptr, G_SPAWN_DO_NOT_REAP_CHILD, nullptr, nullptr,
					 &pid_, -1, logFd, logFd, &err);
	close(logFd);
	if (!ok) {
		std::string msg = err->message;
		g_error_free(err);
		FAIL("cannot start cvm-attestd: " << msg);
	}
	auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
	while (std::chrono::steady_clock::now() < deadline) {
		int status;
		if (waitpid(pid_, &status, WNOHANG) == pid_) {
			pid_ = 0;
			FAIL("cvm-attestd exited during start-up:\n" << log());
		}
		if (fileExists(ready)) {
			auto text = readTextFile(ready);
			if (text.ok() && !text->empty()) {
				url_ = text->substr(0, text->find('\n'));
				if (!url_.empty() && url_.back() == '/')
					url_.pop_back();
				return;
			}
		}
		std::this_thread::sleep_for(std::chrono::milliseconds(20));
	}
	FAIL("cvm-attestd did not become ready:\n" << log());
}

int DaemonProcess::stop()
{
	if (!pid_)
		return status_;
	::kill(pid_, SIGTERM);
	int status = 0;
	waitpid(pid_, &status, 0);
	g_spawn_close_pid(pid_);
	pid_ = 0;
	status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	return status_;
}

void DaemonProcess::kill()
{
	if (!pid_)
		return;
	::kill(pid_, SIGKILL);
	int status = 0;
	waitpid(pid_, &status, 0);
	g_spawn_close_pid(pid_);
	pid_ = 0;
	status_ = 128 + SIGKILL;
}

DaemonProcess::~DaemonProcess()
{
	stop();
}

std::string DaemonProcess::log() const
{
	auto text = readTextFile(logPath_);
	return text.ok() ? *text : "";
}

} // namespace cvm::test
