// SPDX-License-Identifier: Apache-2.0
//
// The enumerations shared by the SEV certificate format (SEV API Appendix C)
// and AMD's ARK/ASK format (Appendix B): key usages, key/signature
// algorithms and curves, with the names messages and JSON use. The values are
// the wire values (identical in AMD's firmware, sev-tool and virtee/sev).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "cvm/common/digest.h"

namespace cvm::sev {

// The fixed size of a SEV certificate (PEK, PDH, OCA, CEK, guest owner DH).
inline constexpr size_t kSevCertificateSize = 2084;

enum class KeyUsage : uint32_t {
	Ark = 0x0000,
	Ask = 0x0013,
	Invalid = 0x1000, // an empty signature slot
	Oca = 0x1001,
	Pek = 0x1002,
	Pdh = 0x1003,
	Cek = 0x1004,
};

// The algorithm of a key, and of the signatures that key makes: the hash in
// the name is the hash its signatures use.
enum class Algorithm : uint32_t {
	Invalid = 0x000, // an empty signature slot
	RsaSha256 = 0x001,
	EcdsaSha256 = 0x002,
	EcdhSha256 = 0x003,
	RsaSha384 = 0x101,
	EcdsaSha384 = 0x102,
	EcdhSha384 = 0x103,
};

enum class Curve : uint32_t {
	P256 = 1, // defined by the format, refused by the firmware and by us
	P384 = 2,
};

// nullopt for a value the format does not define.
std::optional<KeyUsage> keyUsageFromWire(uint32_t value);
std::optional<Algorithm> algorithmFromWire(uint32_t value);

// "ARK", "ASK", "OCA", "PEK", "PDH", "CEK", "empty".
const char *usageName(KeyUsage usage);
// "RSA-SHA256", "ECDSA-SHA256", "ECDH-SHA384", ..., "none".
const char *algorithmName(Algorithm algorithm);
// "0x1004": how messages show a raw wire value.
std::string wireHex(uint32_t value);

bool isRsa(Algorithm algorithm);
bool isEcdsa(Algorithm algorithm);
bool isEcdh(Algorithm algorithm);
inline bool canSign(Algorithm algorithm) { return isRsa(algorithm) || isEcdsa(algorithm); }

// The hash of an algorithm other than Invalid.
DigestAlgorithm algorithmDigest(Algorithm algorithm);

} // namespace cvm::sev
