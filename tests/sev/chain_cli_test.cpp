// SPDX-License-Identifier: Apache-2.0
//
// cvm-launch sev verify-chain as a process: exit codes, messages naming the
// failing link, roots named with --roots trusted as given, the generation
// from the ARK's key id, the unsigned-CEK path, --json.
#include <catch2/catch.hpp>

#include <filesystem>

#include "chain_support.h"
#include "cvm/common/json.h"
#include "test_support.h"

using namespace cvm;
using namespace cvm::sev;
using namespace cvm::sev::test;

namespace {

cvm::test::CommandResult verifyChainCli(std::vector<std::string> args)
{
	args.insert(args.begin(), { cvm::test::buildPath("plugin/cvm-launch"), "sev", "verify-chain" });
	return cvm::test::run(args);
}

// A copy of the Naples platform directory, `name` replaced when given.
std::string naplesDir(const TempDir &tmp, const std::string &name = "", ByteView replacement = {})
{
	std::string dir = tmp.file("platform");
	for (const char *n : { "pdh", "pek", "oca", "cek" })
		writeCert(dir, n, name == n ? Bytes(replacement.begin(), replacement.end()) : naplesCert(n));
	return dir;
}

bool contains(const std::string &haystack, std::string_view needle)
{
	return haystack.find(needle) != std::string::npos;
}

} // namespace

TEST_CASE("verify-chain accepts the real Naples chain with AMD's roots")
{
	cvm::test::requireFixtures();
	auto tmp = TempDir::create("cvmt-sev-certs-").value();
	auto r = verifyChainCli({ "--cert-dir", naplesDir(tmp), "--roots", amdRootsDir() });
	INFO(r.err);
	CHECK(r.exitStatus == 0);
	CHECK(contains(r.out, "valid: the platform chain verifies to the naples AMD roots"));

	// ark.cert/ask.cert in the directory are enough: AMD's ARK is pinned.
	std::string dir = naplesDir(tmp);
	writeCert(dir, "ark", amdRoot("naples", "ark").bytes());
	writeCert(dir, "ask", amdRoot("naples", "ask").bytes());
	r = verifyChainCli({ "--cert-dir", dir });
	INFO(r.err);
	CHECK(r.exitStatus == 0);
	// The raw base64 values libvirt reports.
	Bytes blob = concat({ naplesCert("pek"), naplesCert("oca"), naplesCert("cek") });
	std::string pdhB64 = tmp.file("pdh.b64"), chainB64 = tmp.file("chain.b64");
	REQUIRE(writeFileAtomic(pdhB64, asBytes(toBase64(naplesCert("pdh")) + "\n")).ok());
	REQUIRE(writeFileAtomic(chainB64, asBytes(toBase64(blob) + "\n")).ok());
	r = verifyChainCli({ "--pdh", pdhB64, "--cert-chain", chainB64, "--roots", amdRootsDir(), "--json" });
	INFO(r.err);
	REQUIRE(r.exitStatus == 0);
	auto json = json::parseObject(r.out);
	REQUIRE(json.ok());
	JsonObject *o = json_node_get_object(json->get());
	CHECK(std::string(json_object_get_string_member(o, "verdict")) == "valid");
	CHECK(std::string(json_object_get_string_member(o, "generation")) == "naples");
	JsonObject *certs = json_object_get_object_member(o, "certificates");
	JsonObject *ark = json_object_get_object_member(certs, "ark");
	CHECK(std::string(json_object_get_string_member(ark, "key-id")) == "1bb987c359494606b174945601c9ea5b");
	JsonObject *pdh = json_object_get_object_member(certs, "pdh");
	CHECK(std::string(json_object_get_string_member(pdh, "algorithm")) == "ECDH-SHA256");
	CHECK(json_array_get_length(json_object_get_array_member(o, "links")) == 7);
}

TEST_CASE("verify-chain names the failing link and exits 1")
{
	cvm::test::requireFixtures();
	auto tmp = TempDir::create("cvmt-sev-certs-").value();
	Bytes pek = naplesCert("pek");
	pek[0x624 + 3] ^= 1;
	auto r = verifyChainCli({ "--cert-dir", naplesDir(tmp, "pek", pek), "--roots", amdRootsDir() });
	CHECK(r.exitStatus == 1);
	CHECK(contains(r.err, "invalid: PEK: CEK signature does not verify"));
	CHECK(contains(r.out, "PEK  signed by CEK  FAILED"));

	auto tmp2 = TempDir::create("cvmt-sev-certs-").value();
	r = verifyChainCli({ "--cert-dir", naplesDir(tmp2, "cek", ByteView(naplesCert("cek")).first(2000)),
			     "--roots", amdRootsDir() });
	CHECK(r.exitStatus == 1);
	CHECK(contains(r.err, "CEK certificate: SEV certificate: must be 2084 bytes, not 2000"));

	// Wrong generation: only Rome's roots.
	auto tmp3 = TempDir::create("cvmt-sev-certs-").value();
	writeRoots(tmp3.file("roots"), "rome", amdRoot("rome", "ark"), amdRoot("rome", "ask"));
	r = verifyChainCli({ "--cert-dir", naplesDir(tmp3), "--roots", tmp3.file("roots") });
	CHECK(r.exitStatus == 1);
	CHECK(contains(r.err, "invalid: CEK: "));
}

TEST_CASE("verify-chain: a directory named with --roots is trusted as given, with a warning")
{
	cvm::test::requireFixtures();
	auto tmp = TempDir::create("cvmt-sev-certs-").value();
	const Hierarchy &h = sharedHierarchy();
	std::string roots = tmp.file("roots");
	writeRoots(roots, "naples", amdRoot("naples", "ark"), amdRoot("naples", "ask"));
	writeRoots(roots, "milan", h.ark, h.ask);
	std::string dir = tmp.file("own");
	writeCert(dir, "pdh", h.pdh.bytes());
	writeCert(dir, "pek", h.pek.bytes());
	writeCert(dir, "oca", h.oca.bytes());
	writeCert(dir, "cek", h.cek.bytes());

	// A swapped root among AMD's: trusted as given (the user named it), and
	// the warning and the verdict say it is not AMD's.
	for (const char *option : { "--roots", "--test-roots" }) {
		auto r = verifyChainCli({ "--cert-dir", dir, option, roots });
		INFO(option << ": " << r.err);
		CHECK(r.exitStatus == 0);
		CHECK(contains(r.err, "warning: trusting the roots in " + roots + " as given"));
		CHECK(contains(r.err, "not AMD's: milan"));
		CHECK(contains(r.out, "verifies to the milan roots in " + roots + "/milan, trusted as given (not AMD's)"));
	}
	auto r = verifyChainCli({ "--cert-dir", dir, "--roots", roots, "--json" });
	REQUIRE(r.exitStatus == 0);
	auto json = json::parseObject(r.out);
	REQUIRE(json.ok());
	JsonObject *o = json_node_get_object(json->get());
	CHECK_FALSE(json_object_get_boolean_member(o, "amd-roots"));
	CHECK(std::string(json_object_get_string_member(o, "roots")) == roots + "/milan");
	CHECK(json_array_get_length(json_object_get_array_member(o, "warnings")) == 1);

	// AMD's own roots named explicitly: still a warning (not pinned), but
	// the verdict is AMD's.
	r = verifyChainCli({ "--cert-dir", naplesDir(tmp), "--roots", roots });
	CHECK(r.exitStatus == 0);
	CHECK(contains(r.err, "as given"));
	CHECK(contains(r.out, "verifies to the naples AMD roots"));
	// Our hierarchy does not verify to AMD's real roots.
	r = verifyChainCli({ "--cert-dir", dir, "--roots", amdRootsDir() });
	CHECK(r.exitStatus == 1);
	CHECK(contains(r.err, "invalid: CEK: ASK signature does not verify"));
	CHECK_FALSE(contains(r.err, "not AMD's"));
	// An unknown ARK next to the platform certificates is refused.
	writeCert(dir, "ark", h.ark.bytes());
	writeCert(dir, "ask", h.ask.bytes());
	r = verifyChainCli({ "--cert-dir", dir, "--roots", amdRootsDir() });
	CHECK(r.exitStatus == 1);
	CHECK(contains(r.err, "nor one of the trusted roots"));
	// ... unless it is one of the roots named explicitly.
	r = verifyChainCli({ "--cert-dir", dir, "--roots", roots });
	INFO(r.err);
	CHECK(r.exitStatus == 0);
}

TEST_CASE("verify-chain: the generation comes from the ARK's key id, not the directory name")
{
	cvm::test::requireFixtures();
	auto tmp = TempDir::create("cvmt-sev-certs-").value();
	std::string roots = tmp.file("roots");
	writeRoots(roots, "mine", amdRoot("naples", "ark"), amdRoot("naples", "ask"));
	auto r = verifyChainCli({ "--cert-dir", naplesDir(tmp), "--roots", roots, "--json" });
	INFO(r.err);
	REQUIRE(r.exitStatus == 0);
	auto json = json::parseObject(r.out);
	REQUIRE(json.ok());
	JsonObject *o = json_node_get_object(json->get());
	CHECK(std::string(json_object_get_string_member(o, "generation")) == "naples");
	CHECK(json_object_get_boolean_member(o, "amd-roots"));
	JsonObject *ark = json_object_get_object_member(json_object_get_object_member(o, "certificates"), "ark");
	REQUIRE(ark);
	CHECK(std::string(json_object_get_string_member(ark, "key-id")) == "1bb987c359494606b174945601c9ea5b");
}

TEST_CASE("verify-chain: an unsigned CEK, then the signed one from --cek or the cache")
{
	cvm::test::requireFixtures();
	auto tmp = TempDir::create("cvmt-sev-certs-").value();
	SevCert cek = SevCert::parse(naplesCert("cek")).value();
	cek.clearSignature(KeyUsage::Ask);
	std::string dir = naplesDir(tmp, "cek", cek.bytes());
	Bytes chipId(64, 0x5a);
	std::string chipB64 = toBase64(chipId), chipHex = toHex(chipId);

	auto r = verifyChainCli({ "--cert-dir", dir, "--roots", amdRootsDir(), "--cpu-id", chipB64 });
	CHECK(r.exitStatus == 1);
	CHECK(contains(r.err, "the platform's CEK is unsigned: fetch the AMD-signed CEK for chip id " + chipHex));
	CHECK(contains(r.err, "https://kdsintf.amd.com/cek/id/" + chipHex));
	r = verifyChainCli({ "--cert-dir", dir, "--roots", amdRootsDir(), "--json" });
	CHECK(r.exitStatus == 1);
	CHECK(contains(r.out, "\"verdict\" : \"cek-unsigned\""));

	std::string signedCek = tmp.file("signed-cek.cert");
	REQUIRE(writeFileAtomic(signedCek, naplesCert("cek")).ok());
	r = verifyChainCli({ "--cert-dir", dir, "--roots", amdRootsDir(), "--cek", signedCek });
	INFO(r.err);
	CHECK(r.exitStatus == 0);
	CHECK(contains(r.out, "with the supplied signed CEK"));

	std::string cache = tmp.file("cek-cache");
	writeCert(cache, chipHex, naplesCert("cek"));
	r = verifyChainCli({ "--cert-dir", dir, "--roots", amdRootsDir(), "--cek-cache", cache, "--cpu-id", chipB64 });
	INFO(r.err);
	CHECK(r.exitStatus == 0);

	Hierarchy h = makeHierarchy(2048);
	REQUIRE(writeFileAtomic(signedCek, h.cek.bytes()).ok());
	r = verifyChainCli({ "--cert-dir", dir, "--roots", amdRootsDir(), "--cek", signedCek });
	CHECK(r.exitStatus == 1);
	CHECK(contains(r.err, "different public key"));
}

TEST_CASE("verify-chain usage errors exit 2")
{
	CHECK(verifyChainCli({}).exitStatus == 2);
	CHECK(verifyChainCli({ "--pdh", "x" }).exitStatus == 2);
	CHECK(verifyChainCli({ "--cert-dir", "x", "--pdh", "y", "--cert-chain", "z" }).exitStatus == 2);
	CHECK(verifyChainCli({ "--cert-dir", "x", "--cek", "a", "--cek-cache", "b" }).exitStatus == 2);
	CHECK(verifyChainCli({ "--cert-dir", "x", "extra" }).exitStatus == 2);
	auto r = verifyChainCli({ "--bogus" });
	CHECK(r.exitStatus == 2);
}
