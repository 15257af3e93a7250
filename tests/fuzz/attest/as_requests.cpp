// SPDX-License-Identifier: Apache-2.0
// Fuzzes the attestation server's request-body parsers (what any client can
// send) and the client's response parsers (what any server can send).
#include <cstdint>
#include <string_view>

#include "cvm/attest/protocol.h"
#include "cvm/common/json.h"

using namespace cvm;
using namespace cvm::attest;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	std::string_view text(reinterpret_cast<const char *>(data), size);
	auto node = json::parseObject(text);
	if (!node.ok())
		return 0;
	JsonObject *o = json_node_get_object(node->get());
	if (auto r = parseRegistration(o); r.ok()) {
		// Whatever the server accepts must survive the client's encoding.
		SecureBuffer again = registrationToJson(*r);
		auto n2 = json::parseObject(asString(again.view()));
		if (!n2.ok() || !parseRegistration(json_node_get_object(n2->get())).ok())
			__builtin_trap();
	}
	(void)parseLaunchRequest(o);
	(void)parseValidateRequest(o);
	(void)parseEndRequest(o);
	(void)parseVmInfo(o);
	(void)parseLaunchResponse(o);
	(void)parseValidateResponse(o);
	(void)parseAuditTrail(o);
	(void)parseErrorBody(o);
	return 0;
}
