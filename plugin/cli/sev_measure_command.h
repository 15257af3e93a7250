// SPDX-License-Identifier: Apache-2.0
//
// The guest-owner subcommands of `cvm-launch sev` (dispatched from
// sev_command.cpp): session, measure, validate. Each takes the arguments after
// the subcommand (argv[0] = "cvm-launch sev <sub>") and returns the exit code.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace cvm::cli {

int runSevSessionCommand(int argc, char **argv);  // sev_measure_command.cpp
int runSevMeasureCommand(int argc, char **argv);  // sev_measure_command.cpp
int runSevValidateCommand(int argc, char **argv); // sev_validate_command.cpp

// A non-negative integer (decimal, or hex with 0x; a leading zero is still
// decimal, never octal) no larger than `max`; nullopt when `text` is not one
// (signs and whitespace included).
std::optional<uint64_t> parseUnsignedOption(const char *text, uint64_t max);

} // namespace cvm::cli
