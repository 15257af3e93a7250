// SPDX-License-Identifier: Apache-2.0
//
// The SEV platform chain and its verification:
//
//   ARK (self-signed) -> ASK -> CEK -> PEK <- OCA (self-signed), PEK -> PDH
//
// The verdict names the generation of the roots that verified the chain,
// each link's result and, on failure, the first link that failed and why
// ("PEK: CEK signature does not verify"). Real hosts (Genoa and later) may
// export an unsigned CEK: the verdict then says so (status CekUnsigned, with
// the AMD KDS address to fetch the signed one) unless a signed CEK with the
// same public key is supplied.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cvm/common/bytes.h"
#include "cvm/common/error.h"
#include "cvm/sev/amd_cert.h"
#include "cvm/sev/cert.h"
#include "cvm/sev/trust.h"

namespace cvm::sev {

// The size of the cert-chain blob QEMU and libvirt report: PEK || OCA || CEK.
inline constexpr size_t kCertChainBlobSize = 3 * kSevCertificateSize;

struct PlatformChain {
	SevCert pdh;
	SevCert pek;
	SevCert oca;
	SevCert cek;
};

// Each certificate parsed and its usage checked (a PEK where the PEK
// belongs, ...). `certChain` is the raw 6252-byte PEK || OCA || CEK.
Result<PlatformChain> parsePlatformChain(ByteView pdh, ByteView certChain);
// The same from the base64 values of query-sev-capabilities / libvirt.
Result<PlatformChain> parsePlatformChainBase64(std::string_view pdhBase64, std::string_view certChainBase64);
// From the four certificates given separately; `what` names them in errors.
Result<PlatformChain> makePlatformChain(ByteView pdh, ByteView pek, ByteView oca, ByteView cek);

// The AMD KDS address of a chip's signed CEK and the message that asks for it.
std::string kdsCekUrl(std::string_view chipIdHex);
std::string unsignedCekMessage(std::string_view chipIdHex);

enum class ChainStatus {
	Valid,
	Invalid,
	CekUnsigned, // everything else may verify, but nothing ties the CEK to AMD
};

struct LinkResult {
	std::string cert;   // "ARK", "ASK", "CEK", "OCA", "PEK", "PDH"
	std::string signer; // "ARK", "ASK", "OCA", "CEK", "PEK"
	bool ok = false;
	std::string message; // why it failed, empty when ok
};

struct ChainVerdict {
	ChainStatus status = ChainStatus::Invalid;
	// Of the roots used, "" when none fitted: AMD's generation detected from
	// the ARK's key id, or the directory name of test roots (rootsGeneration).
	std::string generation;
	bool amdRoots = false;  // the roots used are AMD's real ones (pinned ARK)
	std::string rootsSource; // where the roots used came from
	std::vector<LinkResult> links;
	std::string failure;    // "PEK: CEK signature does not verify"; "" when valid
	bool suppliedCekUsed = false;
	bool valid() const { return status == ChainStatus::Valid; }
};

struct ChainOptions {
	// An AMD-signed CEK obtained separately (KDS, cache) for a platform whose
	// exported CEK is unsigned; its key must be the platform CEK's.
	const SevCert *signedCek = nullptr;
	// Hex of the chip id (GET_ID / cpu0-id), for the unsigned-CEK message.
	std::string chipIdHex;
};

// Against one root pair (already checked by makeRoots / TrustStore).
ChainVerdict verifyChain(const PlatformChain &chain, const AmdRoots &roots, const ChainOptions &options = {});
// Against a store: the roots whose ASK signs the CEK (tried in order; when
// none does, the verdict reports the first that fits the CEK's signature
// algorithm).
ChainVerdict verifyChain(const PlatformChain &chain, const TrustStore &store, const ChainOptions &options = {});

} // namespace cvm::sev
