// SPDX-License-Identifier: Apache-2.0
//
// Words for how a child process ended, for messages an administrator reads
// ("QEMU exited during start-up (killed by signal 6 (Aborted))").
#pragma once

#include <string>

namespace cvm {

// A waitpid()-style status (also what g_subprocess_get_status() returns):
// "exit status 1", "killed by signal 6 (Aborted)", "killed by signal 11
// (Segmentation fault), core dumped", "stopped by signal 19 (Stopped (signal))".
std::string describeWaitStatus(int status);

} // namespace cvm
