// SPDX-License-Identifier: Apache-2.0
//
// Which file QEMU maps as the guest's firmware, i.e. what SEV's LAUNCH_UPDATE
// measures: pflash unit 0 (libvirt 9.0: "-machine pflash0=NODE" and a
// "-blockdev" raw node over a "file" node; older: "-drive if=pflash"; "-pflash
// FILE"), else "-bios FILE". OVMF_VARS (pflash unit 1) is never measured.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cvm/common/error.h"
#include "cvm/shim/qemu_argv.h"

namespace cvm::shim {

// QEMU's firmware directory for relative -bios names.
constexpr const char *kQemuDataDir = "/usr/share/qemu";

Result<std::string> findFirmware(const std::vector<QemuOption> &options,
				 const std::vector<size_t> &machines, const std::vector<size_t> &drives,
				 const std::vector<size_t> &blockdevs, const std::vector<size_t> &pflashes,
				 const std::optional<size_t> &bios);

} // namespace cvm::shim
