// SPDX-License-Identifier: Apache-2.0
//
// Internal: the fixed wire layouts of a TD quote (Intel TDX DCAP Quoting
// Library API, "Quote Format" v4 and v5), described once and used by the
// parser and the writer. Offsets are relative to the start of each structure.
#pragma once

#include "cvm/common/bytes.h"

namespace cvm::tdx::layout {

// Quote header (48 bytes).
constexpr Field kHeaderVersion{ 0, 2 };
constexpr Field kHeaderAttestationKeyType{ 2, 2 };
constexpr Field kHeaderTeeType{ 4, 4 };
constexpr Field kHeaderReserved{ 8, 4 };
constexpr Field kHeaderQeVendorId{ 12, 16 };
constexpr Field kHeaderUserData{ 28, 20 };
constexpr size_t kHeaderSize = 48;

// v5 only, between header and body: u16 body type, u32 body size.
constexpr size_t kBodyDescriptorSize = 6;

// TD report body (TDX 1.0: 584 bytes; TDX 1.5 adds 64).
constexpr Field kBodyTeeTcbSvn{ 0, 16 };
constexpr Field kBodyMrSeam{ 16, 48 };
constexpr Field kBodyMrSignerSeam{ 64, 48 };
constexpr Field kBodySeamAttributes{ 112, 8 };
constexpr Field kBodyTdAttributes{ 120, 8 };
constexpr Field kBodyXfam{ 128, 8 };
constexpr Field kBodyMrTd{ 136, 48 };
constexpr Field kBodyMrConfigId{ 184, 48 };
constexpr Field kBodyMrOwner{ 232, 48 };
constexpr Field kBodyMrOwnerConfig{ 280, 48 };
constexpr Field kBodyRtmr0{ 328, 48 }; // RTMR i at 328 + 48 i
constexpr Field kBodyReportData{ 520, 64 };
constexpr Field kBodyTeeTcbSvn2{ 584, 16 };
constexpr Field kBodyMrServiceTd{ 600, 48 };
constexpr size_t kBodySizeTdx10 = 584;
constexpr size_t kBodySizeTdx15 = 648;

// ECDSA-256 signature data: signature r||s, attestation key x||y, then
// certification data (u16 type, u32 size, data).
constexpr size_t kEcdsaSignatureSize = 64;
constexpr size_t kEcdsaKeySize = 64;
constexpr size_t kCertificationHeaderSize = 6;

// SGX enclave report body of the quoting enclave (384 bytes).
constexpr Field kQeCpuSvn{ 0, 16 };
constexpr Field kQeMiscSelect{ 16, 4 };
constexpr Field kQeAttributes{ 48, 16 };
constexpr Field kQeMrEnclave{ 64, 32 };
constexpr Field kQeMrSigner{ 128, 32 };
constexpr Field kQeIsvProdId{ 256, 2 };
constexpr Field kQeIsvSvn{ 258, 2 };
constexpr Field kQeReportData{ 320, 64 };
constexpr size_t kQeReportSize = 384;

} // namespace cvm::tdx::layout
