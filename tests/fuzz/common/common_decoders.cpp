// SPDX-License-Identifier: Apache-2.0
// Fuzzes the decoders of untrusted text in common/: base64, hex, GUIDs, JSON.
#include <cstdint>
#include <string_view>

#include "cvm/common/bytes.h"
#include "cvm/common/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	std::string_view text(reinterpret_cast<const char *>(data), size);
	auto b64 = cvm::fromBase64(text);
	if (b64.ok()) {
		// Whatever decodes must re-encode to something that decodes the same.
		auto again = cvm::fromBase64(cvm::toBase64(*b64));
		if (!again.ok() || *again != *b64)
			__builtin_trap();
	}
	(void)cvm::fromHex(text);
	(void)cvm::Guid::parse(text);
	auto node = cvm::json::parse(text);
	if (node.ok() && JSON_NODE_HOLDS_OBJECT(node->get())) {
		JsonObject *o = json_node_get_object(node->get());
		(void)cvm::json::getString(o, "execute");
		(void)cvm::json::getBase64(o, "data");
	}
	return 0;
}
