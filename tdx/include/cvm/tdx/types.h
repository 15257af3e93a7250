// SPDX-License-Identifier: Apache-2.0
//
// Small vocabulary shared by the tdx/ headers: SHA-384 measurement registers
// and their text forms.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "cvm/common/bytes.h"
#include "cvm/common/error.h"

namespace cvm::tdx {

constexpr size_t kSha384Size = 48;

// MRTD, RTMRs, MRCONFIGID, MROWNER, MROWNERCONFIG: all SHA-384 sized.
using Sha384Digest = std::array<uint8_t, kSha384Size>;

// Copies exactly 48 bytes (asserts the size; use the parsers for input).
Sha384Digest toSha384Digest(ByteView bytes);

// Parse 96 hex digits / base64 of 48 bytes; `what` names the value in errors
// ("mrconfigid must be 48 bytes (96 hex digits), got 20 bytes").
Result<Sha384Digest> sha384DigestFromHex(std::string_view hex, std::string_view what);
Result<Sha384Digest> sha384DigestFromBase64(std::string_view text, std::string_view what);

} // namespace cvm::tdx
