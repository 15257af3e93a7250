// SPDX-License-Identifier: Apache-2.0
//
// Wire values of the certificate enumerations and their display names.
#include "cvm/sev/cert_types.h"

#include <cstdio>

namespace cvm::sev {

std::optional<KeyUsage> keyUsageFromWire(uint32_t value)
{
	switch (static_cast<KeyUsage>(value)) {
	case KeyUsage::Ark:
	case KeyUsage::Ask:
	case KeyUsage::Invalid:
	case KeyUsage::Oca:
	case KeyUsage::Pek:
	case KeyUsage::Pdh:
	case KeyUsage::Cek:
		return static_cast<KeyUsage>(value);
	}
	return std::nullopt;
}

std::optional<Algorithm> algorithmFromWire(uint32_t value)
{
	switch (static_cast<Algorithm>(value)) {
	case Algorithm::Invalid:
	case Algorithm::RsaSha256:
	case Algorithm::EcdsaSha256:
	case Algorithm::EcdhSha256:
	case Algorithm::RsaSha384:
	case Algorithm::EcdsaSha384:
	case Algorithm::EcdhSha384:
		return static_cast<Algorithm>(value);
	}
	return std::nullopt;
}

const char *usageName(KeyUsage usage)
{
	switch (usage) {
	case KeyUsage::Ark: return "ARK";
	case KeyUsage::Ask: return "ASK";
	case KeyUsage::Invalid: return "empty";
	case KeyUsage::Oca: return "OCA";
	case KeyUsage::Pek: return "PEK";
	case KeyUsage::Pdh: return "PDH";
	case KeyUsage::Cek: return "CEK";
	}
	return "unknown";
}

const char *algorithmName(Algorithm algorithm)
{
	switch (algorithm) {
	case Algorithm::Invalid: return "none";
	case Algorithm::RsaSha256: return "RSA-SHA256";
	case Algorithm::EcdsaSha256: return "ECDSA-SHA256";
	case Algorithm::EcdhSha256: return "ECDH-SHA256";
	case Algorithm::RsaSha384: return "RSA-SHA384";
	case Algorithm::EcdsaSha384: return "ECDSA-SHA384";
	case Algorithm::EcdhSha384: return "ECDH-SHA384";
	}
	return "unknown";
}

std::string wireHex(uint32_t value)
{
	char buf[16];
	std::snprintf(buf, sizeof(buf), "0x%x", value);
	return buf;
}

bool isRsa(Algorithm a) { return a == Algorithm::RsaSha256 || a == Algorithm::RsaSha384; }
bool isEcdsa(Algorithm a) { return a == Algorithm::EcdsaSha256 || a == Algorithm::EcdsaSha384; }
bool isEcdh(Algorithm a) { return a == Algorithm::EcdhSha256 || a == Algorithm::EcdhSha384; }

DigestAlgorithm algorithmDigest(Algorithm algorithm)
{
	// The high byte of the wire value selects the hash: 0x0xx SHA-256, 0x1xx SHA-384.
	return (static_cast<uint32_t>(algorithm) & 0x100) ? DigestAlgorithm::Sha384 : DigestAlgorithm::Sha256;
}

} // namespace cvm::sev
