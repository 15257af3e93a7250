// SPDX-License-Identifier: Apache-2.0
// Fuzzes the secret table parser (the guest's view), the LAUNCH_SECRET
// header parser and the platform side that opens a packet (first 52 bytes
// header, the rest payload, fixed keys).
#include <cstdint>

#include "cvm/sev/secret.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	using namespace cvm::sev;
	cvm::ByteView in(data, size);
	auto entries = parseSecretTable(in);
	if (entries.ok()) {
		size_t total = 20;
		for (const auto &e : *entries)
			total += 20 + e.value.size();
		if (total > size)
			__builtin_trap();
		// A table of what parsed parses back to the same entries.
		auto rebuilt = buildSecretTable(*entries);
		if (rebuilt.ok()) {
			auto again = parseSecretTable(*rebuilt);
			if (!again.ok() || again->size() != entries->size())
				__builtin_trap();
		}
	}
	static const uint8_t kKey[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	static const uint8_t kMeasure[32] = { 7 };
	cvm::ByteView key(kKey, 16), measure(kMeasure, 32);
	if (size >= SecretHeader::kSize) {
		auto header = SecretHeader::parse(in.first(SecretHeader::kSize));
		if (!header.ok() || header->serialize() != cvm::Bytes(in.begin(), in.begin() + SecretHeader::kSize))
			__builtin_trap();
		(void)openSecret(key, key, measure, in.first(SecretHeader::kSize), in.subspan(SecretHeader::kSize));
	} else {
		(void)SecretHeader::parse(in);
	}
	return 0;
}
