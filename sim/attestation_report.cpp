// SPDX-License-Identifier: Apache-2.0
//
// LAUNCH_ATTESTATION (SEV API >= 0.23; QEMU query-sev-attestation-report):
// a 0xD0-byte report signed with the PEK. The layout follows AMD's firmware
// (sev_mcmd_attestation_report_t): the signature is raw little-endian r || s
// in 72-byte fields, over bytes 0x00..0x33.
#define G_LOG_DOMAIN "cvm-sim"

#include <openssl/bn.h>

#include "cvm/common/ossl.h"
#include "cvm/sim/firmware_status.h"
#include "cvm/sim/sev_qmp_commands.h"

namespace cvm::sim {

namespace {

namespace layout {
constexpr Field kMnonce{ 0x00, 16 };
constexpr Field kLaunchDigest{ 0x10, 32 };
constexpr Field kPolicy{ 0x30, 4 };
constexpr Field kSigUsage{ 0x34, 4 };
constexpr Field kSigAlgo{ 0x38, 4 };
constexpr Field kSigR{ 0x40, 72 };
constexpr Field kSigS{ 0x88, 72 };
constexpr size_t kSize = 0xd0;
constexpr size_t kSignedSize = 0x34;
} // namespace layout

constexpr uint32_t kUsagePek = 0x1002;
constexpr uint32_t kAlgoEcdsaSha256 = 0x2;

Status signInto(EVP_PKEY *key, Bytes &report)
{
	EvpMdCtxPtr ctx(EVP_MD_CTX_new());
	size_t derLen = 0;
	if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
	    EVP_DigestSign(ctx.get(), nullptr, &derLen, report.data(), layout::kSignedSize) != 1)
		return opensslError("signing the attestation report");
	Bytes der(derLen);
	if (EVP_DigestSign(ctx.get(), der.data(), &derLen, report.data(), layout::kSignedSize) != 1)
		return opensslError("signing the attestation report");
	const uint8_t *p = der.data();
	EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(derLen)));
	if (!sig)
		return opensslError("decoding the attestation report signature");
	const BIGNUM *r = ECDSA_SIG_get0_r(sig.get());
	const BIGNUM *s = ECDSA_SIG_get0_s(sig.get());
	if (BN_bn2lebinpad(r, report.data() + layout::kSigR.offset, 72) != 72 ||
	    BN_bn2lebinpad(s, report.data() + layout::kSigS.offset, 72) != 72)
		return opensslError("encoding the attestation report signature");
	return {};
}

} // namespace

Result<Bytes> attestationReport(const Platform &platform, const GuestLaunch &launch, ByteView mnonce)
{
	if (mnonce.size() != layout::kMnonce.size)
		return firmwareError(FwStatus::InvalidParam, "LAUNCH_ATTESTATION: the mnonce is not 16 bytes");
	if (!launch.launchDigest())
		return firmwareError(FwStatus::InvalidGuestState, "LAUNCH_ATTESTATION before LAUNCH_MEASURE");
	Bytes report(layout::kSize, 0);
	storeBytes(report, layout::kMnonce.offset, mnonce);
	storeBytes(report, layout::kLaunchDigest.offset, *launch.launchDigest());
	storeLe32(report, layout::kPolicy.offset, launch.policy());
	storeLe32(report, layout::kSigUsage.offset, kUsagePek);
	storeLe32(report, layout::kSigAlgo.offset, kAlgoEcdsaSha256);
	CVM_CHECK(signInto(platform.pekPrivateKey(), report));
	return report;
}

} // namespace cvm::sim
