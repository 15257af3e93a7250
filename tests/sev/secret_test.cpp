// SPDX-License-Identifier: Apache-2.0
//
// The secret table and the LAUNCH_SECRET packet. Vectors: sevctl
// tests/secretbuild.rs (virtee/sevctl @ 8b47f3a6): tek1.bin, tik1.bin, the
// launch-measure blob, the fixed IV and secret1.txt ("MY-LUKS-PASSPHRASE"),
// secret2.txt ("SOME OTHER SECRET"), the expected header and payload as printed
// there; the table of vector 1 as in ../shared/reference §4.3.
#include <catch2/catch.hpp>

#include "cvm/sev/measurement.h"
#include "cvm/sev/secret.h"
#include "sev_test_support.h"

using namespace cvm;
using namespace cvm::sev;

namespace {

const Bytes kTek = fromHex("52a869b79ab9c13bb6a92b0561619cb3").value();
const Bytes kTik = fromHex("c6d5a9956133050912b24bbe5c372686").value();
const char *kBlob = "TLeA7607lZQntLjRY1/i+sbtdSZ+75zxpz4Px9hzpBLwItF5Q2o4prA++3ZZv9ZS";
const char *kIv = "rFR07U3TLH2YnsUj2SVZ7A==";

SecretEntry entry(const char *guid, std::string_view value)
{
	return { secretGuid(guid).value(), SecureBuffer(asBytes(value)) };
}

std::vector<SecretEntry> entriesOf(std::initializer_list<std::pair<const char *, const char *>> list)
{
	std::vector<SecretEntry> out;
	for (auto [g, v] : list)
		out.push_back(entry(g, v));
	return out;
}

Bytes measureOf(const char *blob)
{
	auto m = LaunchMeasurement::fromBase64(blob).value();
	return Bytes(m.measure.begin(), m.measure.end());
}

Bytes bytesOf(const SecureBuffer &b)
{
	return Bytes(b.view().begin(), b.view().end());
}

} // namespace

TEST_CASE("the secret table matches sevctl's vector")
{
	std::vector<SecretEntry> entries;
	entries.push_back(entry("luks-key", "MY-LUKS-PASSPHRASE"));
	auto t = buildSecretTable(entries);
	REQUIRE(t.ok());
	CHECK(toHex(t->view()) == "42f5741edd71664d963eef4287ff173b3a000000"
				  "e5696873f084734992ec06879ce3da0b26000000"
				  "4d592d4c554b532d50415353504852415345"
				  "000000000000");
	auto back = parseSecretTable(*t);
	REQUIRE(back.ok());
	REQUIRE(back->size() == 1);
	CHECK((*back)[0].guid == secret_guid::luksKey());
	CHECK(asString((*back)[0].value.view()) == "MY-LUKS-PASSPHRASE");
}

TEST_CASE("packets reproduce sevctl's vectors and open on the platform side")
{
	Bytes measure = measureOf(kBlob);
	Bytes iv = fromBase64(kIv).value();
	struct Case {
		std::vector<std::pair<const char *, const char *>> secrets;
		const char *header;
		const char *payload;
	};
	const Case cases[] = {
		{ { { "736869e5-84f0-4973-92ec-06879ce3da0b", "MY-LUKS-PASSPHRASE" } },
		  "AAAAAKxUdO1N0yx9mJ7FI9klWey8FSzeYQ4X8K71VzNKLU/KQsIsQxLjtbhaPUewqshX5Q==",
		  "0U3e5PcXv0UW+H4tSBFKOdCYfKE1+j38Bc2fuO16mYiyI+sWx7INfn+lgYj56GL12yyinDa+lVfCCwD/2w5cPA==" },
		{ { { "736869e5-84f0-4973-92ec-06879ce3da0b", "MY-LUKS-PASSPHRASE" },
		    { "736869e5-aaaa-4973-92ec-06879ce3da0b", "SOME OTHER SECRET" } },
		  "AAAAAKxUdO1N0yx9mJ7FI9klWeyZ3r0dOEKHUOhIRqzGYYvTJgdMtBPL1nK6GD9aGET7Ng==",
		  "0U3e5PcXv0UW+H4tSBFKObWYfKE1+j38Bc2fuO16mYiyI+sWx7INfn+lgYj56GL12yyinDa+lVfCC+WWs332lpLNUX1ZI3YK7vYgtys4X+uGxEIlkIQ90v8/w8ZFmQMe" },
	};
	for (const auto &c : cases) {
		std::vector<SecretEntry> entries;
		for (auto [g, v] : c.secrets)
			entries.push_back(entry(g, v));
		SecureBuffer table = buildSecretTable(entries).value();
		auto p = sealSecretWithIv(kTek, kTik, measure, table, iv);
		REQUIRE(p.ok());
		CHECK(toBase64(p->header) == c.header);
		CHECK(toBase64(p->payload) == c.payload);

		auto opened = openSecret(kTek, kTik, measure, p->header, p->payload);
		REQUIRE(opened.ok());
		CHECK(bytesOf(*opened) == bytesOf(table));
		auto parsed = parseSecretTable(*opened).value();
		REQUIRE(parsed.size() == c.secrets.size());
		for (size_t i = 0; i < parsed.size(); ++i)
			CHECK(asString(parsed[i].value.view()) == c.secrets[i].second);
	}
}

TEST_CASE("padding: the minimum to 16, none when aligned (sevctl's size vectors)")
{
	for (size_t n : { 16343u, 16344u }) {
		std::vector<SecretEntry> entries;
		entries.push_back({ secretGuid("23058844-597b-42fb-8259-a0f5d9d495af").value(),
				    SecureBuffer(Bytes(n, 'x')) });
		auto t = buildSecretTable(entries);
		REQUIRE(t.ok());
		CHECK(t->size() == 16384);
		CHECK(loadLe32(t->view(), 16) == 40 + n);
	}
	auto empty = buildSecretTable({});
	REQUIRE(empty.ok());
	CHECK(empty->size() == 32);
	CHECK(parseSecretTable(*empty).value().empty());
}

TEST_CASE("the table parser accepts both conventions and refuses inconsistent tables")
{
	std::vector<SecretEntry> entries;
	entries.push_back(entry("luks-key", "0123456789abcdefghijklmnopqrstuvwxyz0123")); // 40: table 20+60 = 80, aligned
	Bytes sevctl = bytesOf(buildSecretTable(entries).value());
	REQUIRE(sevctl.size() == 80);

	// virt-qemu-sev-validate pads 16 more bytes when aligned.
	Bytes libvirt = sevctl;
	libvirt.resize(96);
	CHECK(parseSecretTable(libvirt).value().size() == 1);
	// Bytes after the length are not part of the table (the rest of the
	// guest's secret page): ignored whatever they hold, as the guest does.
	Bytes trailing = libvirt;
	std::fill(trailing.begin() + 80, trailing.end(), 0xa5);
	auto t = parseSecretTable(trailing);
	REQUIRE(t.ok());
	REQUIRE(t->size() == 1);
	CHECK(asString((*t)[0].value.view()) == "0123456789abcdefghijklmnopqrstuvwxyz0123");
	// AMDSEV-style scripts count the padding in the length.
	Bytes padded = bytesOf(buildSecretTable(entriesOf({ { "luks-key", "abc" } })).value());
	REQUIRE(padded.size() == 48);
	storeLe32(padded, 16, 48);
	CHECK(parseSecretTable(padded).value().size() == 1);
	padded[47] = 1;
	CHECK_FALSE(parseSecretTable(padded).ok());

	auto refused = [](Bytes t, const char *what) {
		INFO(what);
		CHECK_FALSE(parseSecretTable(t).ok());
	};
	refused(Bytes(19), "shorter than a header");
	Bytes g = sevctl;
	g[0] ^= 1;
	refused(g, "wrong table GUID");
	Bytes l1 = sevctl;
	storeLe32(l1, 16, 19);
	refused(l1, "length below the header");
	Bytes l2 = sevctl;
	storeLe32(l2, 16, 81);
	refused(l2, "length past the buffer");
	Bytes e1 = sevctl;
	storeLe32(e1, 36, 19);
	refused(e1, "entry shorter than its header");
	Bytes e2 = sevctl;
	storeLe32(e2, 36, 61);
	refused(e2, "entry past the table length");
	std::vector<SecretEntry> two;
	two.push_back(entry("luks-key", "a"));
	two.push_back(entry("luks-key", "b"));
	CHECK_FALSE(buildSecretTable(two).ok());
	Bytes dup = bytesOf(buildSecretTable(entriesOf({ { "luks-key", "a" }, { "23058844-597b-42fb-8259-a0f5d9d495af", "b" } })).value());
	std::copy(dup.begin() + 20, dup.begin() + 36, dup.begin() + 41);
	refused(dup, "duplicate GUID");

	// A deleted (null GUID) entry is skipped.
	Bytes deleted = bytesOf(buildSecretTable(entriesOf({ { "luks-key", "a" }, { "23058844-597b-42fb-8259-a0f5d9d495af", "b" } })).value());
	std::fill(deleted.begin() + 20, deleted.begin() + 36, 0);
	auto kept = parseSecretTable(deleted).value();
	REQUIRE(kept.size() == 1);
	CHECK(asString(kept[0].value.view()) == "b");
}

TEST_CASE("secret names: the luks-key alias or a GUID")
{
	CHECK(secretGuid("luks-key").value().toString() == "736869e5-84f0-4973-92ec-06879ce3da0b");
	CHECK(secretGuid("736869E5-84F0-4973-92EC-06879CE3DA0B").value() == secret_guid::luksKey());
	CHECK_FALSE(secretGuid("luks").ok());
	CHECK_FALSE(secretGuid("736869e5-84f0-4973-92ec-06879ce3da0").ok());
}

TEST_CASE("the platform side refuses every tampered packet with its own tag")
{
	Bytes tek = test::randomBytes(16), tik = test::randomBytes(16), measure = test::randomBytes(32);
	SecureBuffer table = buildSecretTable(entriesOf({ { "luks-key", "hunter2hunter2" } })).value();
	SecretPacket p = sealSecret(tek, tik, measure, table).value();
	REQUIRE(p.header.size() == 52);
	REQUIRE(p.payload.size() == table.size());
	REQUIRE(openSecret(tek, tik, measure, p.header, p.payload).ok());
	auto refused = [&](ByteView t, ByteView k, ByteView m, ByteView h, ByteView c, std::string_view tag) {
		auto r = openSecret(t, k, m, h, c);
		REQUIRE_FALSE(r.ok());
		INFO(r.error().message());
		CHECK(r.error().tag() == tag);
	};
	for (size_t off = 4; off < 52; off += 5) {
		Bytes h = p.header;
		h[off] ^= 0x01;
		refused(tek, tik, measure, h, p.payload, kTagSecretMac);
	}
	Bytes flags = p.header;
	flags[0] = 1;
	refused(tek, tik, measure, flags, p.payload, kTagSecretFlags);
	for (size_t off : { size_t(0), p.payload.size() - 1 }) {
		Bytes c = p.payload;
		c[off] ^= 0x80;
		refused(tek, tik, measure, p.header, c, kTagSecretMac);
	}
	Bytes otherMeasure = measure;
	otherMeasure[0] ^= 1;
	refused(tek, tik, otherMeasure, p.header, p.payload, kTagSecretMac);
	Bytes otherTik = tik;
	otherTik[0] ^= 1;
	refused(tek, otherTik, measure, p.header, p.payload, kTagSecretMac);
	refused(tek, tik, measure, ByteView(p.header).first(51), p.payload, kTagSecretHeader);
	refused(tek, tik, measure, p.header, ByteView(p.payload).first(p.payload.size() - 16), kTagSecretMac);
	refused(tek, tik, measure, p.header, ByteView(p.payload).first(15), kTagSecretLength);
	refused(tek, tik, measure, p.header, ByteView(), kTagSecretLength);
	refused(tek, tik, measure, p.header, Bytes(kMaxSecretPayload + 16), kTagSecretLength);

	// A wrong TEK passes the MAC (it only covers the ciphertext) but decrypts to garbage.
	Bytes otherTek = tek;
	otherTek[0] ^= 1;
	auto garbage = openSecret(otherTek, tik, measure, p.header, p.payload);
	REQUIRE(garbage.ok());
	CHECK_FALSE(parseSecretTable(*garbage).ok());
}

TEST_CASE("sealing checks its inputs")
{
	Bytes k(16), m(32), table(32);
	CHECK(sealSecret(k, k, m, table).ok());
	CHECK_FALSE(sealSecret(Bytes(15), k, m, table).ok());
	CHECK_FALSE(sealSecret(k, k, Bytes(48), table).ok());
	CHECK_FALSE(sealSecret(k, k, m, Bytes(33)).ok());
	CHECK_FALSE(sealSecret(k, k, m, Bytes(kMaxSecretPayload + 16)).ok());
	std::vector<SecretEntry> huge;
	huge.push_back({ secret_guid::luksKey(), SecureBuffer(Bytes(kMaxSecretPayload)) });
	CHECK_FALSE(buildSecretTable(huge).ok());
	// Fresh IVs.
	CHECK_FALSE(sealSecret(k, k, m, table)->header == sealSecret(k, k, m, table)->header);
}
