// SPDX-License-Identifier: Apache-2.0
#include "crypto_bound.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include <time.h>

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

// One flow's worth: a fresh key pair, then ECDH with the peer (the PDH),
// whose point is checked the way sev::ecdhSharedSecret checks it.
void keygenAndDerive(EVP_PKEY *peer)
{
	EvpPkeyPtr mine = p384Key();
	EvpPkeyCtxPtr check(EVP_PKEY_CTX_new(peer, nullptr));
	EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(mine.get(), nullptr));
	unsigned char secret[48];
	size_t len = sizeof(secret);
	if (!check || EVP_PKEY_public_check_quick(check.get()) != 1 || !ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
	    EVP_PKEY_derive_set_peer_ex(ctx.get(), peer, 0) != 1 || EVP_PKEY_derive(ctx.get(), secret, &len) != 1) {
		fprintf(stderr, "ECDH failed\n");
		abort();
	}
}

} // namespace

namespace {

double threadCpuSeconds()
{
	timespec t{};
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

} // namespace

Rate callsPerSecond(unsigned threads, double seconds, const std::function<void()> &op)
{
	std::atomic<bool> stop{ false };
	std::atomic<long> ops{ 0 };
	std::atomic<long> cpuNs{ 0 };
	std::vector<std::thread> workers;
	auto start = std::chrono::steady_clock::now();
	for (unsigned t = 0; t < threads; ++t)
		workers.emplace_back([&] {
			long n = 0;
			double cpu0 = threadCpuSeconds();
			while (!stop.load(std::memory_order_relaxed)) {
				op();
				++n;
			}
			cpuNs += static_cast<long>((threadCpuSeconds() - cpu0) * 1e9);
			ops += n;
		});
	std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
	stop = true;
	for (auto &w : workers)
		w.join();
	double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
	Rate r;
	r.perSecond = static_cast<double>(ops.load()) / elapsed;
	r.cpuMsPerCall = ops.load() ? static_cast<double>(cpuNs.load()) / 1e6 / static_cast<double>(ops.load()) : 0;
	return r;
}

Rate cryptoBound(unsigned threads, double seconds)
{
	EvpPkeyPtr peer = p384Key();
	return callsPerSecond(threads, seconds, [&] { keygenAndDerive(peer.get()); });
}

} // namespace cvm::bench
