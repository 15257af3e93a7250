// SPDX-License-Identifier: Apache-2.0
//
// For the certificate tests: the real Naples platform chain and AMD roots
// from the shared fixtures, and a complete hierarchy of our own
// (RSA-4096 ARK/ASK, P-384 CEK/OCA/PEK/PDH) built with the construction API.
#pragma once

#include <string>

#include "cvm/common/file.h"
#include "cvm/sev/chain.h"

namespace cvm::sev::test {

inline const char *kGenerations[] = { "naples", "rome", "milan", "genoa", "turin" };

Bytes naplesCert(const std::string &name); // "pdh", "pek", "oca", "cek"
PlatformChain naplesChain();
std::string amdRootsDir(); // the fixtures' roots/
AmdCert amdRoot(const std::string &generation, const std::string &name);
TrustStore amdStore(); // all five generations, pinned

// Our own hierarchy. The private keys stay here for re-signing.
struct Hierarchy {
	EvpPkeyPtr arkKey, askKey, cekKey, ocaKey, pekKey, pdhKey;
	AmdCert ark, ask;
	SevCert cek, oca, pek, pdh;

	PlatformChain chain() const { return { pdh, pek, oca, cek }; }
	AmdRoots roots(const std::string &generation = "milan") const;
};
Hierarchy makeHierarchy(unsigned amdBits = 4096);
// One RSA-4096 hierarchy per test program (key generation is the slow part).
const Hierarchy &sharedHierarchy();

// Writes DIR/<name>.cert for each certificate given.
void writeCert(const std::string &dir, const std::string &name, ByteView raw);
// DIR/<generation>/{ark,ask}.cert.
void writeRoots(const std::string &dir, const std::string &generation, const AmdCert &ark, const AmdCert &ask);

} // namespace cvm::sev::test
