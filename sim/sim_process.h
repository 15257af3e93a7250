// SPDX-License-Identifier: Apache-2.0
//
// Internal to the cvm-sev-sim executable: its two modes.
#pragma once

namespace cvm::sim {

// cvm-sev-sim init --state-dir D [--unsigned-cek] [--force] [...]
int runInit(int argc, char **argv);
// cvm-sev-sim QEMU-ARGS...: the QEMU-shaped process.
int runQemuProcess(int argc, char **argv);

} // namespace cvm::sim
