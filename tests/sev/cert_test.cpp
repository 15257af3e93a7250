// SPDX-License-Identifier: Apache-2.0
//
// SEV and AMD certificate formats: the real certificates parse and round-trip
// byte for byte, every generation's ARK signs itself and its ASK, malformed
// certificates are refused with the field named, and certificates built and
// signed with the construction API verify (and stop verifying when touched).
#include <catch2/catch.hpp>

#include "cvm/sev/amd_cert.h"
#include "cvm/sev/cert.h"
#include "cvm/sev/kdf.h"
#include "test_support.h"

using namespace cvm;
using namespace cvm::sev;

namespace {

const char *kGenerations[] = { "naples", "rome", "milan", "genoa", "turin" };

Bytes platformCert(const char *name)
{
	return test::readFixture(std::string("amd-sev/naples-platform/") + name + ".cert");
}

AmdCert rootCert(const std::string &generation, const char *name)
{
	return AmdCert::parse(test::readFixture("amd-sev/roots/" + generation + "/" + name + ".cert")).value();
}

void requireInvalid(const Result<SevCert> &r, std::string_view needle)
{
	REQUIRE_FALSE(r.ok());
	INFO(r.error().message());
	CHECK(r.error().code() == ErrorCode::InvalidData);
	CHECK(r.error().message().find(needle) != std::string::npos);
}

} // namespace

TEST_CASE("the real Naples platform certificates parse and round-trip")
{
	test::requireFixtures();
	struct Expect {
		const char *name;
		KeyUsage usage;
		Algorithm algorithm;
	};
	for (Expect e : { Expect{ "pdh", KeyUsage::Pdh, Algorithm::EcdhSha256 },
			  Expect{ "pek", KeyUsage::Pek, Algorithm::EcdsaSha256 },
			  Expect{ "oca", KeyUsage::Oca, Algorithm::EcdsaSha256 },
			  Expect{ "cek", KeyUsage::Cek, Algorithm::EcdsaSha256 } }) {
		INFO(e.name);
		Bytes raw = platformCert(e.name);
		auto cert = SevCert::parse(raw);
		REQUIRE(cert.ok());
		CHECK(cert->usage() == e.usage);
		CHECK(cert->algorithm() == e.algorithm);
		CHECK(isP384Key(cert->publicKey()));
		CHECK(cert->bytes() == raw);
	}
	auto pek = SevCert::parse(platformCert("pek")).value();
	// Real PEKs: OCA in slot 1, CEK in slot 2.
	CHECK(pek.slotFor(KeyUsage::Oca) == 0u);
	CHECK(pek.slotFor(KeyUsage::Cek) == 1u);
	auto cek = SevCert::parse(platformCert("cek")).value();
	CHECK(cek.slots()[0].usage == KeyUsage::Ask);
	CHECK(cek.slots()[0].algorithm == Algorithm::RsaSha256);
	CHECK(cek.slots()[1].empty());
}

TEST_CASE("every generation's ARK signs itself and its ASK")
{
	test::requireFixtures();
	for (const char *gen : kGenerations) {
		INFO(gen);
		AmdCert ark = rootCert(gen, "ark");
		AmdCert ask = rootCert(gen, "ask");
		CHECK(ark.usage() == KeyUsage::Ark);
		CHECK(ask.usage() == KeyUsage::Ask);
		CHECK(ark.keyId() == ark.certifyingId());
		CHECK(ark.verifySignedBy(ark).ok());
		CHECK(ask.verifySignedBy(ark).ok());
		CHECK_FALSE(ark.verifySignedBy(ask).ok());
		CHECK(ark.bytes().size() == (std::string_view(gen) == "naples" ? 832u : 1600u));
	}
}

TEST_CASE("the Naples ASK signs the Naples CEK, Rome's does not")
{
	test::requireFixtures();
	auto cek = SevCert::parse(platformCert("cek")).value();
	CHECK(cek.verifySignedBy(rootCert("naples", "ask")).ok());
	auto rome = cek.verifySignedBy(rootCert("rome", "ask"));
	REQUIRE_FALSE(rome.ok());
	CHECK(rome.error().code() == ErrorCode::VerificationFailed);
}

TEST_CASE("SEV certificates with bad fields are refused, naming the field")
{
	test::requireFixtures();
	Bytes good = platformCert("pek");
	auto with = [&](size_t offset, uint32_t value) {
		Bytes b = good;
		storeLe32(b, offset, value);
		return SevCert::parse(b);
	};
	requireInvalid(SevCert::parse(ByteView(good).first(2083)), "2084 bytes");
	Bytes longer = good;
	longer.push_back(0);
	requireInvalid(SevCert::parse(longer), "2084 bytes");
	requireInvalid(with(0x000, 2), "version 2");
	requireInvalid(with(0x008, 0x1005), "unknown key usage 0x1005");
	requireInvalid(with(0x008, 0x13), "not a SEV certificate usage");
	requireInvalid(with(0x00c, 0x104), "unknown key algorithm");
	requireInvalid(with(0x010, 1), "curve 1");
	requireInvalid(with(0x414, 0x1000), "empty slot is usage 0x1000");
	requireInvalid(with(0x418, 0), "empty slot is usage 0x1000");
	requireInvalid(with(0x414, 0x1003), "PDH key does not sign");
	requireInvalid(with(0x61c, 0x1001), "same signer");
	Bytes offCurve = good;
	offCurve[0x014] ^= 1;
	requireInvalid(SevCert::parse(offCurve), "P-384");

	// The unused bytes are zero in the real certificates; non-zero is refused.
	auto withByte = [](Bytes b, size_t offset) {
		b.at(offset) = 0x5a;
		return SevCert::parse(b);
	};
	requireInvalid(withByte(good, 0x0a4), "non-zero bytes in its reserved area");
	requireInvalid(withByte(good, 0x413), "non-zero bytes in its reserved area");
	// The PEK's slots are ECDSA (R, S: 144 bytes of 512).
	requireInvalid(withByte(good, 0x41c + 144), "signature slot 1: non-zero bytes after the 144-byte ECDSA");
	requireInvalid(withByte(good, 0x624 + 511), "signature slot 2: non-zero bytes after the 144-byte ECDSA");
	CHECK(withByte(good, 0x41c + 143).ok()); // inside S: parses (and no longer verifies)
	// The PDH's second slot is empty; the CEK's first holds the RSA-2048 ASK's signature.
	requireInvalid(withByte(platformCert("pdh"), 0x624 + 7), "signature slot 2: an empty slot holds signature bytes");
	Bytes cek = platformCert("cek");
	requireInvalid(withByte(cek, 0x41c + 256), "non-zero bytes after the 256-byte RSA-SHA256 signature");
	CHECK(withByte(cek, 0x41c + 255).ok());
}

TEST_CASE("AMD certificates with bad fields are refused")
{
	test::requireFixtures();
	Bytes good = rootCert("rome", "ask").bytes();
	auto bad = [](ByteView raw, std::string_view needle) {
		auto r = AmdCert::parse(raw);
		REQUIRE_FALSE(r.ok());
		INFO(r.error().message());
		CHECK(r.error().message().find(needle) != std::string::npos);
	};
	bad(ByteView(good).first(63), "header");
	bad(ByteView(good).first(1599), "not 1599");
	Bytes longer = good;
	longer.push_back(0);
	bad(longer, "not 1601");
	Bytes b = good;
	storeLe32(b, 0x00, 0);
	bad(b, "version 0");
	b = good;
	storeLe32(b, 0x24, 0x1004);
	bad(b, "key usage 0x1004");
	b = good;
	storeLe32(b, 0x38, 2048);
	bad(b, "differs from the modulus");
	b = good;
	storeLe32(b, 0x38, 3072);
	storeLe32(b, 0x3c, 3072);
	bad(b, "3072 bits");
}

TEST_CASE("certificates built with the construction API verify and detect tampering")
{
	EvpPkeyPtr arkKey = generateRsaKey(4096).value();
	EvpPkeyPtr askKey = generateRsaKey(4096).value();
	EvpPkeyPtr cekKey = generateP384Key().value();
	EvpPkeyPtr ocaKey = generateP384Key().value();
	AmdKeyId arkId{ 1, 2, 3 }, askId{ 4, 5, 6 };

	AmdCert ark = AmdCert::create(arkId, arkId, KeyUsage::Ark, arkKey.get()).value();
	REQUIRE(ark.sign(arkKey.get()).ok());
	AmdCert ask = AmdCert::create(askId, arkId, KeyUsage::Ask, askKey.get()).value();
	REQUIRE(ask.sign(arkKey.get()).ok());
	CHECK(ark.bytes().size() == 1600);
	// What was written parses back to the same thing and verifies.
	AmdCert askParsed = AmdCert::parse(ask.bytes()).value();
	CHECK(askParsed.bytes() == ask.bytes());
	CHECK(askParsed.verifySignedBy(AmdCert::parse(ark.bytes()).value()).ok());
	CHECK_FALSE(askParsed.verifySignedBy(askParsed).ok());

	SevCert cek = SevCert::create(KeyUsage::Cek, Algorithm::EcdsaSha256, cekKey.get(), 0, 24).value();
	REQUIRE(cek.isUnsigned());
	REQUIRE(cek.signWithAsk(askKey.get()).ok());
	CHECK(cek.slots()[0].algorithm == Algorithm::RsaSha384);
	SevCert oca = SevCert::create(KeyUsage::Oca, Algorithm::EcdsaSha384, ocaKey.get()).value();
	REQUIRE(oca.signWith(oca, ocaKey.get()).ok());

	SevCert cekParsed = SevCert::parse(cek.bytes()).value();
	CHECK(cekParsed.apiMinor() == 24);
	CHECK(cekParsed.verifySignedBy(ask).ok());
	CHECK(SevCert::parse(oca.bytes()).value().verifySignedBy(oca).ok());
	CHECK_FALSE(cekParsed.verifySignedBy(oca).ok()); // no OCA slot

	// The EC reserved area is in the signed body; parsing already refuses
	// non-zero bytes there. Another body byte the parser accepts:
	Bytes reserved = cek.bytes();
	reserved[0x300] ^= 0x80;
	CHECK_FALSE(SevCert::parse(reserved).ok());
	Bytes flipped = cek.bytes();
	flipped[0x005] ^= 0x01; // API minor
	auto tampered = SevCert::parse(flipped).value().verifySignedBy(ask);
	REQUIRE_FALSE(tampered.ok());
	CHECK(tampered.error().code() == ErrorCode::VerificationFailed);
}

TEST_CASE("the GODH certificate is an unsigned ECDH P-384 PDH-usage certificate")
{
	EvpPkeyPtr key = generateP384Key().value();
	SevCert godh = SevCert::createGodh(key.get()).value();
	CHECK(godh.usage() == KeyUsage::Pdh);
	CHECK(godh.algorithm() == Algorithm::EcdhSha256);
	CHECK(godh.isUnsigned());
	CHECK(loadLe32(godh.bytes(), 0x414) == 0x1000);
	CHECK(loadLe32(godh.bytes(), 0x61c) == 0x1000);
	CHECK(samePublicKey(godh.publicKey(), key.get()));
	CHECK_FALSE(SevCert::create(KeyUsage::Pdh, Algorithm::EcdsaSha256, key.get()).ok());
	CHECK_FALSE(SevCert::create(KeyUsage::Ask, Algorithm::EcdsaSha256, key.get()).ok());
}
