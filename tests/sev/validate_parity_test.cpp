// SPDX-License-Identifier: Apache-2.0
//
// `cvm-launch sev validate` and libvirt's virt-qemu-sev-validate give the
// same exit code for the same offline arguments: success, mismatch, each
// usage error of its check_usage(), unreadable or malformed inputs, and the
// secret-injection errors. One known divergence is pinned down at the end.
#include <catch2/catch.hpp>

#include <map>

#include "cvm/sev/launch_digest.h"
#include "interop_support.h"
#include "sev_test_support.h"

using namespace cvm;
using namespace cvm::sev;
using namespace cvm::sev::test;
namespace sevtest = cvm::sev::test;

TEST_CASE("both validators give the same exit code on usage and input errors")
{
	requireTool();
	sevtest::requireFile(sevtest::kDebianOvmf);
	auto dir = TempDir::create("cvm-sev-interop-").value();
	Bytes tik = sevtest::randomBytes(16), tek = sevtest::randomBytes(16);
	auto file = [&](const char *name, ByteView data) {
		std::string p = dir.file(name);
		REQUIRE(writeFileAtomic(p, data).ok());
		return p;
	};
	std::string tikF = file("tik", tik), tekF = file("tek", tek), secret = file("secret", asBytes("s3cret"));
	std::string shortKey = file("short", Bytes(15)), shortTk = file("shorttk", Bytes(31));
	std::string smallVmsa = file("vmsa-small", Bytes(4000)), vmsa = file("vmsa", Bytes(4096, 1));
	std::string plainFw = file("plain.fd", sevtest::randomBytes(65536));
	LaunchDigestInputs in;
	in.firmware = sevtest::kDebianOvmf;
	Digest256 ld = computeLaunchDigest(in)->launchDigest;
	PlatformVersion ver{ 1, 52, 4 };
	LaunchMeasurement m = measureLaunch(tik, ver, 3, ld).value();
	LaunchMeasurement wrong = m;
	wrong.mnonce[0] ^= 1;

	std::vector<std::string> keys = { "--tik", tikF, "--tek", tekF };
	auto base = [&](const LaunchMeasurement &mm, uint32_t policy = 3) {
		std::vector<std::string> a = { "--measurement=" + mm.toBase64(), "--api-major", "1", "--api-minor", "52",
					       "--build-id", "4", "--policy", std::to_string(policy),
					       "--firmware", sevtest::kDebianOvmf };
		return a;
	};
	auto plus = [](std::vector<std::string> a, std::vector<std::string> b) {
		a.insert(a.end(), b.begin(), b.end());
		return a;
	};
	auto without = [](std::vector<std::string> a, const std::string &flag) {
		for (size_t i = 0; i < a.size(); ++i)
			if (a[i] == flag || a[i].rfind(flag + "=", 0) == 0) {
				a.erase(a.begin() + static_cast<ptrdiff_t>(i), a.begin() + static_cast<ptrdiff_t>(i) + (a[i] == flag ? 2 : 1));
				break;
			}
		return a;
	};
	auto out = [&](const char *n) { return std::vector<std::string>{ "--secret-header", dir.file(std::string(n) + ".h"), "--secret-payload", dir.file(std::string(n) + ".p") }; };
	const std::vector<std::string> good = plus(base(m), keys);
	std::map<std::string, std::vector<std::string>> scenarios = {
		{ "ok", good },
		{ "quiet", plus(good, { "--quiet" }) },
		{ "mismatch", plus(base(wrong), keys) },
		{ "no keys", base(m) },
		{ "tik only", plus(base(m), { "--tik", tikF }) },
		{ "tk and tik", plus(good, { "--tk", tikF }) },
		{ "no measurement", without(good, "--measurement") },
		{ "no firmware", without(good, "--firmware") },
		{ "no policy", without(good, "--policy") },
		{ "no build id", without(good, "--build-id") },
		{ "initrd without kernel", plus(good, { "--initrd", secret }) },
		{ "cmdline without kernel", plus(good, { "--cmdline", "x" }) },
		{ "vmsa1 without vmsa0", plus(good, { "--vmsa-cpu1", vmsa }) },
		{ "partial sku", plus(good, { "--cpu-family", "25" }) },
		{ "sku and vmsa", plus(good, { "--cpu-family", "25", "--cpu-model", "1", "--cpu-stepping", "1", "--vmsa-cpu0", vmsa }) },
		{ "header without payload", plus(good, { "--secret-header", dir.file("h") }) },
		{ "inject without outputs", plus(good, { "--inject-secret", "luks-key:" + secret }) },
		{ "short tik", plus(base(m), { "--tik", shortKey, "--tek", tekF }) },
		{ "short tk", plus(base(m), { "--tk", shortTk }) },
		{ "es without cpus", plus(base(m, 7), keys) },
		{ "es smp without vmsa1", plus(base(m, 7), plus(keys, { "--num-cpus", "2", "--vmsa-cpu0", vmsa })) },
		{ "es without vmsa", plus(base(m, 7), plus(keys, { "--num-cpus", "1" })) },
		{ "small vmsa", plus(good, { "--vmsa-cpu0", smallVmsa }) },
		{ "missing firmware", plus(without(good, "--firmware"), { "--firmware", dir.file("absent.fd") }) },
		{ "sku on firmware without table", plus(without(good, "--firmware"), { "--firmware", plainFw, "--cpu-family", "25", "--cpu-model", "1", "--cpu-stepping", "1" }) },
		{ "junk base64", plus(without(good, "--measurement"), { "--measurement", "@@@@" }) },
		{ "bad base64 padding", plus(without(good, "--measurement"), { "--measurement", "abc" }) },
		{ "measurement with junk", plus(without(good, "--measurement"), { "--measurement", "*" + m.toBase64() + "!" }) },
		{ "inject without colon", plus(plus(good, { "--inject-secret", "luks-key" }), out("a")) },
		{ "unknown alias", plus(plus(good, { "--inject-secret", "disk:" + secret }), out("b")) },
		{ "duplicate secret", plus(plus(good, { "--inject-secret", "luks-key:" + secret, "--inject-secret", "736869e5-84f0-4973-92ec-06879ce3da0b:" + secret }), out("c")) },
		{ "missing secret file", plus(plus(good, { "--inject-secret", "luks-key:" + dir.file("absent") }), out("d")) },
		{ "two secrets", plus(plus(good, { "--inject-secret", "luks-key:" + secret, "--inject-secret", "11111111-2222-4333-8444-555555555555:" + secret }), out("e")) },
	};
	Driver d;
	for (const auto &[name, args] : scenarios)
		d.runs.push_back(run(name, args));
	JsonNodePtr holder;
	JsonObject *results = d.execute(dir, holder);
	for (const auto &[name, args] : scenarios) {
		std::vector<std::string> a = args;
		a.insert(a.begin(), "validate");
		auto r = ours(a);
		int theirs = resultRc(results, name);
		INFO(name << ": ours " << r.exitStatus << " (" << r.err << "), tool " << theirs);
		CHECK(r.exitStatus == theirs);
		CHECK(theirs >= 0);
	}
	CHECK(resultRc(results, "ok") == 0);
	CHECK(resultRc(results, "mismatch") == 1);

	// A known divergence: SEV-ES with one vCPU and only --vmsa-cpu0 crashes the
	// tool (exit 6: it multiplies the missing AP VMSA by zero); we measure it.
	LaunchDigestInputs one;
	one.firmware = sevtest::kDebianOvmf;
	one.sevEs = true;
	one.numCpus = 1;
	one.vmsaCpu0 = vmsa;
	LaunchMeasurement esm = measureLaunch(tik, ver, 7, computeLaunchDigest(one)->launchDigest).value();
	std::vector<std::string> esArgs = plus(base(esm, 7), plus(keys, { "--num-cpus", "1", "--vmsa-cpu0", vmsa }));
	Driver d2;
	d2.runs.push_back(run("es one cpu", esArgs));
	JsonNodePtr holder2;
	JsonObject *r2 = d2.execute(dir, holder2);
	CHECK(resultRc(r2, "es one cpu") == 6);
	esArgs.insert(esArgs.begin(), "validate");
	CHECK(ours(esArgs).exitStatus == 0);
}
