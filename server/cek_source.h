// SPDX-License-Identifier: Apache-2.0
//
// Where the AMD-signed CEK of a platform comes from when the host's chain
// carries an unsigned one: a cache directory of <chip-id-hex>.cert files (the
// layout of AMD's KDS and of the simulator's kds/ directory), then AMD's Key
// Distribution Service at <kds-url>/cek/id/<chip-id-hex>, with a bounded
// timeout. A fetched CEK enters the cache only after the caller has verified
// it (remember()).
#pragma once

#include <map>
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
	};

	CekSource(Options options, Metrics *metrics) : options_(std::move(options)), metrics_(metrics) {}

	// The cached CEK for a chip, if any.
	Result<std::optional<Bytes>> cached(ByteView chipId) const;
	// Asks the KDS (one request at a time, and answers are remembered in
	// memory: concurrent launches of one new platform must not stampede
	// AMD's service). The result is unverified.
	Result<Bytes> fetch(ByteView chipId);
	// Stores a CEK the caller has verified. Failure to cache is only logged.
	void remember(ByteView chipId, ByteView cek) const;
	// Drops a fetched answer that did not verify, so the next launch asks again.
	void forget(ByteView chipId);

	bool canFetch() const { return options_.fetch && !options_.kdsUrl.empty(); }

private:
	std::string cachePath(ByteView chipId) const;

	Options options_;
	Metrics *metrics_;
	std::mutex fetchMutex_;
	std::map<std::string, Bytes> fetched_; // chip id hex → CEK, guarded by fetchMutex_
};

} // namespace cvm::server
