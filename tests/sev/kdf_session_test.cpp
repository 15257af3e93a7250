// SPDX-License-Identifier: Apache-2.0
//
// KDF vector, the launch session from owner to platform, and every refusal of
// the platform side with its own tag.
#include <catch2/catch.hpp>

#include "cvm/common/digest.h"
#include "cvm/sev/kdf.h"
#include "cvm/sev/session.h"
#include "sev_test_support.h"

using namespace cvm;
using namespace cvm::sev;

namespace {

struct Platform {
	EvpPkeyPtr pdh = generateP384Key().value();
	EvpPkeyPtr pdhPublic = publicOnly(pdh.get());

	static EvpPkeyPtr publicOnly(EVP_PKEY *key)
	{
		P384Point q = p384PointLe(key).value();
		return p384PublicKeyFromLe(q.qx, q.qy).value();
	}
};

void requireTag(const Result<TransportKeys> &r, std::string_view tag)
{
	REQUIRE_FALSE(r.ok());
	INFO(r.error().message());
	CHECK(r.error().tag() == tag);
}

} // namespace

// Vector from ../shared/reference/sev-guest-owner-crypto.md §2.1 (computed with
// the firmware's nist_kdf.c semantics).
TEST_CASE("KDF matches the published vector")
{
	Bytes zeros(16, 0);
	auto out = kdf(zeros, 16, "sev-master-secret", zeros);
	REQUIRE(out.ok());
	CHECK(toHex(out->view()) == "ab4d269fcc62bedb4511d56c386ce706");
}

TEST_CASE("KDF is counter mode: block i is HMAC(key, LE32 i || label || 0 || context || LE32 bits)")
{
	Bytes key = test::randomBytes(48);
	Bytes context = test::randomBytes(16);
	auto out = kdf(key, 40, "sev-kek", context);
	REQUIRE(out.ok());
	REQUIRE(out->size() == 40);
	Bytes bits = { 0x40, 0x01, 0, 0 }; // 320 bits, little-endian
	for (uint8_t i : { 1, 2 }) {
		Bytes counter = { i, 0, 0, 0 };
		Bytes zero = { 0 };
		Bytes block = hmac(DigestAlgorithm::Sha256, key,
				   { counter, asBytes("sev-kek"), zero, context, bits }).value();
		size_t n = i == 1 ? 32 : 8;
		CHECK(Bytes(out->data() + (i - 1) * 32, out->data() + (i - 1) * 32 + n) ==
		      Bytes(block.begin(), block.begin() + static_cast<ptrdiff_t>(n)));
	}
	// The length is part of the input: a shorter output is not a prefix.
	auto shorter = kdf(key, 16, "sev-kek", context);
	CHECK_FALSE(Bytes(shorter->data(), shorter->data() + 16) == Bytes(out->data(), out->data() + 16));
	CHECK_FALSE(kdf(key, 0, "x", {}).ok());
}

TEST_CASE("ECDH is symmetric and gives the 48-byte X coordinate")
{
	EvpPkeyPtr a = generateP384Key().value(), b = generateP384Key().value();
	auto ab = ecdhSharedSecret(a.get(), b.get());
	auto ba = ecdhSharedSecret(b.get(), a.get());
	REQUIRE(ab.ok());
	REQUIRE(ba.ok());
	CHECK(ab->size() == 48);
	CHECK(constantTimeEqual(*ab, *ba));
}

TEST_CASE("a session started by the owner opens on the platform with the same TEK and TIK")
{
	Platform p;
	for (uint32_t policy : { 0x0u, 0x1u, 0x5u, 0x00170005u, 0xffff003fu }) {
		auto owner = startSession(p.pdhPublic.get(), policy);
		REQUIRE(owner.ok());
		CHECK(owner->godhCert.size() == 2084);
		CHECK(owner->session.serialize().size() == 128);
		auto keys = openSessionWithGodhCert(p.pdh.get(), owner->godhCert, owner->session.serialize(), policy);
		REQUIRE(keys.ok());
		CHECK(keys->tek.size() == 16);
		CHECK(constantTimeEqual(keys->tek, owner->keys.tek));
		CHECK(constantTimeEqual(keys->tik, owner->keys.tik));
	}
	// Fresh randomness each time.
	auto s1 = startSession(p.pdhPublic.get(), 1).value();
	auto s2 = startSession(p.pdhPublic.get(), 1).value();
	CHECK_FALSE(constantTimeEqual(s1.keys.tek, s2.keys.tek));
	CHECK_FALSE(s1.godhCert == s2.godhCert);
	CHECK_FALSE(s1.session.serialize() == s2.session.serialize());
}

TEST_CASE("the session buffer layout: one Field table for parser and writer")
{
	Bytes raw = test::randomBytes(128);
	auto s = SessionBuffer::parse(raw);
	REQUIRE(s.ok());
	CHECK(Bytes(s->nonce.begin(), s->nonce.end()) == Bytes(raw.begin(), raw.begin() + 16));
	CHECK(Bytes(s->wrapTk.begin(), s->wrapTk.end()) == Bytes(raw.begin() + 0x10, raw.begin() + 0x30));
	CHECK(Bytes(s->wrapIv.begin(), s->wrapIv.end()) == Bytes(raw.begin() + 0x30, raw.begin() + 0x40));
	CHECK(Bytes(s->wrapMac.begin(), s->wrapMac.end()) == Bytes(raw.begin() + 0x40, raw.begin() + 0x60));
	CHECK(Bytes(s->policyMac.begin(), s->policyMac.end()) == Bytes(raw.begin() + 0x60, raw.end()));
	CHECK(s->serialize() == raw);
	for (size_t n : { 0, 127, 129 }) {
		auto bad = SessionBuffer::parse(Bytes(n));
		REQUIRE_FALSE(bad.ok());
		CHECK(bad.error().tag() == kTagSessionMalformed);
	}
}

TEST_CASE("the session's fields are what the algorithm says (fixed randomness)")
{
	Platform p;
	SessionRandomness r = SessionRandomness::fresh().value();
	Bytes tek(r.tek.view().begin(), r.tek.view().end()), tik(r.tik.view().begin(), r.tik.view().end());
	EvpPkeyPtr godhPublic = Platform::publicOnly(r.godhKey.get());
	SecureBuffer z = ecdhSharedSecret(r.godhKey.get(), p.pdhPublic.get()).value();
	auto owner = startSession(p.pdhPublic.get(), 0x33, std::move(r));
	REQUIRE(owner.ok());

	SecureBuffer ms = kdf(z, 16, "sev-master-secret", owner->session.nonce).value();
	SecureBuffer kik = kdf(ms, 16, "sev-kik", {}).value();
	CHECK(hmac(DigestAlgorithm::Sha256, kik, { owner->session.wrapTk }).value() ==
	      Bytes(owner->session.wrapMac.begin(), owner->session.wrapMac.end()));
	Bytes policyLe = { 0x33, 0, 0, 0 };
	CHECK(hmac(DigestAlgorithm::Sha256, tik, { policyLe }).value() ==
	      Bytes(owner->session.policyMac.begin(), owner->session.policyMac.end()));
	auto keys = openSession(p.pdh.get(), godhPublic.get(), owner->session.serialize(), 0x33);
	REQUIRE(keys.ok());
	CHECK(Bytes(keys->tek.view().begin(), keys->tek.view().end()) == tek);
}

TEST_CASE("the platform refuses every tampered session with the failure's own tag")
{
	Platform p;
	const uint32_t policy = 0x1;
	auto owner = startSession(p.pdhPublic.get(), policy).value();
	Bytes session = owner.session.serialize();

	SECTION("any bit of nonce, WRAP_TK or WRAP_MAC: wrap MAC")
	{
		for (size_t off : { 0x00, 0x0f, 0x10, 0x2f, 0x40, 0x5f }) {
			Bytes t = session;
			t[off] ^= 0x01;
			requireTag(openSessionWithGodhCert(p.pdh.get(), owner.godhCert, t, policy), kTagWrapMac);
		}
	}
	SECTION("WRAP_IV (not covered by WRAP_MAC) unwraps to other keys: policy MAC")
	{
		Bytes t = session;
		t[0x30] ^= 0x80;
		requireTag(openSessionWithGodhCert(p.pdh.get(), owner.godhCert, t, policy), kTagPolicyMac);
	}
	SECTION("POLICY_MAC")
	{
		Bytes t = session;
		t[0x7f] ^= 0x01;
		requireTag(openSessionWithGodhCert(p.pdh.get(), owner.godhCert, t, policy), kTagPolicyMac);
	}
	SECTION("another policy than the one the owner MACed")
	{
		requireTag(openSessionWithGodhCert(p.pdh.get(), owner.godhCert, session, policy | 0x4), kTagPolicyMac);
	}
	SECTION("another platform's PDH key")
	{
		Platform other;
		requireTag(openSessionWithGodhCert(other.pdh.get(), owner.godhCert, session, policy), kTagWrapMac);
	}
	SECTION("a different GODH key than the session was made with")
	{
		auto second = startSession(p.pdhPublic.get(), policy).value();
		requireTag(openSessionWithGodhCert(p.pdh.get(), second.godhCert, session, policy), kTagWrapMac);
	}
	SECTION("a truncated session")
	{
		requireTag(openSessionWithGodhCert(p.pdh.get(), owner.godhCert, ByteView(session).first(127), policy),
			   kTagSessionMalformed);
	}
}

TEST_CASE("the firmware's GODH sanity check")
{
	Platform p;
	auto owner = startSession(p.pdhPublic.get(), 0).value();
	const Bytes &good = owner.godhCert;
	REQUIRE(checkGodhCertificate(good).ok());
	CHECK(loadLe32(good, 0x414) == 0x1000); // empty slots: usage INVALID, algo 0
	CHECK(loadLe32(good, 0x418) == 0);
	CHECK(loadLe32(good, 0x61c) == 0x1000);

	auto refused = [&](Bytes cert, const char *what) {
		INFO(what);
		auto r = checkGodhCertificate(cert);
		REQUIRE_FALSE(r.ok());
		CHECK(r.error().tag() == kTagGodhInvalid);
		auto open = openSessionWithGodhCert(p.pdh.get(), cert, owner.session.serialize(), 0);
		requireTag(open, kTagGodhInvalid);
	};
	refused(Bytes(good.begin(), good.end() - 1), "2083 bytes");
	Bytes longer = good;
	longer.push_back(0);
	refused(longer, "2085 bytes");
	auto with32 = [&](size_t off, uint32_t v) {
		Bytes c = good;
		storeLe32(c, off, v);
		return c;
	};
	refused(with32(0x0, 2), "version 2");
	refused(with32(0x8, 0x1002), "usage PEK");
	refused(with32(0xc, 0x2), "algorithm ECDSA");
	refused(with32(0xc, 0x103), "algorithm ECDH_SHA384");
	refused(with32(0x10, 1), "curve P-256");
	Bytes offCurve = good;
	offCurve[0x14] ^= 0x01;
	refused(offCurve, "point off the curve");
	Bytes wide = good;
	wide[0x14 + 48] = 1;
	refused(wide, "X wider than 384 bits");
	Bytes bigX = good;
	std::fill(bigX.begin() + 0x14, bigX.begin() + 0x14 + 48, 0xff);
	refused(bigX, "X above the field prime");
}

TEST_CASE("a PDH certificate gives its public key; a session needs an ECDH P-384 PDH")
{
	Platform p;
	Bytes pdhCert = makeGodhCertificate(p.pdh.get()).value(); // a PDH has the same shape
	auto key = pdhPublicKey(pdhCert);
	REQUIRE(key.ok());
	auto owner = startSessionWithPdhCert(pdhCert, 7);
	REQUIRE(owner.ok());
	CHECK(openSessionWithGodhCert(p.pdh.get(), owner->godhCert, owner->session.serialize(), 7).ok());
	Bytes bad = pdhCert;
	storeLe32(bad, 0x8, 0x1002);
	CHECK_FALSE(startSessionWithPdhCert(bad, 7).ok());
}

TEST_CASE("policy checks of LAUNCH_START")
{
	CHECK(checkPolicy(0x5, 0, 17).ok());
	CHECK(checkPolicy(0x00110005, 17, 0).ok()); // minimum API 17.0 on 17.0
	auto reserved = checkPolicy(0x40, 1, 0);
	REQUIRE_FALSE(reserved.ok());
	CHECK(reserved.error().tag() == kTagPolicyInvalid);
	CHECK_FALSE(checkPolicy(0x00020000, 1, 55).ok()); // needs API 2.0
	CHECK_FALSE(checkPolicy(0x18010000, 1, 23).ok()); // needs 1.24
	CHECK(checkPolicy(0x17010000, 1, 23).ok());
}
