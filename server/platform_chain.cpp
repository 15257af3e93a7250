// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-attestd"

#include "platform_chain.h"

#include <glib.h>
#include <openssl/evp.h>

#include "cek_source.h"
#include "cvm/attest/errors.h"
#include "cvm/common/digest.h"
#include "cvm/common/file.h"
#include "cvm/sev/chain.h"
#include "cvm/sev/session.h"
#include "cvm/sev/trust.h"
#include "metrics.h"

namespace cvm::server {

using attest::asError;
namespace code = attest::code;

namespace {

Result<sev::TrustStore> loadRoots(const std::string &dir, sev::TrustMode mode, const char *setting)
{
	auto store = sev::TrustStore::load(dir, mode);
	if (!store)
		return store.error().withContext(std::string(setting) + " " + dir);
	for (const auto &w : store->warnings())
		g_warning("%s: %s", setting, w.c_str());
	return store;
}

std::string cacheKey(const attest::LaunchRequest &r)
{
	// Length-prefixed parts: no two different requests share a key. The
	// cpu-id is not part of it: it only matters for an unsigned CEK, where
	// the entry remembers the chip id that verified; otherwise a host could
	// force a full verification per launch by sending random cpu-ids.
	Bytes lengths(8);
	storeLe32(lengths, 0, static_cast<uint32_t>(r.pdh.size()));
	storeLe32(lengths, 4, static_cast<uint32_t>(r.certChain.size()));
	auto h = digest(DigestAlgorithm::Sha256, { lengths, r.pdh, r.certChain });
	return h ? toHex(*h) : std::string();
}

} // namespace

struct PlatformChains::Roots {
	sev::TrustStore store;
};

PlatformChains::PlatformChains(std::unique_ptr<Roots> roots, size_t cacheSize, CekSource *cek, Metrics *metrics)
	: roots_(std::move(roots)), cacheSize_(cacheSize), cek_(cek), metrics_(metrics)
{
}

PlatformChains::~PlatformChains() = default;

Result<std::unique_ptr<PlatformChains>> PlatformChains::create(const std::string &amdRoots,
							       const std::string &testRoots, size_t cacheSize,
							       CekSource *cek, Metrics *metrics)
{
	auto roots = std::make_unique<Roots>();
	if (!amdRoots.empty()) {
		// The default directory may be absent on a test or demo host that
		// only trusts test-roots; present but wrong is refused.
		if (!fileExists(amdRoots) && !testRoots.empty())
			g_warning("no pinned AMD roots in %s: only the test roots are trusted", amdRoots.c_str());
		else
			roots->store.merge(CVM_TRY(loadRoots(amdRoots, sev::TrustMode::Pinned, "amd-roots")));
	}
	if (!testRoots.empty())
		roots->store.merge(CVM_TRY(loadRoots(testRoots, sev::TrustMode::AsGiven, "test-roots")));
	if (roots->store.empty())
		return Error(ErrorCode::InvalidArgument, "no trust roots loaded: set amd-roots and/or test-roots");
	for (const auto &r : roots->store.roots())
		g_info("trusting %s roots of generation %s from %s", r.mode == sev::TrustMode::Pinned ? "pinned AMD" : "test",
		       r.generation.c_str(), r.source.c_str());
	return std::unique_ptr<PlatformChains>(new PlatformChains(std::move(roots), cacheSize, cek, metrics));
}

std::optional<VerifiedPlatform> PlatformChains::lookup(const std::string &key)
{
	std::lock_guard<std::mutex> guard(mutex_);
	auto it = index_.find(key);
	if (it == index_.end())
		return std::nullopt;
	lru_.splice(lru_.begin(), lru_, it->second);
	return it->second->second;
}

void PlatformChains::remember(const std::string &key, const VerifiedPlatform &platform)
{
	std::lock_guard<std::mutex> guard(mutex_);
	if (index_.count(key))
		return;
	lru_.emplace_front(key, platform);
	index_[key] = lru_.begin();
	while (lru_.size() > cacheSize_) {
		index_.erase(lru_.back().first);
		lru_.pop_back();
	}
}

Result<VerifiedPlatform> PlatformChains::verify(const attest::LaunchRequest &request)
{
	std::string key = cacheSize_ > 0 ? cacheKey(request) : std::string();
	if (!key.empty()) {
		if (auto hit = lookup(key)) {
			if (metrics_)
				metrics_->recordEvent("chain-cache", "hit");
			// A chain that needed the chip id keeps the one that verified it;
			// otherwise the cpu-id is only the host's word, as it was on a miss.
			if (!hit->chipVerified)
				hit->chipId = request.cpuId ? toHex(*request.cpuId) : std::string();
			return std::move(*hit);
		}
		if (metrics_)
			metrics_->recordEvent("chain-cache", "miss");
	}
	VerifiedPlatform platform = CVM_TRY(verifyUncached(request));
	if (metrics_)
		metrics_->recordEvent("platform-chain", "verified");
	if (!key.empty())
		remember(key, platform);
	return platform;
}

Result<std::optional<sev::SevCert>> PlatformChains::signedCek(const sev::PlatformChain &chain,
								 const attest::LaunchRequest &request, bool &fetched)
{
	fetched = false;
	if (!chain.cek.isUnsigned())
		return std::optional<sev::SevCert>();
	if (!request.cpuId || request.cpuId->empty())
		return asError(code::kCekUnsigned, "the platform's CEK is unsigned and the host sent no cpu-id to "
						   "look up the AMD-signed CEK with (send the GET_ID value as cpu-id)");
	auto cached = cek_ ? cek_->cached(*request.cpuId) : Result<std::optional<Bytes>>(std::optional<Bytes>());
	Bytes raw;
	if (cached && *cached) {
		raw = std::move(**cached);
	} else {
		std::string chip = toHex(*request.cpuId);
		if (!cek_)
			return asError(code::kCekUnavailable, sev::unsignedCekMessage(chip));
		auto got = cek_->fetch(*request.cpuId);
		if (!got)
			return asError(code::kCekUnavailable, "no AMD-signed CEK for chip " + chip + ": " +
								      got.error().message());
		raw = std::move(*got);
		fetched = true;
	}
	auto cert = sev::SevCert::parse(raw);
	if (!cert && fetched)
		cek_->forget(*request.cpuId);
	if (!cert)
		return asError(code::kChainInvalid, "the AMD-signed CEK for chip " + toHex(*request.cpuId) +
							    " is not a CEK certificate: " + cert.error().message());
	return std::optional<sev::SevCert>(std::move(*cert));
}

Result<VerifiedPlatform> PlatformChains::verifyUncached(const attest::LaunchRequest &request)
{
	auto chain = sev::parsePlatformChain(request.pdh, request.certChain);
	if (!chain)
		return asError(code::kChainInvalid, "the platform's certificates are malformed: " +
							    chain.error().message());
	bool fetched = false;
	auto supplied = CVM_TRY(signedCek(*chain, request, fetched));
	sev::ChainOptions options;
	options.signedCek = supplied ? &*supplied : nullptr;
	if (request.cpuId)
		options.chipIdHex = toHex(*request.cpuId);
	sev::ChainVerdict verdict = sev::verifyChain(*chain, roots_->store, options);
	if (verdict.status == sev::ChainStatus::CekUnsigned)
		return asError(code::kCekUnsigned, verdict.failure);
	if (!verdict.valid() && supplied && fetched && cek_)
		cek_->forget(*request.cpuId);
	if (!verdict.valid())
		return asError(code::kChainInvalid, "the platform's certificate chain does not verify" +
							    (verdict.generation.empty() ? std::string()
											: " to the " + verdict.generation + " roots") +
							    ": " + verdict.failure);
	if (supplied && fetched && cek_)
		cek_->remember(*request.cpuId, supplied->bytes());
	auto pdhKey = sev::pdhPublicKey(request.pdh);
	if (!pdhKey)
		return asError(code::kChainInvalid, "the platform's PDH: " + pdhKey.error().message());
	VerifiedPlatform platform;
	platform.pdh = request.pdh;
	platform.pdhKey.reset(pdhKey->release(), EVP_PKEY_free);
	platform.ocaDigest = CVM_TRY(sha256(chain->oca.bytes()));
	platform.chipId = request.cpuId ? toHex(*request.cpuId) : std::string();
	platform.chipVerified = supplied.has_value();
	platform.generation = verdict.generation;
	return platform;
}

} // namespace cvm::server
