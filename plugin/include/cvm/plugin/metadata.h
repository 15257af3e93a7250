// SPDX-License-Identifier: Apache-2.0
//
// The per-domain configuration cvm-launch reads from the domain XML: exactly
// one element in libvirt's <metadata>,
//
//   <cvm:launch xmlns:cvm="https://cvm-launch.org/xmlns/1"
//               server="https://as.example:8443"   AS URL (default: the host's `server` setting)
//               vm="UUID"                          VM id at the AS (default: the domain's UUID)
//               plain-start="refuse|attest"        what a plain virsh start/autostart does
//               scheme="amd-sev|amd-sev-es|intel-tdx"  expected scheme (default amd-sev);
//                                                  intel-tdx: an attested TD launch (docs/tdx.md)
//               policy="0x1"                       expected guest policy (the AS decides it; a
//                                                  different answer is refused; SEV only)
//               ca="/etc/cvm-launch/as-ca.pem"     CA bundle for this AS's TLS
//               kernel-hashes="yes|no"             default: yes for direct kernel boot (SEV only)
//               secret-address="0x..."/>           GPA of the secret area (default: OVMF's; SEV only)
//
// Schema: config/cvm-launch-metadata.rng, docs/domain-metadata.md. The element
// comes from an XML document anyone who may define domains can write, so every
// attribute is checked and unknown attributes are refused.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cvm/common/error.h"

namespace cvm::plugin {

inline constexpr std::string_view kMetadataNamespace = "https://cvm-launch.org/xmlns/1";
inline constexpr std::string_view kMetadataElement = "launch";
// The prefix cvm-launch uses when it writes the element (virDomainSetMetadata key).
inline constexpr std::string_view kMetadataPrefix = "cvm";

enum class PlainStart { Refuse, Attest };
// The launch scheme (the name predates intel-tdx).
enum class SevScheme { Sev, SevEs, IntelTdx };

std::string_view plainStartName(PlainStart p);
std::string_view sevSchemeName(SevScheme s);

struct LaunchMetadata {
	std::string server;                    // "" = the host's default
	std::string vmId;                      // "" = the domain's UUID
	PlainStart plainStart = PlainStart::Refuse;
	SevScheme scheme = SevScheme::Sev;
	std::optional<uint32_t> policy;
	std::string caFile;
	std::optional<bool> kernelHashes;
	std::optional<uint64_t> secretAddress;
};

// Builds the metadata from the element's attributes (name → value, in
// document order). Refuses unknown or repeated attributes and bad values.
Result<LaunchMetadata> parseLaunchAttributes(const std::vector<std::pair<std::string, std::string>> &attributes);

// The attributes to write for `metadata` (only those that differ from the defaults).
std::vector<std::pair<std::string, std::string>> launchAttributes(const LaunchMetadata &metadata);

// "0x1f", "31": an unsigned integer ≤ max, decimal or 0x-hex.
Result<uint64_t> parseUnsigned(std::string_view text, uint64_t max, std::string_view what);

// The VM id at the AS and the AS URL after defaults.
std::string effectiveVmId(const LaunchMetadata &metadata, std::string_view domainUuid);

} // namespace cvm::plugin
