// SPDX-License-Identifier: Apache-2.0
//
// Shared by the sev/ tests: the Debian OVMF images, a firmware image that can
// measure kernel hashes (a patched copy of Debian's OVMF.fd, see below) and
// random bytes.
#pragma once

#include <string>

#include "cvm/common/bytes.h"
#include "cvm/common/file.h"

namespace cvm::sev::test {

// Debian's ovmf package (2022.11): OvmfX64 builds whose SEV hash-table entry
// is 0/0, so they cannot measure a direct-boot kernel.
inline const char *kDebianOvmf = "/usr/share/ovmf/OVMF.fd";
inline const char *kDebianOvmfCode = "/usr/share/OVMF/OVMF_CODE.fd";
inline const char *kDebianOvmfCode4M = "/usr/share/OVMF/OVMF_CODE_4M.fd";

// Exits 77 (skip) when `path` does not exist (the ovmf package is missing).
void requireFile(const std::string &path);

// Writes DIR/name: a copy of Debian's OVMF.fd whose footer-table SEV hash
// table entry is set to {base, size} (default: the AmdSev build's 0x810c00 /
// 0x400). Only those 8 bytes differ from Debian's file, so the image is what
// an OVMF with kernel-hashes support looks like to QEMU and to the tools that
// compute expected digests.
std::string writeKernelHashesFirmware(const TempDir &dir, const std::string &name = "ovmf-hashes.fd",
				      uint32_t base = 0x810c00, uint32_t size = 0x400);

Bytes randomBytes(size_t n);

} // namespace cvm::sev::test
