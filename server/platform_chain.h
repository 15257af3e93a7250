// SPDX-License-Identifier: Apache-2.0
//
// The platform side of POST …/launch: is this PDH vouched for by a chain to a
// root we trust? Trust roots are the pinned AMD roots (`amd-roots`, checked
// against the fingerprints sev/ pins) and roots trusted as given
// (`test-roots`, the simulator's). An unsigned CEK (real Genoa hosts export
// one) is replaced by the AMD-signed one looked up by chip id in the CEK
// source. Verified chains are cached by SHA-256(pdh ‖ cert-chain), with the
// parsed PDH key: a platform presents the same chain for every launch.
//
// Internal to the server (LaunchCrypto uses it). Thread-safe.
#pragma once

#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "cvm/sev/chain.h"
#include "launch_crypto.h"

namespace cvm::server {

class PlatformChains
{
public:
	// Fails when a configured root directory holds no usable root.
	static Result<std::unique_ptr<PlatformChains>> create(const std::string &amdRoots,
							      const std::string &testRoots, size_t cacheSize,
							      CekSource *cek, Metrics *metrics);
	~PlatformChains();

	// Errors carry an AS code: chain-invalid, cek-unsigned, cek-unavailable.
	Result<VerifiedPlatform> verify(const attest::LaunchRequest &request);

	struct Roots;

private:
	PlatformChains(std::unique_ptr<Roots> roots, size_t cacheSize, CekSource *cek, Metrics *metrics);
	Result<VerifiedPlatform> verifyUncached(const attest::LaunchRequest &request);
	// The AMD-signed CEK to use instead of an unsigned one (nullopt when the
	// platform's CEK is signed); `fetched` says it came from the KDS.
	Result<std::optional<sev::SevCert>> signedCek(const sev::PlatformChain &chain,
						      const attest::LaunchRequest &request, bool &fetched);
	std::optional<VerifiedPlatform> lookup(const std::string &key);
	void remember(const std::string &key, const VerifiedPlatform &platform);

	std::unique_ptr<Roots> roots_;
	size_t cacheSize_;
	CekSource *cek_;
	Metrics *metrics_;

	std::mutex mutex_; // guards the LRU below
	std::list<std::pair<std::string, VerifiedPlatform>> lru_; // most recent first
	std::unordered_map<std::string, decltype(lru_)::iterator> index_;
};

} // namespace cvm::server
