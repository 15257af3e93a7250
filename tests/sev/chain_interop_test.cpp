// SPDX-License-Identifier: Apache-2.0
//
// Interop of the certificate layer with an independent implementation
// (cert_check.py, python3-cryptography): chains we build and sign verify
// there, chains it builds and signs verify here, and a flipped byte fails in
// both, on the same link.
#include <catch2/catch.hpp>

#include "chain_support.h"
#include "test_support.h"

using namespace cvm;
using namespace cvm::sev;
using namespace cvm::sev::test;

namespace {

const char *kPython = "/usr/bin/python3";

cvm::test::CommandResult certCheck(const std::string &mode, const std::string &dir)
{
	return cvm::test::run({ kPython, cvm::test::sourcePath("tests/sev/cert_check.py"), mode, dir });
}

void writeHierarchy(const std::string &dir, const Hierarchy &h)
{
	writeCert(dir, "ark", h.ark.bytes());
	writeCert(dir, "ask", h.ask.bytes());
	writeCert(dir, "cek", h.cek.bytes());
	writeCert(dir, "oca", h.oca.bytes());
	writeCert(dir, "pek", h.pek.bytes());
	writeCert(dir, "pdh", h.pdh.bytes());
}

Bytes read(const std::string &dir, const std::string &name)
{
	return readFile(dir + "/" + name + ".cert").value();
}

} // namespace

TEST_CASE("the independent implementation accepts the real Naples chain (checks the checker)")
{
	cvm::test::requireFixtures();
	cvm::test::requireExecutable(kPython);
	auto tmp = TempDir::create("cvmt-sev-certs-").value();
	for (const char *n : { "pdh", "pek", "oca", "cek" })
		writeCert(tmp.path(), n, naplesCert(n));
	writeCert(tmp.path(), "ark", amdRoot("naples", "ark").bytes());
	writeCert(tmp.path(), "ask", amdRoot("naples", "ask").bytes());
	auto r = certCheck("verify", tmp.path());
	INFO(r.err);
	CHECK(r.exitStatus == 0);
	CHECK(r.out == "ok\n");
	writeCert(tmp.path(), "ask", amdRoot("rome", "ask").bytes());
	CHECK(certCheck("verify", tmp.path()).exitStatus == 1);
}

TEST_CASE("chains built with our construction API verify in the independent implementation")
{
	cvm::test::requireExecutable(kPython);
	for (unsigned bits : { 2048u, 4096u }) {
		INFO(bits);
		auto tmp = TempDir::create("cvmt-sev-certs-").value();
		Hierarchy h = makeHierarchy(bits);
		writeHierarchy(tmp.path(), h);
		auto r = certCheck("verify", tmp.path());
		INFO(r.out << r.err);
		CHECK(r.exitStatus == 0);

		struct Flip {
			const char *cert;
			size_t offset;
			const char *link;
		};
		for (Flip f : { Flip{ "pdh", 0x300, "PDH: " }, Flip{ "pek", 0x624 + 5, "PEK: " },
				Flip{ "cek", 0x41c + 5, "CEK: " }, Flip{ "ask", 0x50, "ASK: " } }) {
			Bytes raw = read(tmp.path(), f.cert);
			raw[f.offset] ^= 0x10;
			writeCert(tmp.path(), f.cert, raw);
			r = certCheck("verify", tmp.path());
			CHECK(r.exitStatus == 1);
			CHECK(r.out.rfind(f.link, 0) == 0);
			raw[f.offset] ^= 0x10;
			writeCert(tmp.path(), f.cert, raw);
		}
	}
}

TEST_CASE("chains built by the independent implementation verify here")
{
	cvm::test::requireFixtures();
	cvm::test::requireExecutable(kPython);
	auto tmp = TempDir::create("cvmt-sev-certs-").value();
	auto r = certCheck("build", tmp.path());
	INFO(r.err);
	REQUIRE(r.exitStatus == 0);
	AmdCert ark = AmdCert::parse(read(tmp.path(), "ark")).value();
	AmdCert ask = AmdCert::parse(read(tmp.path(), "ask")).value();
	AmdRoots roots = makeRoots("theirs", ark, ask, TrustMode::AsGiven, tmp.path()).value();
	auto chain = makePlatformChain(read(tmp.path(), "pdh"), read(tmp.path(), "pek"), read(tmp.path(), "oca"),
				       read(tmp.path(), "cek"));
	REQUIRE(chain.ok());
	// Their PEK carries the CEK signature in slot 1: found by usage.
	CHECK(chain->pek.slotFor(KeyUsage::Cek) == 0u);
	ChainVerdict v = verifyChain(*chain, roots);
	INFO(v.failure);
	CHECK(v.valid());
	// Re-serialising what we parsed gives their bytes back.
	CHECK(chain->pdh.bytes() == read(tmp.path(), "pdh"));
	CHECK(ark.bytes() == read(tmp.path(), "ark"));

	Bytes pdh = read(tmp.path(), "pdh");
	pdh[0x41c + 3] ^= 1;
	auto tampered = makePlatformChain(pdh, read(tmp.path(), "pek"), read(tmp.path(), "oca"), read(tmp.path(), "cek"));
	REQUIRE(tampered.ok());
	CHECK(verifyChain(*tampered, roots).failure == "PDH: PEK signature does not verify");
	// And not to AMD's roots.
	CHECK_FALSE(verifyChain(*chain, amdStore()).valid());
}
