// SPDX-License-Identifier: Apache-2.0
#include "test_platform.h"

#include <cstdio>
#include <cstdlib>

#include <openssl/rand.h>

#include "cvm/common/file.h"
#include "cvm/sev/kdf.h"
#include "cvm/sev/keys.h"

namespace cvm::test {

namespace {

// Building the stand-in cannot fail unless OpenSSL is broken.
[[noreturn]] void broken(const Error &e)
{
	fprintf(stderr, "test platform: %s\n", e.message().c_str());
	abort();
}

template <typename T> T must(Result<T> r)
{
	if (!r)
		broken(r.error());
	return std::move(*r);
}

void must(Status s)
{
	if (!s)
		broken(s.error());
}

struct Root {
	EvpPkeyPtr arkKey, askKey;
	sev::AmdCert ark, ask;
};

const Root &root()
{
	static const Root r = [] {
		sev::AmdKeyId arkId{}, askId{};
		arkId.fill(0xa1);
		askId.fill(0xa2);
		EvpPkeyPtr arkKey = must(sev::generateRsaKey(2048));
		EvpPkeyPtr askKey = must(sev::generateRsaKey(2048));
		sev::AmdCert ark = must(sev::AmdCert::create(arkId, arkId, sev::KeyUsage::Ark, arkKey.get()));
		must(ark.sign(arkKey.get()));
		sev::AmdCert ask = must(sev::AmdCert::create(askId, arkId, sev::KeyUsage::Ask, askKey.get()));
		must(ask.sign(arkKey.get()));
		return Root{ std::move(arkKey), std::move(askKey), std::move(ark), std::move(ask) };
	}();
	return r;
}

EvpPkeyPtr p384()
{
	return must(sev::generateP384Key());
}

sev::SevCert makeCert(sev::KeyUsage usage, sev::Algorithm algorithm, EVP_PKEY *key)
{
	return must(sev::SevCert::create(usage, algorithm, key, 0, 24));
}

} // namespace

TestPlatform::TestPlatform()
	: cekKey_(p384()), ocaKey_(p384()), pekKey_(p384()), pdhKey_(p384()),
	  cek_(makeCert(sev::KeyUsage::Cek, sev::Algorithm::EcdsaSha256, cekKey_.get())),
	  oca_(makeCert(sev::KeyUsage::Oca, sev::Algorithm::EcdsaSha256, ocaKey_.get())),
	  pek_(makeCert(sev::KeyUsage::Pek, sev::Algorithm::EcdsaSha256, pekKey_.get())),
	  pdh_(makeCert(sev::KeyUsage::Pdh, sev::Algorithm::EcdhSha256, pdhKey_.get())),
	  chipId_(64)
{
	if (RAND_bytes(chipId_.data(), static_cast<int>(chipId_.size())) != 1)
		abort();
	must(cek_.signWithAsk(root().askKey.get()));
	must(oca_.signWith(oca_, ocaKey_.get()));
	must(pek_.signWith(oca_, ocaKey_.get()));
	must(pek_.signWith(cek_, cekKey_.get()));
	must(pdh_.signWith(pek_, pekKey_.get()));
}

void TestPlatform::writeRoots(const std::string &dir) const
{
	must(makeDirectories(dir + "/test", 0755));
	must(writeFileAtomic(dir + "/test/ark.cert", root().ark.bytes(), 0644));
	must(writeFileAtomic(dir + "/test/ask.cert", root().ask.bytes(), 0644));
}

attest::LaunchRequest TestPlatform::launchRequest(bool withChipId) const
{
	attest::LaunchRequest r;
	r.pdh = pdh_.bytes();
	r.certChain = concat({ pek_.bytes(), oca_.bytes(), cek_.bytes() });
	if (withChipId)
		r.cpuId = chipId_;
	return r;
}

Bytes TestPlatform::unsignedCek() const
{
	sev::SevCert copy = cek_;
	copy.clearSignature(sev::KeyUsage::Ask);
	return copy.bytes();
}

Result<sev::TransportKeys> TestPlatform::open(const attest::LaunchResponse &launch) const
{
	return sev::openSessionWithGodhCert(pdhKey_.get(), launch.ownerCert, launch.session, launch.policy);
}

attest::ValidateRequest TestPlatform::measure(const sev::TransportKeys &keys, uint32_t policy,
					      ByteView launchDigest) const
{
	auto m = must(sev::measureLaunch(keys.tik, version, policy, launchDigest));
	attest::ValidateRequest r;
	r.apiMajor = version.apiMajor;
	r.apiMinor = version.apiMinor;
	r.buildId = version.buildId;
	r.policy = policy;
	r.measurement = m.serialize();
	return r;
}

Result<std::vector<sev::SecretEntry>> TestPlatform::openSecret(const sev::TransportKeys &keys,
							       const attest::ValidateRequest &report,
							       const attest::ValidateResponse &secret) const
{
	ByteView measure = ByteView(report.measurement).first(32);
	auto table = CVM_TRY(sev::openSecret(keys.tek, keys.tik, measure, secret.secretHeader, secret.secretPayload));
	return sev::parseSecretTable(table);
}

} // namespace cvm::test
