// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-attestd"

#include "platform_chain.h"

#include <glib.h>

#include "cek_source.h"
#include "cvm/attest/errors.h"
#include "cvm/common/digest.h"
#include "cvm/sev/session.h"
#include "metrics.h"

namespace cvm::server {

using attest::asError;
namespace code = attest::code;

namespace {

constexpr size_t kCert = sev::kSevCertificateSize;

std::string cacheKey(const attest::LaunchRequest &r)
{
	// Length-prefixed parts: no two different requests share a key.
	Bytes lengths(12);
	storeLe32(lengths, 0, static_cast<uint32_t>(r.pdh.size()));
	storeLe32(lengths, 4, static_cast<uint32_t>(r.certChain.size()));
	storeLe32(lengths, 8, static_cast<uint32_t>(r.cpuId ? r.cpuId->size() : 0));
	auto h = digest(DigestAlgorithm::Sha256, { lengths, r.pdh, r.certChain, r.cpuId ? ByteView(*r.cpuId) : ByteView() });
	return h ? toHex(*h) : std::string();
}

} // namespace

// TEMPORARY until sev/'s certificate chain API lands (branch sev-certs).
struct PlatformChains::Roots {
	std::string amdRoots;
	std::string testRoots;
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
	auto roots = std::make_unique<Roots>(Roots{ amdRoots, testRoots });
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

Result<VerifiedPlatform> PlatformChains::verifyUncached(const attest::LaunchRequest &request)
{
	if (request.pdh.size() != kCert)
		return asError(code::kChainInvalid, "the PDH certificate is " + std::to_string(request.pdh.size()) +
							    " bytes, not " + std::to_string(kCert));
	if (request.certChain.size() != 3 * kCert)
		return asError(code::kChainInvalid, "the certificate chain is " +
							    std::to_string(request.certChain.size()) +
							    " bytes, not PEK || OCA || CEK (" +
							    std::to_string(3 * kCert) + ")");
	if (auto pdh = sev::pdhPublicKey(request.pdh); !pdh)
		return asError(code::kChainInvalid, "the PDH certificate is not usable: " + pdh.error().message());
	(void)cek_;
	return Error(ErrorCode::Unsupported, "platform chain verification is not available in this build yet");
}

} // namespace cvm::server
