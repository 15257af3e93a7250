// SPDX-License-Identifier: Apache-2.0
//
// cvm-attestd as a separate process (the installed program, not the library):
// started with the given options plus --ready-file, its stderr kept in a file
// for inspection, stopped with SIGTERM (or killed).
#pragma once

#include <string>
#include <vector>

#include <glib.h>

namespace cvm::test {

class DaemonProcess
{
public:
	// Returns when the ready file lists the URL, or REQUIRE-fails.
	DaemonProcess(const std::string &workDir, std::vector<std::string> args);
	~DaemonProcess();
	DaemonProcess(const DaemonProcess &) = delete;
	DaemonProcess &operator=(const DaemonProcess &) = delete;

	const std::string &url() const { return url_; }
	// SIGTERM and wait; returns the exit status.
	int stop();
	// SIGKILL and wait: a crash, nothing shuts down cleanly.
	void kill();
	int pid() const { return static_cast<int>(pid_); }
	std::string log() const;

private:
	GPid pid_ = 0;
	std::string url_;
	std::string logPath_;
	int status_ = -1;
};

} // namespace cvm::test
