// SPDX-License-Identifier: Apache-2.0
//
// Member helpers shared by the request and response halves of the protocol.
#pragma once

#include <initializer_list>
#include <optional>
#include <string_view>

#include "cvm/attest/protocol.h"
#include "cvm/common/json.h"

namespace cvm::attest::detail {

// Refuses members outside `allowed` (request bodies are strict).
Status onlyMembers(JsonObject *obj, std::initializer_list<std::string_view> allowed);
Result<uint32_t> getU32(JsonObject *obj, std::string_view member);
Result<uint8_t> getU8(JsonObject *obj, std::string_view member);
Result<Bytes> getBase64Bounded(JsonObject *obj, std::string_view member, size_t min, size_t max);
Result<std::optional<int64_t>> getOptionalTime(JsonObject *obj, std::string_view member);

// The AMD SEV reference values, flat in the registration / VM info object.
// `strict` also checks that the scheme and the policy's ES bit agree.
Result<SevReference> parseSevReference(JsonObject *obj, Scheme scheme, bool strict);
void addSevReference(json::ObjectBuilder &b, const SevReference &ref);

// The intel-tdx reference values, as member "tdx-reference" (a reference
// document or a bare reference-values object; protocol_tdx.cpp). `strict`
// requires at least one MRTD.
Result<tdx::ReferenceValues> parseTdxReference(JsonObject *obj, bool strict);
void addTdxReference(json::ObjectBuilder &b, const tdx::ReferenceValues &ref);

} // namespace cvm::attest::detail
