// SPDX-License-Identifier: Apache-2.0
//
// The subcommands of `cvm-launch tdx` (dispatched from tdx_command.cpp), all
// offline: mrtd, reference (tdx_command.cpp), eventlog, quote
// (tdx_quote_command.cpp). Each takes the arguments after the subcommand
// (argv[0] = "cvm-launch tdx <sub>") and returns the exit code.
#pragma once

#include <optional>
#include <string>

#include "cvm/tdx/tdvf.h"

namespace cvm::cli {

int runTdxMrtdCommand(int argc, char **argv);
int runTdxReferenceCommand(int argc, char **argv);
int runTdxEventlogCommand(int argc, char **argv);
int runTdxQuoteCommand(int argc, char **argv);

// --loader qemu | td-shim (nullptr: qemu).
std::optional<tdx::TdvfLoader> parseLoaderOption(const char *text);

} // namespace cvm::cli
