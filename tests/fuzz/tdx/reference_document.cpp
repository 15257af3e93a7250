// SPDX-License-Identifier: Apache-2.0
// Fuzzes the reference-value document reader (what an owner uploads to the
// AS for an intel-tdx registration); what it accepts must write back to a
// document that reads the same values.
#include <cstdint>
#include <string_view>

#include "cvm/common/json.h"
#include "cvm/tdx/reference.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	using namespace cvm::tdx;
	auto doc = referenceDocumentFromJson(std::string_view(reinterpret_cast<const char *>(data), size));
	if (!doc.ok())
		return 0;
	cvm::JsonNodePtr node = referenceDocumentToJson(*doc);
	auto back = referenceDocumentFromJson(cvm::json::serialize(node.get()));
	if (!back.ok() || back->values.mrtd != doc->values.mrtd || back->values.rtmr != doc->values.rtmr ||
	    back->values.mrConfigId != doc->values.mrConfigId || back->values.tdAttributes != doc->values.tdAttributes)
		__builtin_trap();
	return 0;
}
