// SPDX-License-Identifier: Apache-2.0
//
// Where the AMD-signed CEK of a platform comes from when the host's chain
// carries an unsigned one: a cache directory of <chip-id-hex>.cert files (the
// layout of AMD's KDS and of the simulator's kds/ directory), then AMD's Key
// Distribution Service at <kds-url>/cek/id/<chip-id-hex>, with a bounded
// timeout. A fetched CEK enters the cache only after the caller has verified
// it (remember()).
//
// Lookups of one chip are merged (one request to the KDS however many
// launches wait for it); lookups of different chips do not wait for each
// other. A failed lookup is remembered for `failureTtlSeconds`, so a host
// cannot make every launch wait for the KDS timeout, and AMD's service is not
// asked again for a chip it just refused.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "cvm/common/bytes.h"
#include "cvm/common/error.h"

namespace cvm::server {

class Metrics;

class CekSource
{
public:
	struct Options {
		std::string cacheDir;        // "" = no cache
		std::string kdsUrl;          // "" or fetch=false = never fetch
		unsigned timeoutSeconds = 10;
		bool fetch = true;
		std::string kdsCaFile;       // tests: trust this CA for an HTTPS stand-in
		unsigned failureTtlSeconds = 60; // a failed lookup is answered from memory this long
	};

	CekSource(Options options, Metrics *metrics) : options_(std::move(options)), metrics_(metrics) {}

	// The cached CEK for a chip, if any.
	Result<std::optional<Bytes>> cached(ByteView chipId) const;
	// Asks the KDS (one request per chip at a time; answers and failures
	// are remembered in memory: concurrent launches of one new platform must
	// not stampede AMD's service). The result is unverified.
	Result<Bytes> fetch(ByteView chipId);
	// Stores a CEK the caller has verified. Failure to cache is only logged.
	void remember(ByteView chipId, ByteView cek) const;
	// Drops a fetched answer that did not verify, so the next launch asks again.
	void forget(ByteView chipId);

	bool canFetch() const { return options_.fetch && !options_.kdsUrl.empty(); }

	// Remembered failures and answers at most (the oldest are dropped).
	static constexpr size_t kMaxRemembered = 1024;

private:
	using Clock = std::chrono::steady_clock;
	struct Lookup; // one chip's lookup in progress

	std::string cachePath(ByteView chipId) const;
	Result<Bytes> ask(ByteView chipId) const;
	void rememberOutcome(const std::string &chip, const Result<Bytes> &outcome);

	Options options_;
	Metrics *metrics_;
	std::mutex mutex_; // guards the maps below; never held during I/O
	std::map<std::string, Bytes> fetched_;                        // chip id hex → CEK
	std::map<std::string, std::pair<Clock::time_point, Error>> failed_; // chip id hex → until, why
	std::map<std::string, std::shared_ptr<Lookup>> inFlight_;
};

} // namespace cvm::server
