// SPDX-License-Identifier: Apache-2.0
// Fuzzes the state directory's platform.ini: whatever parses must format
// and parse back to the same identity.
#include <cstdint>
#include <string_view>

#include "cvm/sim/platform.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	using namespace cvm::sim;
	auto id = parsePlatformIni(std::string_view(reinterpret_cast<const char *>(data), size));
	if (!id.ok())
		return 0;
	auto again = parsePlatformIni(formatPlatformIni(*id));
	if (!again.ok() || again->chipId != id->chipId || again->cbitpos != id->cbitpos ||
	    again->version.apiMajor != id->version.apiMajor || again->version.buildId != id->version.buildId ||
	    again->unsignedCek != id->unsignedCek)
		__builtin_trap();
	return 0;
}
