// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-attestd"

#include "cek_source.h"

#include <glib.h>

#include "cvm/attest/http_transport.h"
#include "cvm/common/file.h"
#include "metrics.h"

namespace cvm::server {

namespace {

// A SEV certificate is 2084 bytes; anything else from the KDS is not a CEK.
constexpr size_t kCekSize = 2084;

} // namespace

std::string CekSource::cachePath(ByteView chipId) const
{
	return options_.cacheDir + "/" + toHex(chipId) + ".cert";
}

Result<std::optional<Bytes>> CekSource::cached(ByteView chipId) const
{
	if (options_.cacheDir.empty() || chipId.empty())
		return std::optional<Bytes>();
	std::string path = cachePath(chipId);
	if (!fileExists(path))
		return std::optional<Bytes>();
	Bytes cek = CVM_TRY(readFile(path, 64 * 1024));
	if (metrics_)
		metrics_->recordEvent("cek-lookup", "cache");
	return std::optional<Bytes>(std::move(cek));
}

Result<Bytes> CekSource::fetch(ByteView chipId)
{
	if (!canFetch())
		return Error(ErrorCode::NotFound, "no signed CEK for chip " + toHex(chipId) +
							  " in the CEK cache, and fetching from the KDS is disabled");
	std::lock_guard<std::mutex> guard(fetchMutex_);
	// Another launch may have fetched it while we waited.
	if (auto it = fetched_.find(toHex(chipId)); it != fetched_.end())
		return it->second;
	if (auto hit = CVM_TRY(cached(chipId)))
		return std::move(*hit);

	attest::ClientOptions options;
	options.baseUrl = options_.kdsUrl;
	options.timeoutSeconds = options_.timeoutSeconds;
	options.caFile = options_.kdsCaFile;
	options.maxResponseBytes = 64 * 1024;
	auto transport = attest::HttpTransport::create(std::move(options));
	if (!transport)
		return transport.error().withContext("KDS");
	std::string path = "/cek/id/" + toHex(chipId);
	g_info("fetching the signed CEK of chip %s from %s", toHex(chipId).c_str(), transport->baseUrl().c_str());
	auto reply = transport->send("GET", path, SecureBuffer());
	if (!reply) {
		if (metrics_)
			metrics_->recordEvent("cek-lookup", "failed");
		return reply.error().withContext("fetching the signed CEK from AMD's KDS");
	}
	if (reply->status != 200) {
		if (metrics_)
			metrics_->recordEvent("cek-lookup", "failed");
		return Error(reply->status == 404 ? ErrorCode::NotFound : ErrorCode::Remote,
			     "AMD's KDS answered HTTP " + std::to_string(reply->status) + " for chip " + toHex(chipId));
	}
	if (reply->body.size() != kCekSize) {
		if (metrics_)
			metrics_->recordEvent("cek-lookup", "failed");
		return Error(ErrorCode::InvalidData, "AMD's KDS sent " + std::to_string(reply->body.size()) +
							     " bytes for chip " + toHex(chipId) +
							     ", not a 2084-byte CEK certificate");
	}
	if (metrics_)
		metrics_->recordEvent("cek-lookup", "kds");
	if (fetched_.size() >= 64)
		fetched_.clear();
	fetched_[toHex(chipId)] = reply->body;
	return std::move(reply->body);
}

void CekSource::forget(ByteView chipId)
{
	std::lock_guard<std::mutex> guard(fetchMutex_);
	fetched_.erase(toHex(chipId));
}

void CekSource::remember(ByteView chipId, ByteView cek) const
{
	if (options_.cacheDir.empty())
		return;
	if (auto s = makeDirectories(options_.cacheDir, 0755); !s) {
		g_warning("cannot cache the CEK: %s", s.error().message().c_str());
		return;
	}
	if (auto s = writeFileAtomic(cachePath(chipId), cek, 0644); !s)
		g_warning("cannot cache the CEK: %s", s.error().message().c_str());
}

} // namespace cvm::server
