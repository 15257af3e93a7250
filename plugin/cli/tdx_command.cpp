// SPDX-License-Identifier: Apache-2.0
// Placeholder: replaced when its issue lands.
#include "cli.h"
#include "commands.h"

namespace cvm::cli {

int runTdxCommand(int, char **)
{
	return fail("this command is not implemented yet", kExitUsage);
}

} // namespace cvm::cli
