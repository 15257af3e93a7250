// SPDX-License-Identifier: Apache-2.0
#include "flow_crypto.h"

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "crypto_bound.h"
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

Rate flowCryptoRate(const test::TestPlatform &platform, unsigned threads, double seconds)
{
	Bytes pdh = platform.launchRequest(false).pdh;
	return callsPerSecond(threads, seconds, [&] {
		if (!oneFlow(platform, pdh)) {
			fprintf(stderr, "as-bench: the in-process flow crypto failed\n");
			abort();
		}
	});
}

} // namespace cvm::bench
