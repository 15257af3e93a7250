// SPDX-License-Identifier: Apache-2.0
//
// Internal to sev/: the one description of the SEV certificate's wire layout
// (SEV API Appendix C.1), used by the parser, the writer and the GODH check.
#pragma once

#include "cvm/common/bytes.h"
#include "cvm/sev/cert_types.h"

namespace cvm::sev::layout::sevcert {

constexpr Field kVersion{ 0x000, 4 };
constexpr Field kApiMajor{ 0x004, 1 };
constexpr Field kApiMinor{ 0x005, 1 };
constexpr Field kReserved{ 0x006, 2 };
constexpr Field kPubkeyUsage{ 0x008, 4 };
constexpr Field kPubkeyAlgo{ 0x00c, 4 };
constexpr Field kPubkey{ 0x010, 0x404 };
// The signed bytes: everything up to the end of the public key.
constexpr Field kBody{ 0x000, 0x414 };

// PUBKEY, RSA form.
constexpr Field kRsaModulusBits{ 0x010, 4 };
constexpr Field kRsaExponent{ 0x014, 512 };
constexpr Field kRsaModulus{ 0x214, 512 };
// PUBKEY, EC form (ECDSA and ECDH).
constexpr Field kEcCurve{ 0x010, 4 };
constexpr Field kEcQx{ 0x014, 72 };
constexpr Field kEcQy{ 0x05c, 72 };
constexpr Field kEcReserved{ 0x0a4, 0x414 - 0x0a4 };

struct SlotLayout {
	Field usage;
	Field algorithm;
	Field signature;
};
constexpr SlotLayout kSlots[2] = {
	{ { 0x414, 4 }, { 0x418, 4 }, { 0x41c, 512 } },
	{ { 0x61c, 4 }, { 0x620, 4 }, { 0x624, 512 } },
};
// Within a slot's signature field, ECDSA form.
constexpr Field kEcdsaR{ 0, 72 };
constexpr Field kEcdsaS{ 72, 72 };

constexpr uint32_t kVersion1 = 1;

static_assert(kSlots[1].signature.end() == kSevCertificateSize);
static_assert(kRsaModulus.end() == kBody.end() && kPubkey.end() == kBody.end());

} // namespace cvm::sev::layout::sevcert
