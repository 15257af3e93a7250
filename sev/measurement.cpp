// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-sev"

#include "cvm/sev/measurement.h"

#include <algorithm>

#include "cvm/common/secure_buffer.h"
#include "crypto_internal.h"

namespace cvm::sev {

namespace {

namespace layout {
constexpr Field kMeasure{ 0, 32 };
constexpr Field kMnonce{ 32, 16 };
static_assert(kMnonce.end() == LaunchMeasurement::kSize);
} // namespace layout

constexpr uint8_t kContextMeasure = 0x04; // SEV_CHANNEL_CTX_MEASURE

} // namespace

Result<LaunchMeasurement> LaunchMeasurement::parse(ByteView blob)
{
	if (blob.size() != kSize)
		return Error(ErrorCode::InvalidData, "launch measurement must be 48 bytes (MEASURE || MNONCE), not " +
							     std::to_string(blob.size()));
	LaunchMeasurement m;
	ByteView measure = slice(blob, layout::kMeasure);
	ByteView mnonce = slice(blob, layout::kMnonce);
	std::copy(measure.begin(), measure.end(), m.measure.begin());
	std::copy(mnonce.begin(), mnonce.end(), m.mnonce.begin());
	return m;
}

Result<LaunchMeasurement> LaunchMeasurement::fromBase64(std::string_view text)
{
	auto raw = cvm::fromBase64(text);
	if (!raw)
		return Error(ErrorCode::InvalidData, "launch measurement is not base64: " + raw.error().message());
	return parse(*raw);
}

Bytes LaunchMeasurement::serialize() const
{
	Bytes out(kSize);
	storeBytes(out, layout::kMeasure.offset, measure);
	storeBytes(out, layout::kMnonce.offset, mnonce);
	return out;
}

std::string LaunchMeasurement::toBase64() const
{
	return cvm::toBase64(serialize());
}

Result<Digest256> computeMeasure(ByteView tik, const PlatformVersion &version, uint32_t policy,
				 ByteView launchDigest, ByteView mnonce)
{
	CVM_CHECK(internal::requireSize(tik, 16, "TIK"));
	CVM_CHECK(internal::requireSize(launchDigest, 32, "launch digest"));
	CVM_CHECK(internal::requireSize(mnonce, 16, "measurement nonce"));
	Bytes head = { kContextMeasure, version.apiMajor, version.apiMinor, version.buildId };
	appendLe32(head, policy);
	Bytes mac = CVM_TRY(internal::hmacSha256(tik, { head, launchDigest, mnonce }));
	Digest256 out;
	std::copy(mac.begin(), mac.end(), out.begin());
	return out;
}

Result<LaunchMeasurement> measureLaunch(ByteView tik, const PlatformVersion &version, uint32_t policy,
					ByteView launchDigest)
{
	LaunchMeasurement m;
	SecureBuffer nonce = CVM_TRY(SecureBuffer::random(16));
	std::copy_n(nonce.data(), 16, m.mnonce.begin());
	m.measure = CVM_TRY(computeMeasure(tik, version, policy, launchDigest, m.mnonce));
	return m;
}

Result<bool> verifyMeasurement(ByteView tik, const PlatformVersion &version, uint32_t policy,
			       ByteView launchDigest, const LaunchMeasurement &measurement)
{
	Digest256 expected = CVM_TRY(computeMeasure(tik, version, policy, launchDigest, measurement.mnonce));
	return constantTimeEqual(expected, measurement.measure);
}

Result<std::optional<size_t>> matchMeasurement(ByteView tik, const PlatformVersion &version, uint32_t policy,
					       const std::vector<Bytes> &launchDigests,
					       const LaunchMeasurement &measurement)
{
	std::optional<size_t> found;
	for (size_t i = 0; i < launchDigests.size(); ++i) {
		bool ok = CVM_TRY(verifyMeasurement(tik, version, policy, launchDigests[i], measurement));
		// No early exit: every candidate costs the same whether it matches or not.
		if (ok && !found)
			found = i;
	}
	return found;
}

} // namespace cvm::sev
