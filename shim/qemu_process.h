// SPDX-License-Identifier: Apache-2.0
//
// Starting the real QEMU under the shim. QEMU dies with the shim
// (PR_SET_PDEATHSIG): libvirt tracks and, on destroy, SIGKILLs the shim's
// pid, and no QEMU may outlive it.
#pragma once

#include <string>
#include <vector>

#include <sys/types.h>

#include "cvm/common/error.h"

namespace cvm::shim {

struct QemuSpawn {
	std::string path;
	std::vector<std::string> args; // without argv[0]
	std::vector<int> passFds;      // made inheritable in the child (the monitor sockets)
	std::vector<int> closeFds;     // closed in the child (what only the shim uses)
	int stdoutFd = -1;             // replaces stdout/stderr when >= 0
	int stderrFd = -1;
};

// Forks and execs; the child reports an exec failure on stderr and exits 127.
Result<pid_t> spawnQemu(const QemuSpawn &spawn);

// Replaces this process by QEMU with the shim's own argv (the transparent
// case: nothing to proxy, nothing to simulate). Returns only on failure.
Error execQemu(const std::string &path, char **argv);

} // namespace cvm::shim
