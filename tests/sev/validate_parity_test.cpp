// SPDX-License-Identifier: Apache-2.0
//
// `cvm-launch sev validate` and libvirt's virt-qemu-sev-validate give the
// same exit code for the same offline arguments: success, mismatch, each
// usage error of its check_usage(), unreadable or malformed inputs, and the
// secret-injection errors; numbers read the way the tool's argparse reads
// them. The known divergences (listed in `sev validate --help`) are pinned
// down at the end: each makes the tool give one code and us another.
#include <catch2/catch.hpp>

#include <map>

#include "cvm/sev/launch_digest.h"
#include "interop_support.h"
#include "sev_test_support.h"

using namespace cvm;
using namespace cvm::sev;
using namespace cvm::sev::test;
namespace sevtest = cvm::sev::test;

namespace {

// The tool's exit code and ours for each scenario ("validate" prepended for ours).
struct Parity {
	std::map<std::string, std::vector<std::string>> scenarios;

	void check(const TempDir &dir, const std::map<std::string, std::pair<int, int>> &expected = {})
	{
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
			auto e = expected.find(name);
			if (e == expected.end()) {
				CHECK(r.exitStatus == theirs);
				CHECK(theirs >= 0);
			} else {
				CHECK(theirs == e->second.first);
				CHECK(r.exitStatus == e->second.second);
			}
		}
	}
};

struct Keys {
	Bytes tik = sevtest::randomBytes(16), tek = sevtest::randomBytes(16);
	std::vector<std::string> args;

	explicit Keys(const TempDir &dir)
	{
		REQUIRE(writeFileAtomic(dir.file("tik"), tik).ok());
		REQUIRE(writeFileAtomic(dir.file("tek"), tek).ok());
		args = { "--tik", dir.file("tik"), "--tek", dir.file("tek") };
	}
};

std::vector<std::string> concatArgs(std::vector<std::string> a, const std::vector<std::string> &b)
{
	a.insert(a.end(), b.begin(), b.end());
	return a;
}

// --measurement for `policy` and launch digest `ld`, then the version
// numbers as text (so a scenario can spell them differently).
std::vector<std::string> stateArgs(const Keys &k, uint32_t policy, const Digest256 &ld, const std::string &policyText,
				   const std::string &major = "1", const std::string &minor = "52", const std::string &build = "4")
{
	LaunchMeasurement m = measureLaunch(k.tik, PlatformVersion{ 1, 52, 4 }, policy, ld).value();
	// --policy=TEXT: argparse takes "-8" after a separate --policy for an
	// option (the tool has -0 and -1), so a negative value needs the = form.
	return concatArgs({ "--measurement", m.toBase64(), "--api-major=" + major, "--api-minor=" + minor,
			    "--build-id=" + build, "--policy=" + policyText },
			  k.args);
}

Digest256 firmwareDigest()
{
	LaunchDigestInputs in;
	in.firmware = sevtest::kDebianOvmf;
	return computeLaunchDigest(in)->launchDigest;
}

} // namespace

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
	std::string bigKey = file("big", Bytes(5000, 7)), bigTk = file("bigtk", Bytes(4097, 7));
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
		{ "tik over 4 KiB", plus(base(m), { "--tik", bigKey, "--tek", tekF }) },
		{ "tek over 4 KiB", plus(base(m), { "--tik", tikF, "--tek", bigKey }) },
		{ "tk over 4 KiB", plus(base(m), { "--tk", bigTk }) },
		{ "key is a directory", plus(base(m), { "--tik", dir.path(), "--tek", tekF }) },
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
	// Same codes; these two also must be what they say.
	Parity{ scenarios }.check(dir, { { "ok", { 0, 0 } }, { "mismatch", { 1, 1 } } });
}

TEST_CASE("numbers are read as the tool's argparse type=int reads them")
{
	requireTool();
	sevtest::requireFile(sevtest::kDebianOvmf);
	auto dir = TempDir::create("cvm-sev-interop-").value();
	Keys k(dir);
	Digest256 ld = firmwareDigest();
	std::vector<std::string> fw = { "--firmware", sevtest::kDebianOvmf };
	LaunchDigestInputs es;
	es.firmware = sevtest::kDebianOvmf;
	es.sevEs = true;
	es.numCpus = 2;
	es.cpuSku = CpuSku{ 25, 1, 1 };
	Digest256 esLd = computeLaunchDigest(es)->launchDigest;
	std::vector<std::string> sku = { "--cpu-family", "25", "--cpu-model", "1", "--cpu-stepping", "1" };

	Parity p;
	// 010 is ten (octal would be eight: a mismatch, exit 1).
	p.scenarios["policy 010"] = concatArgs(stateArgs(k, 10, ld, "010"), fw);
	p.scenarios["policy 08"] = concatArgs(stateArgs(k, 8, ld, "08"), fw);
	p.scenarios["policy 0x3"] = concatArgs(stateArgs(k, 3, ld, "0x3"), fw);
	p.scenarios["policy +3"] = concatArgs(stateArgs(k, 3, ld, "+3"), fw);
	p.scenarios["policy with spaces"] = concatArgs(stateArgs(k, 3, ld, " 3\t"), fw);
	p.scenarios["policy 0_3"] = concatArgs(stateArgs(k, 3, ld, "0_3"), fw);
	p.scenarios["policy 1__0"] = concatArgs(stateArgs(k, 10, ld, "1__0"), fw);
	p.scenarios["policy 3.0"] = concatArgs(stateArgs(k, 3, ld, "3.0"), fw);
	p.scenarios["policy empty"] = concatArgs(stateArgs(k, 3, ld, ""), fw);
	p.scenarios["policy -0"] = concatArgs(stateArgs(k, 0, ld, "-0"), fw);
	p.scenarios["api 01.052 build 04"] = concatArgs(stateArgs(k, 3, ld, "3", "01", "052", "04"), fw);
	p.scenarios["es num-cpus 02"] = concatArgs(stateArgs(k, 7, esLd, "7"), concatArgs(fw, concatArgs({ "--num-cpus", "02" }, sku)));
	p.scenarios["es cpu-model 01"] = concatArgs(stateArgs(k, 7, esLd, "7"),
						   concatArgs(fw, { "--num-cpus", "2", "--cpu-family", "025", "--cpu-model", "01",
								    "--cpu-stepping", "0_1" }));
	p.check(dir);
}

TEST_CASE("the known divergences from the tool, pinned")
{
	requireTool();
	sevtest::requireFile(sevtest::kDebianOvmf);
	auto dir = TempDir::create("cvm-sev-interop-").value();
	Keys k(dir);
	Digest256 ld = firmwareDigest();
	std::vector<std::string> fw = { "--firmware", sevtest::kDebianOvmf };
	std::string vmsa = dir.file("vmsa");
	REQUIRE(writeFileAtomic(vmsa, Bytes(4096, 1)).ok());
	std::string kernel = dir.file("kernel");
	REQUIRE(writeFileAtomic(kernel, sevtest::randomBytes(5000)).ok());

	// The tool's own digest for a kernel on Debian's OVMF.fd (no hash-table
	// area): a digest no QEMU produces, since QEMU refuses kernel-hashes there.
	Driver d;
	json::ObjectBuilder req;
	req.setString("id", "kernel on plain ovmf").setInt("policy", 3).setString("firmware", sevtest::kDebianOvmf)
		.setString("kernel", kernel);
	d.digests.push_back(std::move(req));
	JsonNodePtr holder;
	std::string toolHex = resultString(d.execute(dir, holder), "kernel on plain ovmf");
	auto toolDigest = fromHex(toolHex);
	INFO(toolHex);
	REQUIRE(toolDigest.ok());
	REQUIRE(toolDigest->size() == 32);
	Digest256 kernelLd;
	std::copy(toolDigest->begin(), toolDigest->end(), kernelLd.begin());

	// SEV-ES, one vCPU, CPU SKU: what the tool computes for --num-cpus 0.
	LaunchDigestInputs one;
	one.firmware = sevtest::kDebianOvmf;
	one.sevEs = true;
	one.numCpus = 1;
	one.cpuSku = CpuSku{ 25, 1, 1 };
	Digest256 oneLd = computeLaunchDigest(one)->launchDigest;
	one.cpuSku.reset();
	one.vmsaCpu0 = vmsa;
	Digest256 oneVmsaLd = computeLaunchDigest(one)->launchDigest;
	std::vector<std::string> sku = { "--cpu-family", "25", "--cpu-model", "1", "--cpu-stepping", "1" };

	Parity p;
	p.scenarios["kernel hashes without a hash-table area"] = concatArgs(stateArgs(k, 3, kernelLd, "3"),
									     concatArgs(fw, { "--kernel", kernel }));
	p.scenarios["es num-cpus 0"] = concatArgs(stateArgs(k, 7, oneLd, "7"), concatArgs(fw, concatArgs({ "--num-cpus", "0" }, sku)));
	p.scenarios["es one cpu, vmsa0 only"] = concatArgs(stateArgs(k, 7, oneVmsaLd, "7"),
							    concatArgs(fw, { "--num-cpus", "1", "--vmsa-cpu0", vmsa }));
	p.scenarios["api-major 300"] = concatArgs(stateArgs(k, 3, ld, "3", "300"), fw);
	p.scenarios["policy 2^32"] = concatArgs(stateArgs(k, 3, ld, "4294967296"), fw);
	p.scenarios["policy=-8"] = concatArgs(stateArgs(k, 3, ld, "-8"), fw);
	p.scenarios["cpu-model 300"] = concatArgs(stateArgs(k, 7, oneLd, "7"),
						 concatArgs(fw, { "--num-cpus", "1", "--cpu-family", "25", "--cpu-model", "300",
								  "--cpu-stepping", "1" }));
	// { tool, ours }
	p.check(dir, {
			     { "kernel hashes without a hash-table area", { 0, 2 } },
			     { "es num-cpus 0", { 0, 2 } },
			     { "es one cpu, vmsa0 only", { 6, 0 } },
			     { "api-major 300", { 6, 2 } },
			     { "policy 2^32", { 6, 2 } },
			     { "policy=-8", { 6, 2 } },
			     { "cpu-model 300", { 1, 2 } }, // the tool measures some other CPU: a mismatch
		     });
}
