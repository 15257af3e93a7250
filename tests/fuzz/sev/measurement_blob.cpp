// SPDX-License-Identifier: Apache-2.0
// Fuzzes QEMU's 48-byte launch measurement (raw and base64 as QMP reports it)
// and the SEV hashes table parser.
#include <cstdint>
#include <string_view>

#include "cvm/sev/kernel_hashes.h"
#include "cvm/sev/measurement.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	using namespace cvm::sev;
	cvm::ByteView in(data, size);
	static const uint8_t kTik[16] = { 9 };
	static const uint8_t kDigest[32] = { 3 };
	auto m = LaunchMeasurement::parse(in);
	if (m.ok()) {
		if (m->serialize() != cvm::Bytes(in.begin(), in.end()))
			__builtin_trap();
		(void)verifyMeasurement(cvm::ByteView(kTik, 16), { 1, 2, 3 }, 5, cvm::ByteView(kDigest, 32), *m);
	}
	auto b = LaunchMeasurement::fromBase64(std::string_view(reinterpret_cast<const char *>(data), size));
	if (b.ok() && LaunchMeasurement::fromBase64(b->toBase64()).value().serialize() != b->serialize())
		__builtin_trap();
	auto h = parseSevHashTable(in);
	if (h.ok() && parseSevHashTable(buildSevHashTable(*h)).value().kernel != h->kernel)
		__builtin_trap();
	return 0;
}
