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

struct CekSource::Lookup {
	std::condition_variable done;
	std::optional<Result<Bytes>> outcome;
};

Result<Bytes> CekSource::fetch(ByteView chipId)
{
	if (!canFetch())
		return Error(ErrorCode::NotFound, "no signed CEK for chip " + toHex(chipId) +
							  " in the CEK cache, and fetching from the KDS is disabled");
	std::string chip = toHex(chipId);
	std::shared_ptr<Lookup> lookup;
	{
		std::unique_lock<std::mutex> lock(mutex_);
		if (auto it = fetched_.find(chip); it != fetched_.end())
			return it->second;
		if (auto it = failed_.find(chip); it != failed_.end()) {
			if (Clock::now() < it->second.first) {
				if (metrics_)
					metrics_->recordEvent("cek-lookup", "failure-cached");
				return it->second.second;
			}
			failed_.erase(it);
		}
		if (auto it = inFlight_.find(chip); it != inFlight_.end()) {
			// Another launch is asking for this chip: wait for its answer.
			std::shared_ptr<Lookup> other = it->second;
			other->done.wait(lock, [&other] { return other->outcome.has_value(); });
			return *other->outcome;
		}
		lookup = std::make_shared<Lookup>();
		inFlight_[chip] = lookup;
	}
	// The cache directory may have been filled meanwhile (another server).
	Result<Bytes> outcome = Error(ErrorCode::Internal, "");
	auto hit = cached(chipId);
	if (hit && *hit)
		outcome = std::move(**hit);
	else
		outcome = ask(chipId);
	{
		std::lock_guard<std::mutex> guard(mutex_);
		rememberOutcome(chip, outcome);
		lookup->outcome = outcome;
		inFlight_.erase(chip);
	}
	lookup->done.notify_all();
	return outcome;
}

void CekSource::rememberOutcome(const std::string &chip, const Result<Bytes> &outcome)
{
	if (outcome) {
		if (fetched_.size() >= kMaxRemembered)
			fetched_.clear();
		fetched_[chip] = *outcome;
		return;
	}
	if (options_.failureTtlSeconds == 0)
		return;
	auto now = Clock::now();
	if (failed_.size() >= kMaxRemembered)
		std::erase_if(failed_, [now](const auto &f) { return f.second.first <= now; });
	if (failed_.size() >= kMaxRemembered)
		failed_.clear();
	Error e = outcome.error().withContext("remembered for " + std::to_string(options_.failureTtlSeconds) + " s");
	failed_.insert_or_assign(chip, std::make_pair(now + std::chrono::seconds(options_.failureTtlSeconds), e));
}

Result<Bytes> CekSource::ask(ByteView chipId) const
{
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
	auto failed = [this](Error e) -> Result<Bytes> {
		if (metrics_)
			metrics_->recordEvent("cek-lookup", "failed");
		return e;
	};
	if (!reply)
		return failed(reply.error().withContext("fetching the signed CEK from AMD's KDS"));
	if (reply->status != 200)
		return failed(Error(reply->status == 404 ? ErrorCode::NotFound : ErrorCode::Remote,
				    "AMD's KDS answered HTTP " + std::to_string(reply->status) + " for chip " +
					    toHex(chipId)));
	if (reply->body.size() != kCekSize)
		return failed(Error(ErrorCode::InvalidData, "AMD's KDS sent " + std::to_string(reply->body.size()) +
								    " bytes for chip " + toHex(chipId) +
								    ", not a 2084-byte CEK certificate"));
	if (metrics_)
		metrics_->recordEvent("cek-lookup", "kds");
	return std::move(reply->body);
}

void CekSource::forget(ByteView chipId)
{
	std::lock_guard<std::mutex> guard(mutex_);
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
