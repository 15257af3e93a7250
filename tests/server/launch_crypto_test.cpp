// SPDX-License-Identifier: Apache-2.0
//
// The server's SEV operations against sev/'s platform side (the firmware's
// math, in-process): the session the server creates opens with the PDH
// private key, a measurement the platform makes is matched against the
// registered digests, and the secret packet opens to the registered table.
#include <catch2/catch.hpp>

#include "cek_source.h"
#include "cvm/attest/errors.h"
#include "cvm/sev/kdf.h"
#include "cvm/sev/measurement.h"
#include "cvm/sev/secret.h"
#include "cvm/sev/session.h"
#include "launch_crypto.h"
#include "metrics.h"
#include "test_support.h"

using namespace cvm;
using namespace cvm::server;

namespace {

// The pinned AMD roots of the shared fixtures (skips without them).
std::string amdRoots()
{
	test::requireFixtures();
	return test::fixture("amd-sev/roots");
}

struct Platform {
	EvpPkeyPtr pdhKey = sev::generateP384Key().value();
	VerifiedPlatform verified;
	sev::PlatformVersion version{ 0, 24, 15 };

	Platform()
	{
		// A PDH certificate has exactly the GODH's shape (usage 0x1003, ECDH P-384).
		verified.pdh = sev::makeGodhCertificate(pdhKey.get()).value();
		verified.generation = "test";
	}

	attest::ValidateRequest measure(ByteView tik, uint32_t policy, ByteView launchDigest) const
	{
		auto m = sev::measureLaunch(tik, version, policy, launchDigest).value();
		attest::ValidateRequest r;
		r.apiMajor = version.apiMajor;
		r.apiMinor = version.apiMinor;
		r.buildId = version.buildId;
		r.policy = policy;
		r.measurement = m.serialize();
		return r;
	}
};

struct Crypto {
	Metrics metrics;
	CekSource cek{ { "", "", 1, false, "" }, &metrics };
	std::unique_ptr<LaunchCrypto> crypto = std::move(LaunchCrypto::create({ amdRoots(), "", 0 }, &cek, &metrics).value());
};

Bytes bytesOf(ByteView v)
{
	return Bytes(v.begin(), v.end());
}

Bytes digestOf(uint8_t b)
{
	return Bytes(32, b);
}

} // namespace

TEST_CASE("the launch session opens on the platform with the PDH private key, fresh every time")
{
	Platform p;
	Crypto c;
	const uint32_t policy = sev::policy::kNoDebug | sev::policy::kNoKeySharing;
	auto s = c.crypto->startSession(p.verified, policy);
	REQUIRE(s.ok());
	CHECK(s->ownerCert.size() == sev::kSevCertificateSize);
	CHECK(s->session.size() == sev::SessionBuffer::kSize);
	REQUIRE(s->tek.size() == 16);
	REQUIRE(s->tik.size() == 16);

	auto keys = sev::openSessionWithGodhCert(p.pdhKey.get(), s->ownerCert, s->session, policy);
	REQUIRE(keys.ok());
	CHECK(bytesOf(keys->tek) == bytesOf(s->tek));
	CHECK(bytesOf(keys->tik) == bytesOf(s->tik));

	// Another policy, another PDH, a flipped session byte: the firmware refuses.
	CHECK(sev::openSessionWithGodhCert(p.pdhKey.get(), s->ownerCert, s->session, policy | 4).error().tag() ==
	      sev::kTagPolicyMac);
	Platform other;
	CHECK(sev::openSessionWithGodhCert(other.pdhKey.get(), s->ownerCert, s->session, policy).error().tag() ==
	      sev::kTagWrapMac);
	Bytes tampered = s->session;
	tampered[0x10] ^= 1;
	CHECK_FALSE(sev::openSessionWithGodhCert(p.pdhKey.get(), s->ownerCert, tampered, policy).ok());

	// Never the same keys or GODH twice.
	auto t = c.crypto->startSession(p.verified, policy);
	REQUIRE(t.ok());
	CHECK(bytesOf(t->tek) != bytesOf(s->tek));
	CHECK(bytesOf(t->tik) != bytesOf(s->tik));
	CHECK(t->ownerCert != s->ownerCert);

	VerifiedPlatform broken = p.verified;
	broken.pdh.resize(100);
	CHECK_FALSE(c.crypto->startSession(broken, policy).ok());
}

TEST_CASE("a platform measurement matches exactly the digest it was made over")
{
	Platform p;
	Crypto c;
	SecureBuffer tik = SecureBuffer::random(16).value();
	Bytes ld = digestOf(0x5a);
	auto report = p.measure(tik, 1, ld);

	auto m = c.crypto->matchMeasurement(tik, report, { digestOf(1), digestOf(2), ld });
	REQUIRE(m.ok());
	REQUIRE(m->has_value());
	CHECK(**m == 2);
	CHECK_FALSE(c.crypto->matchMeasurement(tik, report, { digestOf(1), digestOf(2) })->has_value());

	// Everything the MAC covers counts: version, build, policy, nonce, TIK.
	auto changed = [&](auto edit) {
		attest::ValidateRequest r = report;
		edit(r);
		return c.crypto->matchMeasurement(tik, r, { ld })->has_value();
	};
	CHECK(changed([](attest::ValidateRequest &) {}));
	CHECK_FALSE(changed([](attest::ValidateRequest &r) { r.apiMinor++; }));
	CHECK_FALSE(changed([](attest::ValidateRequest &r) { r.buildId++; }));
	CHECK_FALSE(changed([](attest::ValidateRequest &r) { r.policy ^= 2; }));
	CHECK_FALSE(changed([](attest::ValidateRequest &r) { r.measurement[40] ^= 1; }));
	CHECK_FALSE(changed([](attest::ValidateRequest &r) { r.measurement[0] ^= 1; }));
	SecureBuffer otherTik = SecureBuffer::random(16).value();
	CHECK_FALSE(c.crypto->matchMeasurement(otherTik, report, { ld })->has_value());

	attest::ValidateRequest shortOne = report;
	shortOne.measurement.resize(32);
	auto bad = c.crypto->matchMeasurement(tik, shortOne, { ld });
	REQUIRE_FALSE(bad.ok());
	CHECK(bad.error().tag() == attest::code::kInvalidRequest);
}

TEST_CASE("the secret packet opens on the platform to the registered secret table")
{
	Crypto c;
	SecureBuffer tek = SecureBuffer::random(16).value(), tik = SecureBuffer::random(16).value();
	Bytes measure(32, 0x33);
	std::vector<attest::SecretEntry> secrets;
	secrets.push_back({ attest::luksKeyGuid(), SecureBuffer(asBytes("correct horse battery staple")) });
	Guid other = attest::parseSecretName("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0").value();
	secrets.push_back({ other, SecureBuffer(Bytes(100, 7)) });

	auto packet = c.crypto->buildSecret(tek, tik, measure, secrets);
	REQUIRE(packet.ok());
	CHECK(packet->header.size() == sev::SecretHeader::kSize);
	CHECK(packet->payload.size() % 16 == 0);
	// Encrypted: the passphrase is not in the payload.
	std::string payload(asString(packet->payload.view()));
	CHECK(payload.find("battery") == std::string::npos);

	auto table = sev::openSecret(tek, tik, measure, packet->header, packet->payload);
	REQUIRE(table.ok());
	auto entries = sev::parseSecretTable(*table);
	REQUIRE(entries.ok());
	REQUIRE(entries->size() == 2);
	CHECK((*entries)[0].guid == sev::secret_guid::luksKey());
	CHECK(asString((*entries)[0].value.view()) == "correct horse battery staple");
	CHECK((*entries)[1].guid == other);
	CHECK(bytesOf((*entries)[1].value) == Bytes(100, 7));

	// Bound to this launch's measurement and keys.
	Bytes otherMeasure(32, 0x34);
	CHECK(sev::openSecret(tek, tik, otherMeasure, packet->header, packet->payload).error().tag() ==
	      sev::kTagSecretMac);
	SecureBuffer otherTik = SecureBuffer::random(16).value();
	CHECK_FALSE(sev::openSecret(tek, otherTik, measure, packet->header, packet->payload).ok());

	// Duplicate GUIDs are refused, not silently merged.
	secrets.push_back({ attest::luksKeyGuid(), SecureBuffer(asBytes("again")) });
	CHECK_FALSE(c.crypto->buildSecret(tek, tik, measure, secrets).ok());
}
