// SPDX-License-Identifier: Apache-2.0
//
// Entry points of the cvm-launch command groups. Each takes the arguments after
// the group name (argv[0] = "cvm-launch <group>") and returns the exit code.
#pragma once

namespace cvm::cli {

int runQmpCommand(int argc, char **argv);      // qmp_command.cpp
int runSevCommand(int argc, char **argv);      // sev_command.cpp
int runTdxCommand(int argc, char **argv);      // tdx_command.cpp
int runStartCommand(int argc, char **argv);    // start_command.cpp (libvirt path)
int runQemuCommand(int argc, char **argv);     // qemu_launch_command.cpp (QMP path)
int runPlatformCommand(int argc, char **argv); // platform_command.cpp
int runHookCommand(int argc, char **argv);     // hook_command.cpp

} // namespace cvm::cli
