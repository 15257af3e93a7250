// SPDX-License-Identifier: Apache-2.0
//
// The GODH certificate and the firmware's sanity check of it. Only the fields
// LAUNCH_START looks at are described here (SEV API Appendix C.1 layout);
// full certificate parsing, signing and chain verification live in the
// certificate half of sev/.
#define G_LOG_DOMAIN "cvm-sev"

#include "cvm/sev/kdf.h"

#include <algorithm>
#include "cvm/sev/session.h"

#include "crypto_internal.h"

namespace cvm::sev {

namespace {

namespace layout {
constexpr Field kVersion{ 0x000, 4 };
constexpr Field kApiMajor{ 0x004, 1 };
constexpr Field kApiMinor{ 0x005, 1 };
constexpr Field kPubkeyUsage{ 0x008, 4 };
constexpr Field kPubkeyAlgo{ 0x00c, 4 };
constexpr Field kCurve{ 0x010, 4 };
constexpr Field kQx{ 0x014, 72 };
constexpr Field kQy{ 0x05c, 72 };
constexpr Field kSig1Usage{ 0x414, 4 };
constexpr Field kSig1Algo{ 0x418, 4 };
constexpr Field kSig2Usage{ 0x61c, 4 };
constexpr Field kSig2Algo{ 0x620, 4 };
} // namespace layout

constexpr uint32_t kVersion1 = 1;
constexpr uint32_t kUsagePdh = 0x1003;
constexpr uint32_t kUsageInvalid = 0x1000;
constexpr uint32_t kAlgoEcdhSha256 = 0x3;
constexpr uint32_t kCurveP384 = 2;

std::string hex32(uint32_t v)
{
	char buf[16];
	snprintf(buf, sizeof(buf), "0x%x", v);
	return buf;
}

// The checks of sev_cert_sanity_check(cert, PDH, ECDH_SHA256).
Result<EvpPkeyPtr> checkEcdhCertificate(ByteView cert, const std::string &what)
{
	auto bad = [&](const std::string &why) {
		return internal::tagged(ErrorCode::InvalidData, what + ": " + why, kTagGodhInvalid);
	};
	if (cert.size() != kSevCertificateSize)
		return bad("must be " + std::to_string(kSevCertificateSize) + " bytes, not " +
			   std::to_string(cert.size()));
	if (uint32_t v = loadLe32(cert, layout::kVersion.offset); v != kVersion1)
		return bad("version " + std::to_string(v) + " (only version 1 exists)");
	if (uint32_t u = loadLe32(cert, layout::kPubkeyUsage.offset); u != kUsagePdh)
		return bad("key usage " + hex32(u) + ", expected PDH (0x1003)");
	if (uint32_t a = loadLe32(cert, layout::kPubkeyAlgo.offset); a != kAlgoEcdhSha256)
		return bad("key algorithm " + hex32(a) + ", expected ECDH_SHA256 (0x3)");
	if (uint32_t c = loadLe32(cert, layout::kCurve.offset); c != kCurveP384)
		return bad("curve " + std::to_string(c) + ", expected P-384 (2)");
	auto key = p384PublicKeyFromLe(slice(cert, layout::kQx), slice(cert, layout::kQy));
	if (!key)
		return bad(key.error().message());
	return std::move(key).value();
}

} // namespace

Result<Bytes> makeGodhCertificate(EVP_PKEY *godhKey)
{
	P384Point q = CVM_TRY(p384PointLe(godhKey));
	Bytes cert(kSevCertificateSize, 0);
	storeLe32(cert, layout::kVersion.offset, kVersion1);
	cert[layout::kApiMajor.offset] = 0;
	cert[layout::kApiMinor.offset] = 0;
	storeLe32(cert, layout::kPubkeyUsage.offset, kUsagePdh);
	storeLe32(cert, layout::kPubkeyAlgo.offset, kAlgoEcdhSha256);
	storeLe32(cert, layout::kCurve.offset, kCurveP384);
	storeBytes(cert, layout::kQx.offset, q.qx);
	storeBytes(cert, layout::kQy.offset, q.qy);
	// Empty slots are usage INVALID with algorithm 0, not all zeros (that would
	// read as an ARK slot).
	storeLe32(cert, layout::kSig1Usage.offset, kUsageInvalid);
	storeLe32(cert, layout::kSig1Algo.offset, 0);
	storeLe32(cert, layout::kSig2Usage.offset, kUsageInvalid);
	storeLe32(cert, layout::kSig2Algo.offset, 0);
	return cert;
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
