// SPDX-License-Identifier: Apache-2.0
//
// The launch measurement (LAUNCH_MEASURE):
//
//   MEASURE = HMAC-SHA256(TIK, 0x04 || API_MAJOR || API_MINOR || BUILD_ID ||
//                              LE32(POLICY) || LD[32] || MNONCE[16])
//
// and QEMU's 48-byte blob MEASURE || MNONCE (query-sev-launch-measure "data",
// base64; libvirt "sev-measurement"). The owner recomputes MEASURE from the
// launch digest it expects and compares in constant time; the simulator
// produces it with a fresh MNONCE.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cvm/common/bytes.h"
#include "cvm/common/error.h"

namespace cvm::sev {

using Digest256 = std::array<uint8_t, 32>;

// The platform firmware's version as LAUNCH_MEASURE hashes it (QEMU query-sev
// api-major/api-minor/build-id).
struct PlatformVersion {
	uint8_t apiMajor = 0;
	uint8_t apiMinor = 0;
	uint8_t buildId = 0;
};

struct LaunchMeasurement {
	static constexpr size_t kSize = 48;

	Digest256 measure{};
	std::array<uint8_t, 16> mnonce{};

	// Exactly 48 bytes.
	static Result<LaunchMeasurement> parse(ByteView blob);
	// Base64 of the 48 bytes, as QEMU and libvirt report it.
	static Result<LaunchMeasurement> fromBase64(std::string_view text);
	Bytes serialize() const;
	std::string toBase64() const;
};

// MEASURE for `launchDigest` (32 bytes) and `mnonce` (16 bytes); `tik` is 16 bytes.
Result<Digest256> computeMeasure(ByteView tik, const PlatformVersion &version, uint32_t policy,
				 ByteView launchDigest, ByteView mnonce);

// The firmware's side: MEASURE with a fresh random MNONCE.
Result<LaunchMeasurement> measureLaunch(ByteView tik, const PlatformVersion &version, uint32_t policy,
					ByteView launchDigest);

// Whether `measurement` proves `launchDigest` (constant-time comparison).
Result<bool> verifyMeasurement(ByteView tik, const PlatformVersion &version, uint32_t policy,
			       ByteView launchDigest, const LaunchMeasurement &measurement);

// The index of the first of `launchDigests` that `measurement` proves, or
// nullopt. Every candidate is computed and compared in constant time, so the
// time taken does not depend on which one (if any) matches.
Result<std::optional<size_t>> matchMeasurement(ByteView tik, const PlatformVersion &version, uint32_t policy,
					       const std::vector<Bytes> &launchDigests,
					       const LaunchMeasurement &measurement);

} // namespace cvm::sev
