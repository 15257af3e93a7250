// SPDX-License-Identifier: Apache-2.0
//
// cvm-owner: the guest owner's command line for cvm-attestd. One function per
// command; main.cpp dispatches. Exit codes as cvm-launch's: 0 success, 1 the
// server refused or the operation failed, 2 usage or transport errors.
#pragma once

#include <string>

namespace cvm::owner {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

int runRegister(int argc, char **argv);
int runShow(int argc, char **argv);
int runRevoke(int argc, char **argv);
int runAudit(int argc, char **argv);
int runEnd(int argc, char **argv);

} // namespace cvm::owner
