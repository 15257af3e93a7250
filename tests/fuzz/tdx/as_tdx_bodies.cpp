// SPDX-License-Identifier: Apache-2.0
// Fuzzes the intel-tdx bodies of the attestation server API: registrations
// with "tdx-reference", quote requests (what any host can post, including the
// TD's P-256 point), and the launch / quote responses a client parses.
#include <cstdint>
#include <string_view>

#include "cvm/attest/protocol_tdx.h"
#include "cvm/attest/tdx_secrets.h"
#include "cvm/common/json.h"

using namespace cvm;
using namespace cvm::attest;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	auto node = json::parseObject(std::string_view(reinterpret_cast<const char *>(data), size));
	if (!node.ok())
		return 0;
	JsonObject *o = json_node_get_object(node->get());
	if (auto r = parseRegistration(o); r.ok() && r->scheme == Scheme::IntelTdx) {
		// What the server accepts survives the client's encoding unchanged.
		SecureBuffer again = registrationToJson(*r);
		auto n2 = json::parseObject(asString(again.view()));
		if (!n2.ok())
			__builtin_trap();
		auto back = parseRegistration(json_node_get_object(n2->get()));
		if (!back.ok() || back->tdx.mrtd != r->tdx.mrtd || back->tdx.rtmr != r->tdx.rtmr)
			__builtin_trap();
	}
	if (auto q = parseTdxQuoteRequest(o); q.ok())
		(void)p256KeyFromPoint(q->teePublicKey);
	(void)parseTdxLaunchResponse(o);
	(void)parseTdxQuoteResponse(o);
	(void)parseVmInfo(o);
	return 0;
}
