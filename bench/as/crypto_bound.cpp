// SPDX-License-Identifier: Apache-2.0
#include "crypto_bound.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include <openssl/evp.h>

#include "cvm/common/ossl.h"

namespace cvm::bench {

namespace {

EvpPkeyPtr p384Key()
{
	EvpPkeyPtr key(EVP_EC_gen("P-384"));
	if (!key) {
		fprintf(stderr, "P-384 key generation failed\n");
		abort();
	}
	return key;
}

// One flow's worth: a fresh key pair, then ECDH with the peer (the PDH).
void keygenAndDerive(EVP_PKEY *peer)
{
	EvpPkeyPtr mine = p384Key();
	EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(mine.get(), nullptr));
	unsigned char secret[48];
	size_t len = sizeof(secret);
	if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 || EVP_PKEY_derive_set_peer(ctx.get(), peer) != 1 ||
	    EVP_PKEY_derive(ctx.get(), secret, &len) != 1) {
		fprintf(stderr, "ECDH failed\n");
		abort();
	}
}

} // namespace

double callsPerSecond(unsigned threads, double seconds, const std::function<void()> &op)
{
	std::atomic<bool> stop{ false };
	std::atomic<long> ops{ 0 };
	std::vector<std::thread> workers;
	auto start = std::chrono::steady_clock::now();
	for (unsigned t = 0; t < threads; ++t)
		workers.emplace_back([&] {
			long n = 0;
			while (!stop.load(std::memory_order_relaxed)) {
				op();
				++n;
			}
			ops += n;
		});
	std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
	stop = true;
	for (auto &w : workers)
		w.join();
	double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
	return static_cast<double>(ops.load()) / elapsed;
}

double cryptoBound(unsigned threads, double seconds)
{
	EvpPkeyPtr peer = p384Key();
	return callsPerSecond(threads, seconds, [&] { keygenAndDerive(peer.get()); });
}

} // namespace cvm::bench
