// SPDX-License-Identifier: Apache-2.0
//
// cvm-launch sev session | measure | validate as processes: files and modes,
// output, exit codes. The platform side of the library opens what `session`
// wrote; `validate` accepts what the library measured.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include "cvm/common/digest.h"
#include "cvm/common/json.h"
#include "cvm/sev/kdf.h"
#include "cvm/sev/launch_digest.h"
#include "cvm/sev/secret.h"
#include "cvm/sev/session.h"
#include "sev_test_support.h"
#include "test_support.h"

using namespace cvm;
using namespace cvm::sev;
namespace sevtest = cvm::sev::test;

namespace {

cvm::test::CommandResult launch(std::vector<std::string> args)
{
	args.insert(args.begin(), { cvm::test::buildPath("plugin/cvm-launch"), "sev" });
	return cvm::test::run(args);
}

std::string write(const TempDir &dir, const char *name, ByteView data)
{
	std::string p = dir.file(name);
	REQUIRE(writeFileAtomic(p, data).ok());
	return p;
}

mode_t modeOf(const std::string &path)
{
	struct stat st{};
	REQUIRE(stat(path.c_str(), &st) == 0);
	return st.st_mode & 0777;
}

} // namespace

TEST_CASE("sev session writes what the platform side opens")
{
	auto dir = TempDir::create("cvm-sev-cli-").value();
	EvpPkeyPtr pdh = generateP384Key().value();
	Bytes pdhCert = makeGodhCertificate(pdh.get()).value(); // same shape as a platform PDH
	std::string raw = write(dir, "pdh.cert", pdhCert);
	std::string b64 = write(dir, "pdh.b64", asBytes(toBase64(pdhCert) + "\n"));

	for (const std::string &pdhFile : { raw, b64 }) {
		std::string out = dir.file(pdhFile == raw ? "out-raw" : "out-b64");
		auto r = launch({ "session", "--pdh", pdhFile, "--policy", "0x5", "--out-dir", out });
		INFO(r.err);
		REQUIRE(r.exitStatus == 0);
		CHECK(modeOf(out + "/tek.bin") == 0600);
		CHECK(modeOf(out + "/tik.bin") == 0600);
		Bytes godh = readFile(out + "/godh.cert").value();
		Bytes session = readFile(out + "/session.bin").value();
		CHECK(godh.size() == 2084);
		CHECK(session.size() == 128);
		CHECK(fromBase64(readTextFile(out + "/godh.b64").value()).value() == godh);
		CHECK(fromBase64(readTextFile(out + "/session.b64").value()).value() == session);
		auto keys = openSessionWithGodhCert(pdh.get(), godh, session, 5);
		REQUIRE(keys.ok());
		CHECK(constantTimeEqual(keys->tek, readSecretFile(out + "/tek.bin").value()));
		CHECK(constantTimeEqual(keys->tik, readSecretFile(out + "/tik.bin").value()));
		// The policy is bound: another policy does not open it.
		CHECK(openSessionWithGodhCert(pdh.get(), godh, session, 1).error().tag() == kTagPolicyMac);
	}

	auto json = launch({ "session", "--pdh", raw, "--policy", "1", "--out-dir", dir.file("j"), "--json" });
	REQUIRE(json.exitStatus == 0);
	auto obj = json::parseObject(json.out);
	REQUIRE(obj.ok());
	CHECK(json::getBase64(json_node_get_object(obj->get()), "session").value().size() == 128);
	// Leading zeros are decimal (not octal, which would make 010 eight and 08 an error); 0x is hex.
	for (auto [text, value] : { std::pair{ "010", 10 }, std::pair{ "08", 8 }, std::pair{ "0x1F", 31 } }) {
		auto p = launch({ "session", "--pdh", raw, "--policy", text, "--out-dir", dir.file("p"), "--json" });
		INFO(text << ": " << p.err);
		REQUIRE(p.exitStatus == 0);
		auto po = json::parseObject(p.out);
		REQUIRE(po.ok());
		CHECK(json_object_get_int_member(json_node_get_object(po->get()), "policy") == value);
	}
	for (const char *bad : { "", "0x", " 1", "1 ", "+1", "1_0", "0b1", "0o7" })
		CHECK(launch({ "session", "--pdh", raw, "--policy", bad, "--out-dir", dir.file("x") }).exitStatus == 2);

	CHECK(launch({ "session", "--policy", "1", "--out-dir", dir.file("x") }).exitStatus == 2);
	CHECK(launch({ "session", "--pdh", raw, "--policy", "-1", "--out-dir", dir.file("x") }).exitStatus == 2);
	CHECK(launch({ "session", "--pdh", raw, "--policy", "0x100000000", "--out-dir", dir.file("x") }).exitStatus == 2);
	Bytes badCert = pdhCert;
	storeLe32(badCert, 0x8, 0x1002);
	auto bad = launch({ "session", "--pdh", write(dir, "bad.cert", badCert), "--policy", "1", "--out-dir", dir.file("x") });
	CHECK(bad.exitStatus == 1);
	CHECK(bad.err.find("PDH certificate") != std::string::npos);
	CHECK(launch({ "session", "--pdh", write(dir, "junk", asBytes("junk")), "--policy", "1", "--out-dir", dir.file("x") })
		      .exitStatus == 1);
}

TEST_CASE("sev measure prints the launch digest; exit 2 for what the firmware cannot measure")
{
	sevtest::requireFile(sevtest::kDebianOvmf);
	auto dir = TempDir::create("cvm-sev-cli-").value();
	auto r = launch({ "measure", "--firmware", sevtest::kDebianOvmf });
	REQUIRE(r.exitStatus == 0);
	CHECK(r.out == toHex(digestFile(DigestAlgorithm::Sha256, sevtest::kDebianOvmf).value()) + "\n");

	std::string kernel = write(dir, "k", sevtest::randomBytes(5000));
	auto refused = launch({ "measure", "--firmware", sevtest::kDebianOvmf, "--kernel", kernel });
	CHECK(refused.exitStatus == 2);
	CHECK(refused.err.find("cannot measure a direct-boot kernel") != std::string::npos);

	std::string fw = sevtest::writeKernelHashesFirmware(dir);
	auto k = launch({ "measure", "--firmware", fw, "--kernel", kernel, "--cmdline", "a b", "--json" });
	REQUIRE(k.exitStatus == 0);
	auto obj = json::parseObject(k.out).value();
	JsonObject *o = json_node_get_object(obj.get());
	LaunchDigestInputs in;
	in.firmware = fw;
	in.kernel = kernel;
	in.cmdline = "a b";
	Digest256 expected = computeLaunchDigest(in)->launchDigest;
	CHECK(json::getHex(o, "launch-digest").value() == Bytes(expected.begin(), expected.end()));
	CHECK(json::getObject(o, "kernel-hashes").ok());

	auto es = launch({ "measure", "--firmware", sevtest::kDebianOvmf, "--sev-es", "--num-cpus", "2", "--cpu-family",
			   "25", "--cpu-model", "1", "--cpu-stepping", "1" });
	CHECK(es.exitStatus == 0);
	CHECK(es.out.size() == 65);
	CHECK(launch({ "measure", "--firmware", sevtest::kDebianOvmf, "--num-cpus", "2" }).exitStatus == 2);
	CHECK(launch({ "measure", "--firmware", sevtest::kDebianOvmf, "--sev-es", "--num-cpus", "2" }).exitStatus == 2);
	CHECK(launch({ "measure", "--firmware", sevtest::kDebianOvmf, "--sev-es", "--num-cpus", "1", "--cpu-family", "25" })
		      .exitStatus == 2);
	CHECK(launch({ "measure", "--firmware", sevtest::kDebianOvmf, "--initrd", kernel }).exitStatus == 2);
	CHECK(launch({ "measure" }).exitStatus == 2);
	CHECK(launch({ "measure", "--firmware", dir.file("absent") }).exitStatus == 1);
}

TEST_CASE("sev validate: ok, attestation failure, usage errors, secrets")
{
	sevtest::requireFile(sevtest::kDebianOvmf);
	auto dir = TempDir::create("cvm-sev-cli-").value();
	Bytes tik = sevtest::randomBytes(16), tek = sevtest::randomBytes(16);
	std::string tikFile = write(dir, "tik", tik), tekFile = write(dir, "tek", tek);
	LaunchDigestInputs in;
	in.firmware = sevtest::kDebianOvmf;
	Digest256 ld = computeLaunchDigest(in)->launchDigest;
	PlatformVersion ver{ 1, 51, 3 };
	LaunchMeasurement m = measureLaunch(tik, ver, 0x1, ld).value();
	std::vector<std::string> base = { "validate", "--firmware", sevtest::kDebianOvmf, "--tik", tikFile, "--tek", tekFile,
					  "--api-major", "1", "--api-minor", "51", "--build-id", "3", "--policy", "1" };
	auto with = [&](std::vector<std::string> extra) {
		std::vector<std::string> a = base;
		a.insert(a.end(), extra.begin(), extra.end());
		return launch(a);
	};

	auto ok = with({ "--measurement", m.toBase64() });
	INFO(ok.err);
	CHECK(ok.exitStatus == 0);
	CHECK(ok.out == "OK: Looks good to me\n");
	CHECK(with({ "--measurement", m.toBase64(), "--quiet" }).out.empty());

	LaunchMeasurement flipped = m;
	flipped.measure[3] ^= 0x10;
	auto bad = with({ "--measurement", flipped.toBase64() });
	CHECK(bad.exitStatus == 1);
	CHECK(bad.err == "ERROR: Measurement does not match, VM is not trustworthy\n");
	CHECK(with({ "--measurement", toBase64(Bytes(40)) }).exitStatus == 1);
	CHECK(with({ "--measurement", "abc" }).exitStatus == 6);

	CHECK(launch({ "validate", "--measurement", m.toBase64() }).exitStatus == 2); // no keys
	CHECK(with({ "--measurement", m.toBase64(), "--domain", "vm1" }).exitStatus == 2);
	CHECK(with({ "--measurement", m.toBase64(), "--api-major", "256" }).exitStatus == 2);
	CHECK(with({ "--measurement", m.toBase64(), "--tk", tikFile }).exitStatus == 2);
	CHECK(with({ "--measurement", m.toBase64(), "--initrd", tikFile }).exitStatus == 2);
	CHECK(with({ "--measurement", m.toBase64(), "--tik", write(dir, "short", Bytes(15)) }).exitStatus == 2);

	// SEV-ES policy without a vCPU count.
	std::vector<std::string> es = base;
	es[es.size() - 1] = "5";
	es.insert(es.end(), { "--measurement", m.toBase64() });
	CHECK(launch(es).exitStatus == 2);

	// Secrets.
	std::string secret = write(dir, "pass", asBytes("correct horse"));
	auto inj = with({ "--measurement", m.toBase64(), "--inject-secret", "luks-key:" + secret, "--secret-header",
			  dir.file("hdr"), "--secret-payload", dir.file("payload") });
	INFO(inj.err);
	REQUIRE(inj.exitStatus == 0);
	CHECK(inj.out == "OK: Looks good to me\nOK: Injected 1 secrets\n");
	Bytes hdr = fromBase64(readTextFile(dir.file("hdr")).value()).value();
	Bytes payload = fromBase64(readTextFile(dir.file("payload")).value()).value();
	auto table = openSecret(tek, tik, m.measure, hdr, payload);
	REQUIRE(table.ok());
	auto entries = parseSecretTable(*table).value();
	REQUIRE(entries.size() == 1);
	CHECK(entries[0].guid == secret_guid::luksKey());
	CHECK(asString(entries[0].value.view()) == "correct horse");

	CHECK(with({ "--measurement", m.toBase64(), "--inject-secret", "luks-key:" + secret }).exitStatus == 2);
	CHECK(with({ "--measurement", m.toBase64(), "--inject-secret", "nope:" + secret, "--secret-header", dir.file("h2"),
		     "--secret-payload", dir.file("p2") })
		      .exitStatus == 2);
	CHECK(with({ "--measurement", m.toBase64(), "--inject-secret", "luks-key", "--secret-header", dir.file("h2"),
		     "--secret-payload", dir.file("p2") })
		      .exitStatus == 2);
	CHECK(with({ "--measurement", m.toBase64(), "--inject-secret", "luks-key:" + secret, "--inject-secret",
		     "736869e5-84f0-4973-92ec-06879ce3da0b:" + secret, "--secret-header", dir.file("h2"),
		     "--secret-payload", dir.file("p2") })
		      .exitStatus == 2);
}
