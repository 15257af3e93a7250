// SPDX-License-Identifier: Apache-2.0
// cvm-launch qemu [options] -- QEMU ARGS: the QMP path (plugin/qmp_backend.h).
#include "cli.h"
#include "commands.h"

namespace cvm::cli {

int runQemuCommand(int, char **)
{
	return fail("the QMP launch path is not implemented yet", kExitUsage);
}

} // namespace cvm::cli
