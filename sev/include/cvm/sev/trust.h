// SPDX-License-Identifier: Apache-2.0
//
// Trust roots for SEV platform chains: per generation an ARK and the ASK it
// signs, loaded from DIR/<generation>/{ark,ask}.cert (the layout AMD's KDS
// downloads unpack to; default /etc/cvm-launch/amd/).
//
// Two ways to trust a directory, always said explicitly:
//  - Pinned: the directory must hold AMD's real ARKs. Each ark.cert's SHA-256
//    (of the whole file; AMD's ARKs are fixed, self-signed files) must equal
//    the fingerprint compiled in below for its generation, so a root swapped
//    in the default directory is refused.
//  - AsGiven: a directory named explicitly (`cvm-launch sev verify-chain
//    --roots`, the AS's `test-roots`; e.g. the simulator's own hierarchy) is
//    trusted as it is, with a warning; any directory name is a generation
//    name.
// Either way the generation a chain is reported against comes from the ARK's
// key id when that is one of AMD's pinned ARKs (rootsGeneration()).
// In both modes every ARK must sign itself and its ASK when loaded.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cvm/common/error.h"
#include "cvm/sev/amd_cert.h"
#include "cvm/sev/cert.h"

namespace cvm::sev {

inline constexpr const char *kDefaultAmdRootsDir = "/etc/cvm-launch/amd";

enum class TrustMode {
	Pinned,  // AMD's real roots, checked against the compiled-in fingerprints
	AsGiven, // test roots, trusted as they are
};

struct PinnedArk {
	const char *generation; // "naples", "rome", "milan", "genoa", "turin"
	const char *keyIdHex;   // the ARK's KEY_ID
	const char *sha256;     // of the whole ark.cert file
};
std::span<const PinnedArk> pinnedArks();
// The pinned AMD ARK with this key id (generation detection), if any.
const PinnedArk *pinnedArkForKeyId(const AmdKeyId &keyId);
// Whether `ark` is AMD's real ARK of `generation` (fingerprint match).
bool isPinnedArk(const AmdCert &ark, std::string_view generation);
// AMD's pinned ARK that `ark` is (same key id and fingerprint), if any.
const PinnedArk *amdArk(const AmdCert &ark);

// One generation's verified roots.
struct AmdRoots {
	std::string generation;
	AmdCert ark;
	AmdCert ask;
	TrustMode mode;
	std::string source; // where they came from, for messages
};

// The generation of a root pair: AMD's, detected from the ARK's key id, when
// the ARK is one of AMD's pinned ARKs; otherwise (test roots) the name of
// the directory they were loaded from.
std::string rootsGeneration(const AmdRoots &roots);
// Whether the roots are AMD's real ones (the ARK is a pinned AMD ARK).
bool isAmdRoots(const AmdRoots &roots);

// Checks a root pair: usages, ARK self-signature, ASK signed by the ARK,
// and in Pinned mode the ARK's fingerprint for `generation`.
Result<AmdRoots> makeRoots(std::string generation, AmdCert ark, AmdCert ask, TrustMode mode,
			   std::string source);

class TrustStore
{
public:
	TrustStore() = default;

	// Loads every DIR/<generation>/ holding an ark.cert and ask.cert. Fails
	// when the directory does not exist or has no roots, or when any root
	// pair is bad or (Pinned) is not AMD's: a root store with one swapped
	// root is refused as a whole.
	static Result<TrustStore> load(const std::string &dir, TrustMode mode);

	void add(AmdRoots roots);
	// Roots of another store (the server trusts amd-roots and test-roots).
	void merge(const TrustStore &other);

	const std::vector<AmdRoots> &roots() const { return roots_; }
	bool empty() const { return roots_.empty(); }
	// By generation as rootsGeneration() reports it, then by directory name.
	const AmdRoots *find(std::string_view generation) const;
	// Messages to show the user (test roots trusted as given, ...).
	const std::vector<std::string> &warnings() const { return warnings_; }

private:
	std::vector<AmdRoots> roots_;
	std::vector<std::string> warnings_;
};

// The signed CEK of chip `chipIdHex` from a CEK cache directory
// (DIR/<chip-id-hex>.cert, lower-case hex, the name AMD's KDS serves it
// under); nullopt when the file is not there. A file that is there but is
// not a CEK certificate is an error.
Result<std::optional<SevCert>> loadCachedCek(const std::string &dir, std::string_view chipIdHex);

} // namespace cvm::sev
