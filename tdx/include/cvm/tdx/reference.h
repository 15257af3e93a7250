// SPDX-License-Identifier: Apache-2.0
//
// Reference values for a TD (what an owner accepts) and the reference-value
// document cvm-launch publishes for a firmware image:
//
//   {
//     "format": "cvm-launch/tdx-reference/1",
//     "reference-values": {
//       "tdx.mrtd": "<96 hex>" | ["<96 hex>", ...],   any of
//       "tdx.rtmr0" .. "tdx.rtmr3": "<96 hex>",
//       "tdx.mrconfigid", "tdx.mrowner", "tdx.mrownerconfig": "<96 hex>",
//       "tdx.td-attributes", "tdx.xfam": "0x<hex>"      exact 64-bit values
//     },
//     "provenance": {
//       "tool": "cvm-launch 0.1.0", "mrtd-method": "qemu",
//       "inputs": [{"role": "firmware", "file": "...", "size": N, "sha256": "..."}]
//     }
//   }
//
// Every member of "reference-values" is optional; absent = not checked.
// Unknown members are refused, so that a typo cannot silently drop a check.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cvm/common/error.h"
#include "cvm/common/gptr.h"
#include "cvm/tdx/image.h"
#include "cvm/tdx/types.h"

namespace cvm::tdx {

constexpr std::string_view kReferenceFormat = "cvm-launch/tdx-reference/1";

struct ReferenceValues {
	std::vector<Sha384Digest> mrtd; // accepted MRTDs, any of
	std::array<std::optional<Sha384Digest>, 4> rtmr;
	std::optional<Sha384Digest> mrConfigId;
	std::optional<Sha384Digest> mrOwner;
	std::optional<Sha384Digest> mrOwnerConfig;
	std::optional<uint64_t> tdAttributes;
	std::optional<uint64_t> xfam;

	bool empty() const;
};

// The "reference-values" object (the members above).
JsonNodePtr referenceValuesToJson(const ReferenceValues &values);
Result<ReferenceValues> referenceValuesFromJson(JsonObject *values);

struct ProvenanceInput {
	std::string role; // "firmware", "ccel-table", "ccel-data"
	std::string file;
	FileFingerprint fingerprint;
};

struct ReferenceDocument {
	ReferenceValues values;
	std::string tool;       // "cvm-launch 0.1.0"
	std::string mrtdMethod; // tdvfLoaderName() of the loader MRTD assumed
	std::vector<ProvenanceInput> inputs;
};

JsonNodePtr referenceDocumentToJson(const ReferenceDocument &document);
// Accepts a whole document (checks "format") or a bare reference-values object.
Result<ReferenceDocument> referenceDocumentFromJson(std::string_view text);

} // namespace cvm::tdx
