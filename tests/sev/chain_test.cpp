// SPDX-License-Identifier: Apache-2.0
//
// Platform chain verification against real AMD roots and against a
// hierarchy of our own; trust-root pinning; the unsigned-CEK path.
#include <catch2/catch.hpp>

#include <filesystem>

#include "chain_support.h"
#include "test_support.h"

using namespace cvm;
using namespace cvm::sev;
using namespace cvm::sev::test;

namespace {

Bytes flipped(Bytes raw, size_t offset)
{
	raw.at(offset) ^= 0x01;
	return raw;
}

// The Naples chain with `name` replaced by `raw`.
PlatformChain naplesWith(const std::string &name, ByteView raw)
{
	auto get = [&](const char *n) { return name == n ? Bytes(raw.begin(), raw.end()) : naplesCert(n); };
	return makePlatformChain(get("pdh"), get("pek"), get("oca"), get("cek")).value();
}

void requireFailure(const ChainVerdict &v, std::string_view failure)
{
	INFO(v.failure);
	CHECK(v.status == ChainStatus::Invalid);
	CHECK(v.failure == failure);
}

TempDir tempDir()
{
	return TempDir::create("cvmt-sev-certs-").value();
}

} // namespace

TEST_CASE("the real Naples chain verifies to AMD's pinned Naples roots")
{
	cvm::test::requireFixtures();
	TrustStore store = amdStore();
	REQUIRE(store.roots().size() == 5);
	CHECK(store.warnings().empty());
	ChainVerdict v = verifyChain(naplesChain(), store);
	INFO(v.failure);
	REQUIRE(v.valid());
	CHECK(v.generation == "naples");
	CHECK(v.failure.empty());
	REQUIRE(v.links.size() == 7);
	for (const LinkResult &l : v.links)
		CHECK(l.ok);
	CHECK(v.links[2].cert == "CEK");
	CHECK(v.links[2].signer == "ASK");
}

TEST_CASE("the cert-chain blob of QEMU/libvirt parses (PEK || OCA || CEK)")
{
	cvm::test::requireFixtures();
	Bytes blob = concat({ naplesCert("pek"), naplesCert("oca"), naplesCert("cek") });
	REQUIRE(blob.size() == 6252);
	auto chain = parsePlatformChainBase64(toBase64(naplesCert("pdh")), toBase64(blob));
	REQUIRE(chain.ok());
	CHECK(verifyChain(*chain, amdStore()).valid());

	auto shortBlob = parsePlatformChain(naplesCert("pdh"), ByteView(blob).first(6251));
	REQUIRE_FALSE(shortBlob.ok());
	CHECK(shortBlob.error().message().find("6252 bytes") != std::string::npos);
	Bytes longBlob = blob;
	longBlob.push_back(0);
	CHECK_FALSE(parsePlatformChain(naplesCert("pdh"), longBlob).ok());
	CHECK_FALSE(parsePlatformChainBase64("!!", toBase64(blob)).ok());

	// Swapped order: OCA where the PEK belongs.
	Bytes swapped = concat({ naplesCert("oca"), naplesCert("pek"), naplesCert("cek") });
	auto bad = parsePlatformChain(naplesCert("pdh"), swapped);
	REQUIRE_FALSE(bad.ok());
	CHECK(bad.error().message() == "PEK certificate: holds a OCA key, not a PEK");
}

TEST_CASE("a flipped byte in any platform certificate names the failing link")
{
	cvm::test::requireFixtures();
	TrustStore store = amdStore();
	struct Case {
		const char *cert;
		size_t offset;
		const char *failure;
	};
	const Case cases[] = {
		// Bodies: the reserved u16 at 0x006 is signed but not interpreted.
		{ "cek", 0x006, "CEK: ASK signature does not verify" },
		{ "oca", 0x006, "OCA: OCA signature does not verify" },
		{ "pek", 0x006, "PEK: OCA signature does not verify" },
		{ "pdh", 0x006, "PDH: PEK signature does not verify" },
		{ "pdh", 0x005, "PDH: PEK signature does not verify" }, // API minor
		// Signatures (slot 1 at 0x41c, slot 2 at 0x624).
		{ "cek", 0x41c + 7, "CEK: ASK signature does not verify" },
		{ "oca", 0x41c + 7, "OCA: OCA signature does not verify" },
		{ "pek", 0x41c + 7, "PEK: OCA signature does not verify" },
		{ "pek", 0x624 + 7, "PEK: CEK signature does not verify" },
		{ "pdh", 0x41c + 7, "PDH: PEK signature does not verify" },
	};
	for (const Case &c : cases) {
		INFO(c.cert << " @" << c.offset);
		requireFailure(verifyChain(naplesWith(c.cert, flipped(naplesCert(c.cert), c.offset)), store), c.failure);
	}
	// The EC key's reserved area and the unused end of a signature slot
	// must be zero: refused before any signature is checked.
	for (const char *name : { "cek", "oca", "pek", "pdh" })
		for (size_t offset : { size_t(0x200), size_t(0x41c + 300) }) {
			INFO(name << " @" << offset);
			auto p = makePlatformChain(name == std::string("pdh") ? flipped(naplesCert("pdh"), offset) : naplesCert("pdh"),
						   name == std::string("pek") ? flipped(naplesCert("pek"), offset) : naplesCert("pek"),
						   name == std::string("oca") ? flipped(naplesCert("oca"), offset) : naplesCert("oca"),
						   name == std::string("cek") ? flipped(naplesCert("cek"), offset) : naplesCert("cek"));
			REQUIRE_FALSE(p.ok());
			CHECK(p.error().message().find("non-zero bytes") != std::string::npos);
		}
}

TEST_CASE("a flipped byte in the ARK or ASK is refused when the roots are loaded")
{
	cvm::test::requireFixtures();
	for (const char *name : { "ark", "ask" }) {
		INFO(name);
		TempDir dir = tempDir();
		AmdCert ark = amdRoot("naples", "ark"), ask = amdRoot("naples", "ask");
		Bytes raw = amdRoot("naples", name).bytes();
		Bytes bodyFlip = flipped(raw, 0x50), sigFlip = flipped(raw, raw.size() - 9);
		for (const Bytes &bad : { bodyFlip, sigFlip }) {
			writeRoots(dir.path(), "naples", name == std::string("ark") ? AmdCert::parse(bad).value() : ark,
				   name == std::string("ask") ? AmdCert::parse(bad).value() : ask);
			auto asGiven = TrustStore::load(dir.path(), TrustMode::AsGiven);
			REQUIRE_FALSE(asGiven.ok());
			INFO(asGiven.error().message());
			std::string expect = name == std::string("ark") ? "ARK: " : "ASK: ";
			CHECK(asGiven.error().message().find(expect) != std::string::npos);
			CHECK_FALSE(TrustStore::load(dir.path(), TrustMode::Pinned).ok());
		}
	}
}

TEST_CASE("roots of the wrong generation do not verify the Naples CEK")
{
	cvm::test::requireFixtures();
	AmdRoots rome = makeRoots("rome", amdRoot("rome", "ark"), amdRoot("rome", "ask"), TrustMode::Pinned, "rome")
				.value();
	ChainVerdict v = verifyChain(naplesChain(), rome);
	CHECK(v.status == ChainStatus::Invalid);
	CHECK(v.failure.rfind("CEK: ", 0) == 0);
	TrustStore onlyRome;
	onlyRome.add(rome);
	CHECK(verifyChain(naplesChain(), onlyRome).failure.rfind("CEK: ", 0) == 0);
	// Pinning checks the generation too: Rome's ARK is not Naples'.
	auto mislabeled = makeRoots("naples", amdRoot("rome", "ark"), amdRoot("rome", "ask"), TrustMode::Pinned, "x");
	REQUIRE_FALSE(mislabeled.ok());
	CHECK(mislabeled.error().message().find("not AMD's naples ARK") != std::string::npos);
}

TEST_CASE("a swapped root in a pinned directory is refused; as test roots it is trusted with a warning")
{
	cvm::test::requireFixtures();
	const Hierarchy &h = sharedHierarchy();
	TempDir dir = tempDir();
	for (const char *gen : kGenerations)
		writeRoots(dir.path(), gen, amdRoot(gen, "ark"), amdRoot(gen, "ask"));
	REQUIRE(TrustStore::load(dir.path(), TrustMode::Pinned).ok());
	writeRoots(dir.path(), "milan", h.ark, h.ask);

	auto pinned = TrustStore::load(dir.path(), TrustMode::Pinned);
	REQUIRE_FALSE(pinned.ok());
	INFO(pinned.error().message());
	CHECK(pinned.error().message().find("is not AMD's milan ARK") != std::string::npos);
	CHECK(pinned.error().message().find("refusing it") != std::string::npos);

	auto asGiven = TrustStore::load(dir.path(), TrustMode::AsGiven);
	REQUIRE(asGiven.ok());
	REQUIRE(asGiven->warnings().size() == 1);
	CHECK(asGiven->warnings()[0].find("as given") != std::string::npos);
	CHECK(asGiven->warnings()[0].find("not AMD's: milan") != std::string::npos);
	ChainVerdict own = verifyChain(h.chain(), *asGiven);
	CHECK(own.valid());
	CHECK_FALSE(own.amdRoots);
	CHECK(own.rootsSource == dir.path() + "/milan");
	ChainVerdict naples = verifyChain(naplesChain(), *asGiven);
	CHECK(naples.valid());
	CHECK(naples.amdRoots);
}

TEST_CASE("the generation is AMD's, from the ARK's key id; test roots keep their directory name")
{
	cvm::test::requireFixtures();
	const Hierarchy &h = sharedHierarchy();
	TempDir dir = tempDir();
	writeRoots(dir.path(), "first", amdRoot("naples", "ark"), amdRoot("naples", "ask"));
	writeRoots(dir.path(), "second", h.ark, h.ask);
	auto store = TrustStore::load(dir.path(), TrustMode::AsGiven);
	REQUIRE(store.ok());
	CHECK(rootsGeneration(store->roots()[0]) == "naples");
	CHECK(isAmdRoots(store->roots()[0]));
	CHECK(rootsGeneration(store->roots()[1]) == "second");
	CHECK_FALSE(isAmdRoots(store->roots()[1]));
	CHECK(store->find("naples") == &store->roots()[0]);
	CHECK(store->find("first") == &store->roots()[0]);
	CHECK(store->find("second") == &store->roots()[1]);

	ChainVerdict v = verifyChain(naplesChain(), *store);
	INFO(v.failure);
	REQUIRE(v.valid());
	CHECK(v.generation == "naples");
	CHECK(v.amdRoots);
	CHECK(v.rootsSource == dir.path() + "/first");
	// AMD's ARK is recognised by key id and fingerprint; ours by neither.
	CHECK(amdArk(amdRoot("naples", "ark")) != nullptr);
	CHECK(amdArk(h.ark) == nullptr);
}

TEST_CASE("a hierarchy built with the construction API verifies to its roots, not to AMD's")
{
	cvm::test::requireFixtures();
	const Hierarchy &h = sharedHierarchy();
	ChainVerdict own = verifyChain(h.chain(), h.roots("milan"));
	INFO(own.failure);
	CHECK(own.valid());
	CHECK(own.generation == "milan");

	ChainVerdict amd = verifyChain(h.chain(), amdStore());
	CHECK(amd.status == ChainStatus::Invalid);
	CHECK(amd.failure == "CEK: ASK signature does not verify");

	// Certificates from different hierarchies do not mix.
	Hierarchy other = makeHierarchy();
	requireFailure(verifyChain({ h.pdh, other.pek, h.oca, h.cek }, h.roots()), "PEK: OCA signature does not verify");
	requireFailure(verifyChain({ h.pdh, h.pek, h.oca, other.cek }, h.roots()), "CEK: ASK signature does not verify");
	requireFailure(verifyChain({ other.pdh, h.pek, h.oca, h.cek }, h.roots()), "PDH: PEK signature does not verify");
	// A PEK without a CEK signature.
	SevCert pekOcaOnly = h.pek;
	pekOcaOnly.clearSignature(KeyUsage::Cek);
	requireFailure(verifyChain({ h.pdh, pekOcaOnly, h.oca, h.cek }, h.roots()), "PEK: has no CEK signature");
}

TEST_CASE("an unsigned CEK is reported as such, and a supplied signed CEK completes the chain")
{
	cvm::test::requireFixtures();
	PlatformChain chain = naplesChain();
	SevCert signedCek = chain.cek;
	chain.cek.clearSignature(KeyUsage::Ask);
	REQUIRE(chain.cek.isUnsigned());
	// What the unsigned CEK looks like on the wire parses as such.
	REQUIRE(SevCert::parse(chain.cek.bytes()).value().isUnsigned());

	const std::string chip = "00ff" + std::string(124, 'a');
	ChainVerdict v = verifyChain(chain, amdStore(), { nullptr, chip });
	CHECK(v.status == ChainStatus::CekUnsigned);
	CHECK(v.failure == "CEK: " + unsignedCekMessage(chip));
	CHECK(v.failure.find("https://kdsintf.amd.com/cek/id/" + chip) != std::string::npos);
	CHECK(v.failure.find("--cek") != std::string::npos);

	ChainVerdict fixed = verifyChain(chain, amdStore(), { &signedCek, chip });
	INFO(fixed.failure);
	CHECK(fixed.valid());
	CHECK(fixed.suppliedCekUsed);
	CHECK(fixed.generation == "naples");

	const Hierarchy &h = sharedHierarchy();
	ChainVerdict wrongKey = verifyChain(chain, amdStore(), { &h.cek, chip });
	CHECK(wrongKey.status == ChainStatus::Invalid);
	CHECK(wrongKey.failure.find("different public key") != std::string::npos);

	// The cache directory, keyed by chip id.
	TempDir cache = tempDir();
	CHECK_FALSE(loadCachedCek(cache.path(), chip).value().has_value());
	writeCert(cache.path(), chip, signedCek.bytes());
	auto cached = loadCachedCek(cache.path(), chip);
	REQUIRE(cached.ok());
	REQUIRE(cached->has_value());
	CHECK(verifyChain(chain, amdStore(), { &**cached, chip }).valid());
	writeCert(cache.path(), "abcd", naplesCert("pek"));
	CHECK_FALSE(loadCachedCek(cache.path(), "ABCD").ok());
	CHECK_FALSE(loadCachedCek(cache.path(), "../x").ok());
}
