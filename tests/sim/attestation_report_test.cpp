// SPDX-License-Identifier: Apache-2.0
//
// query-sev-attestation-report (LAUNCH_ATTESTATION) through the SEV QMP
// commands: the report carries the caller's mnonce, the launch digest and the
// policy, signed by the platform's PEK (checked with the PEK certificate the
// platform exports), and refusals read as QEMU 7.2's sev_get_attestation_report.
#include <catch2/catch.hpp>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include "cvm/common/bytes.h"
#include "cvm/common/json.h"
#include "cvm/common/ossl.h"
#include "cvm/sev/cert.h"
#include "cvm/sim/guest_launch.h"
#include "cvm/sim/qmp_dispatch.h"
#include "cvm/sim/sev_qmp_commands.h"
#include "sev_test_support.h"
#include "sim_test_support.h"

using namespace cvm;
using namespace cvm::sim;
namespace st = cvm::sev::test;

namespace {

uint32_t le32(const Bytes &b, size_t at)
{
	return b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (static_cast<uint32_t>(b[at + 3]) << 24);
}

// The report's signature (r || s, 72-byte little-endian fields at 0x40 and
// 0x88) over bytes 0x00-0x33, with ECDSA-SHA256 and `key`.
bool signatureVerifies(const Bytes &report, EVP_PKEY *key)
{
	BIGNUM *r = BN_lebin2bn(report.data() + 0x40, 72, nullptr);
	BIGNUM *s = BN_lebin2bn(report.data() + 0x88, 72, nullptr);
	EcdsaSigPtr sig(ECDSA_SIG_new());
	REQUIRE((r && s && sig && ECDSA_SIG_set0(sig.get(), r, s) == 1));
	unsigned char *der = nullptr;
	int derLen = i2d_ECDSA_SIG(sig.get(), &der);
	REQUIRE(derLen > 0);
	EvpMdCtxPtr ctx(EVP_MD_CTX_new());
	bool ok = EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
		  EVP_DigestVerify(ctx.get(), der, static_cast<size_t>(derLen), report.data(), 0x34) == 1;
	OPENSSL_free(der);
	return ok;
}

JsonNodePtr mnonceArgs(const std::string &b64)
{
	return json::ObjectBuilder().setString("mnonce", b64).build();
}

std::string errorOf(const Result<JsonNodePtr> &r)
{
	REQUIRE(!r.ok());
	return r.error().message();
}

} // namespace

TEST_CASE("query-sev-attestation-report: mnonce, launch digest and policy, signed by the PEK")
{
	st::requireFile(st::kDebianOvmf);
	const Platform &platform = test::sharedPlatform();
	constexpr uint32_t policy = 0x3;
	auto owner = sev::startSessionWithPdhCert(platform.pdhCert(), policy);
	REQUIRE(owner.ok());
	LaunchStartParams p;
	p.policy = policy;
	p.godhCert = owner->godhCert;
	p.session = owner->session.serialize();
	auto launch = GuestLaunch::start(platform, p);
	REQUIRE(launch.ok());
	REQUIRE((*launch)->updateData(readFile(st::kDebianOvmf).value()).ok());

	QmpDispatcher d;
	SevQmpContext c;
	c.platform = &platform;
	c.launch = launch->get();
	registerSevCommands(d, c);
	const Bytes mnonce = st::randomBytes(16);
	auto args = mnonceArgs(toBase64(mnonce));
	JsonObject *a = json_node_get_object(args.get());

	// Before LAUNCH_MEASURE the firmware refuses (QEMU's first call, the length query, fails).
	CHECK(errorOf(d.dispatch("query-sev-attestation-report", a)) ==
	      "SEV: Failed to query the attestation report length ret=-5 fw_err=2 (Guest state is invalid)");

	REQUIRE((*launch)->measure().ok());
	auto reply = d.dispatch("query-sev-attestation-report", a);
	REQUIRE(reply.ok());
	auto data = json::getBase64(json_node_get_object(reply->get()), "data");
	REQUIRE(data.ok());
	const Bytes &report = *data;
	REQUIRE(report.size() == 0xd0);
	CHECK(Bytes(report.begin(), report.begin() + 16) == mnonce);
	CHECK(Bytes(report.begin() + 0x10, report.begin() + 0x30) ==
	      Bytes((*launch)->launchDigest()->begin(), (*launch)->launchDigest()->end()));
	CHECK(le32(report, 0x30) == policy);
	CHECK(le32(report, 0x34) == 0x1002); // signed by the PEK
	CHECK(le32(report, 0x38) == 0x2);    // ECDSA SHA-256
	auto pek = sev::SevCert::parse(platform.pekCert());
	REQUIRE(pek.ok());
	CHECK(signatureVerifies(report, pek->publicKey()));
	Bytes tampered = report;
	tampered[0x30] ^= 0x04; // another policy
	CHECK(!signatureVerifies(tampered, pek->publicKey()));
	// A fresh mnonce gives a fresh report; the launch itself is unchanged.
	auto other = d.dispatch("query-sev-attestation-report",
				json_node_get_object(mnonceArgs(toBase64(st::randomBytes(16))).get()));
	REQUIRE(other.ok());
	CHECK(json::getBase64(json_node_get_object(other->get()), "data").value() != report);

	// QEMU 7.2's argument and length checks.
	CHECK(errorOf(d.dispatch("query-sev-attestation-report", json_node_get_object(mnonceArgs("AAAA").get()))) ==
	      "SEV: mnonce must be 16 bytes (got 3)");
	CHECK(errorOf(d.dispatch("query-sev-attestation-report", nullptr)) == "Parameter 'mnonce' is missing");

	// A VM without SEV (the sev-on-non-sev transcript has the same text).
	QmpDispatcher plain;
	SevQmpContext none;
	none.platform = &platform;
	registerSevCommands(plain, none);
	CHECK(errorOf(plain.dispatch("query-sev-attestation-report", a)) == "SEV is not enabled");
}
