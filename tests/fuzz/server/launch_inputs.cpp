// SPDX-License-Identifier: Apache-2.0
// Fuzzes the launch path's handling of what a host sends, past the JSON
// layer: PDH ‖ PEK ‖ OCA ‖ CEK ‖ cpu-id through the chain check (pinned AMD
// roots from the fixtures, chain cache on), and a validation report through
// the measurement match. First byte: 0 = chain, 1 = report.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "cek_source.h"
#include "cvm/sev/cert_types.h"
#include "launch_crypto.h"
#include "metrics.h"

using namespace cvm;
using namespace cvm::server;

namespace {

LaunchCrypto &crypto()
{
	static Metrics metrics;
	static CekSource cek({ "", "", 1, false, "" }, &metrics);
	static std::unique_ptr<LaunchCrypto> c = [] {
		const char *fixtures = getenv("CVM_FIXTURES");
		std::string roots = std::string(fixtures ? fixtures : "../shared/fixtures") + "/amd-sev/roots";
		auto made = LaunchCrypto::create({ roots, "", 16 }, &cek, &metrics);
		if (!made)
			abort(); // the harness needs the fixtures' roots
		return std::move(*made);
	}();
	return *c;
}

ByteView take(ByteView &rest, size_t n)
{
	ByteView part = rest.first(std::min(n, rest.size()));
	rest = rest.subspan(part.size());
	return part;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	ByteView rest(data + 1, size - 1);
	const size_t cert = sev::kSevCertificateSize;
	if (data[0] % 2 == 0) {
		attest::LaunchRequest r;
		ByteView pdh = take(rest, cert), chain = take(rest, 3 * cert);
		r.pdh.assign(pdh.begin(), pdh.end());
		r.certChain.assign(chain.begin(), chain.end());
		if (!rest.empty())
			r.cpuId = Bytes(rest.begin(), rest.end());
		auto platform = crypto().verifyPlatform(r);
		if (platform && platform->pdh != r.pdh)
			__builtin_trap();
		return 0;
	}
	attest::ValidateRequest v;
	ByteView head = take(rest, 7);
	if (head.size() < 7)
		return 0;
	v.apiMajor = head[0];
	v.apiMinor = head[1];
	v.buildId = head[2];
	v.policy = loadLe32(head, 3);
	v.measurement.assign(rest.begin(), rest.end());
	static const Bytes tik(16, 0x11);
	(void)crypto().matchMeasurement(tik, v, { Bytes(32, 1), Bytes(32, 2) });
	return 0;
}
