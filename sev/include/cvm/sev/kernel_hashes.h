// SPDX-License-Identifier: Apache-2.0
//
// The SEV hashes table QEMU measures for a direct-boot kernel with
// kernel-hashes=on (QEMU build_kernel_loader_hashes, OVMF's
// SevHashTable/PaddedSevHashTable):
//
//   0x00 GUID 9438d606-4f22-4cc9-b479-a793d411fd21   0x10 u16 168
//   0x12 cmdline entry  GUID 97d02dd8-bd20-4c94-aa78-e7714d36ab2a, u16 50, SHA-256
//   0x44 initrd entry   GUID 44baf731-3a2f-4bd7-9af1-41e29169781d, u16 50, SHA-256
//   0x76 kernel entry   GUID 4de79437-abd2-427f-b835-d5b172d2045b, u16 50, SHA-256
//   0xa8 zero padding to 176 bytes — the 176 bytes are what is measured.
//
// The command line is hashed with its trailing NUL and never trimmed (no
// -append hashes "\0"); no initrd hashes the empty string; the kernel is the
// unmodified bzImage file.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "cvm/common/bytes.h"
#include "cvm/common/error.h"
#include "cvm/sev/measurement.h"

namespace cvm::sev {

inline constexpr size_t kSevHashTableSize = 168;
inline constexpr size_t kPaddedSevHashTableSize = 176;

struct KernelHashes {
	Digest256 cmdline{};
	Digest256 initrd{};
	Digest256 kernel{};
};

// SHA-256 of `cmdline` followed by one NUL byte.
Result<Digest256> hashCmdline(std::string_view cmdline);

// Hashes the files (streaming, bounded memory). Without an initrd its entry is
// SHA-256(""); without a command line, SHA-256("\0").
Result<KernelHashes> hashKernelFiles(const std::string &kernel, const std::optional<std::string> &initrd,
				     const std::optional<std::string> &cmdline);

// The padded 176-byte table.
Bytes buildSevHashTable(const KernelHashes &hashes);
// Parses a table (168 or 176 bytes; padding must be zero).
Result<KernelHashes> parseSevHashTable(ByteView table);

} // namespace cvm::sev
