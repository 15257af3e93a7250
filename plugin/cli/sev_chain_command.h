// SPDX-License-Identifier: Apache-2.0
//
// cvm-launch sev verify-chain (sev_chain_command.cpp), dispatched from
// sev_command.cpp. Takes the arguments after the subcommand (argv[0] =
// "cvm-launch sev verify-chain") and returns the exit code.
#pragma once

namespace cvm::cli {

int runSevVerifyChainCommand(int argc, char **argv);

} // namespace cvm::cli
