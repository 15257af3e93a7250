// SPDX-License-Identifier: Apache-2.0
// Fuzzes what cvm-attestd decodes besides the request bodies (those are the
// attest target): sealed blobs from the database, the stored secret encoding,
// listen addresses, and the registration → storage round trip.
#include <cstdint>
#include <string_view>

#include "config.h"
#include "cvm/attest/protocol.h"
#include "cvm/common/json.h"
#include "sealer.h"
#include "service.h"

using namespace cvm;
using namespace cvm::server;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ByteView bytes(data, size);
	std::string_view text(reinterpret_cast<const char *>(data), size);

	static const SecretSealer sealer = SecretSealer::fromKey(SecureBuffer(ByteView(Bytes(32, 0x33)))).value();
	(void)sealer.open(bytes, "fuzz");
	(void)decodeSecrets(bytes);
	(void)parseListenAddress(std::string(text));

	auto node = json::parseObject(text);
	if (node.ok()) {
		auto reg = attest::parseRegistration(json_node_get_object(node->get()));
		if (reg.ok()) {
			// What is stored must decode to what was registered.
			SecureBuffer encoded = encodeSecrets(reg->secrets);
			auto sealed = sealer.seal(encoded.view(), "ctx");
			auto opened = sealer.open(*sealed, "ctx");
			auto decoded = decodeSecrets(opened->view());
			if (!decoded.ok() || decoded->size() != reg->secrets.size())
				__builtin_trap();
			for (size_t i = 0; i < decoded->size(); ++i)
				if (!((*decoded)[i].guid == reg->secrets[i].guid) ||
				    !constantTimeEqual((*decoded)[i].data.view(), reg->secrets[i].data.view()))
					__builtin_trap();
		}
	}
	return 0;
}
