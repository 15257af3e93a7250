// SPDX-License-Identifier: Apache-2.0
#include "flow_crypto.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "cvm/sev/measurement.h"
#include "cvm/sev/secret.h"
#include "cvm/sev/session.h"
#include "test_platform.h"

namespace cvm::bench {

namespace {

const Bytes kDigest(32, 0x3c);

bool oneFlow(const test::TestPlatform &platform, ByteView pdhCert)
{
	auto owner = sev::startSessionWithPdhCert(pdhCert, 1);
	if (!owner)
		return false;
	attest::LaunchResponse launch;
	launch.ownerCert = owner->godhCert;
	launch.session = owner->session.serialize();
	launch.policy = 1;
	auto keys = platform.open(launch);
	if (!keys)
		return false;
	attest::ValidateRequest report = platform.measure(*keys, 1, kDigest);
	auto m = sev::LaunchMeasurement::parse(report.measurement);
	sev::PlatformVersion v{ report.apiMajor, report.apiMinor, report.buildId };
	auto match = sev::matchMeasurement(owner->keys.tik, v, 1, { kDigest }, *m);
	if (!match || !*match)
		return false;
	std::vector<sev::SecretEntry> entries;
	entries.push_back({ sev::secret_guid::luksKey(), SecureBuffer(asBytes("bench-secret")) });
	auto table = sev::buildSecretTable(entries);
	auto packet = sev::sealSecret(owner->keys.tek, owner->keys.tik, m->measure, table->view());
	return packet && sev::openSecret(keys->tek, keys->tik, m->measure, packet->header, packet->payload).ok();
}

} // namespace

double flowCryptoRate(const test::TestPlatform &platform, unsigned threads, double seconds)
{
	Bytes pdh = platform.launchRequest(false).pdh;
	std::atomic<bool> stop{ false };
	std::atomic<long> ops{ 0 };
	std::vector<std::thread> workers;
	auto start = std::chrono::steady_clock::now();
	for (unsigned t = 0; t < threads; ++t)
		workers.emplace_back([&] {
			long n = 0;
			while (!stop.load(std::memory_order_relaxed)) {
				if (!oneFlow(platform, pdh)) {
					fprintf(stderr, "as-bench: the in-process flow crypto failed\n");
					abort();
				}
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

} // namespace cvm::bench
