// SPDX-License-Identifier: Apache-2.0
//
// The server's SEV operations on top of sev/: the session, the measurement
// check and the secret packet here; the platform chain (roots, unsigned CEK,
// cache) in platform_chain.cpp.
#define G_LOG_DOMAIN "cvm-attestd"

#include "launch_crypto.h"

#include <openssl/evp.h>

#include "cvm/attest/errors.h"
#include "cvm/sev/measurement.h"
#include "cvm/sev/secret.h"
#include "cvm/sev/session.h"
#include "platform_chain.h"

namespace cvm::server {

struct LaunchCrypto::Impl {
	std::unique_ptr<PlatformChains> chains;
};

LaunchCrypto::LaunchCrypto(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LaunchCrypto::~LaunchCrypto() = default;

Result<std::unique_ptr<LaunchCrypto>> LaunchCrypto::create(Options options, CekSource *cek, Metrics *metrics)
{
	auto impl = std::make_unique<Impl>();
	impl->chains = CVM_TRY(PlatformChains::create(options.amdRoots, options.testRoots, options.chainCacheSize,
						      cek, metrics));
	return std::unique_ptr<LaunchCrypto>(new LaunchCrypto(std::move(impl)));
}

Result<VerifiedPlatform> LaunchCrypto::verifyPlatform(const attest::LaunchRequest &request)
{
	return impl_->chains->verify(request);
}

Result<LaunchSession> LaunchCrypto::startSession(const VerifiedPlatform &platform, uint32_t policy)
{
	// The PDH key was parsed and checked (shape, curve point) when its chain
	// verified; only a platform built by hand lacks it.
	std::shared_ptr<EVP_PKEY> pdh = platform.pdhKey;
	if (!pdh) {
		auto parsed = sev::pdhPublicKey(platform.pdh);
		if (!parsed)
			return parsed.error().withContext("the verified PDH");
		pdh.reset(parsed->release(), EVP_PKEY_free);
	}
	// sev::startSession draws a fresh GODH key, TEK, TIK, nonce and IV.
	auto owner = sev::startSession(pdh.get(), policy);
	if (!owner)
		return owner.error().withContext("creating the launch session");
	LaunchSession session;
	session.ownerCert = std::move(owner->godhCert);
	session.session = owner->session.serialize();
	session.tek = std::move(owner->keys.tek);
	session.tik = std::move(owner->keys.tik);
	return session;
}

Result<std::optional<size_t>> LaunchCrypto::matchMeasurement(ByteView tik, const attest::ValidateRequest &report,
							     const std::vector<Bytes> &digests)
{
	auto measurement = sev::LaunchMeasurement::parse(report.measurement);
	if (!measurement)
		return attest::asError(attest::code::kInvalidRequest,
				       "member 'measurement' must be the 48 bytes MEASURE || MNONCE: " +
					       measurement.error().message());
	sev::PlatformVersion version{ report.apiMajor, report.apiMinor, report.buildId };
	return sev::matchMeasurement(tik, version, report.policy, digests, *measurement);
}

Result<SecretPacket> LaunchCrypto::buildSecret(ByteView tek, ByteView tik, ByteView measurement,
					       const std::vector<attest::SecretEntry> &secrets)
{
	std::vector<sev::SecretEntry> entries;
	entries.reserve(secrets.size());
	for (const auto &s : secrets)
		entries.push_back(sev::SecretEntry{ s.guid, s.data.clone() });
	auto table = sev::buildSecretTable(entries);
	if (!table)
		return table.error().withContext("building the secret table");
	auto packet = sev::sealSecret(tek, tik, measurement, table->view());
	if (!packet)
		return packet.error().withContext("sealing the launch secret");
	SecretPacket out{ SecureBuffer(packet->header), SecureBuffer(packet->payload) };
	return out;
}

} // namespace cvm::server
