// SPDX-License-Identifier: Apache-2.0
//
// The GODH certificate and the firmware's sanity check of it: only the fields
// LAUNCH_START looks at are checked here (through the one SEV certificate
// layout, sev_cert_layout.h); the certificate itself is built by SevCert.
#define G_LOG_DOMAIN "cvm-sev"

#include "cvm/sev/session.h"

#include "cvm/sev/cert.h"
#include "cvm/sev/kdf.h"

#include "crypto_internal.h"
#include "sev_cert_layout.h"

namespace cvm::sev {

namespace {

namespace L = layout::sevcert;

// The checks of sev_cert_sanity_check(cert, PDH, ECDH_SHA256).
Result<EvpPkeyPtr> checkEcdhCertificate(ByteView cert, const std::string &what)
{
	auto bad = [&](const std::string &why) {
		return internal::tagged(ErrorCode::InvalidData, what + ": " + why, kTagGodhInvalid);
	};
	if (cert.size() != kSevCertificateSize)
		return bad("must be " + std::to_string(kSevCertificateSize) + " bytes, not " +
			   std::to_string(cert.size()));
	if (uint32_t v = loadLe32(cert, L::kVersion.offset); v != L::kVersion1)
		return bad("version " + std::to_string(v) + " (only version 1 exists)");
	if (uint32_t u = loadLe32(cert, L::kPubkeyUsage.offset); u != static_cast<uint32_t>(KeyUsage::Pdh))
		return bad("key usage " + wireHex(u) + ", expected PDH (0x1003)");
	if (uint32_t a = loadLe32(cert, L::kPubkeyAlgo.offset); a != static_cast<uint32_t>(Algorithm::EcdhSha256))
		return bad("key algorithm " + wireHex(a) + ", expected ECDH_SHA256 (0x3)");
	if (uint32_t c = loadLe32(cert, L::kEcCurve.offset); c != static_cast<uint32_t>(Curve::P384))
		return bad("curve " + std::to_string(c) + ", expected P-384 (2)");
	auto key = p384PublicKeyFromLe(slice(cert, L::kEcQx), slice(cert, L::kEcQy));
	if (!key)
		return bad(key.error().message());
	return std::move(key).value();
}

} // namespace

Result<Bytes> makeGodhCertificate(EVP_PKEY *godhKey)
{
	SevCert cert = CVM_TRY(SevCert::createGodh(godhKey));
	return cert.bytes();
}

Result<EvpPkeyPtr> checkGodhCertificate(ByteView cert)
{
	return checkEcdhCertificate(cert, "guest owner DH certificate");
}

Result<EvpPkeyPtr> pdhPublicKey(ByteView pdhCert)
{
	auto key = checkEcdhCertificate(pdhCert, "PDH certificate");
	if (!key)
		return Error(ErrorCode::InvalidData, key.error().message());
	return key;
}

} // namespace cvm::sev
