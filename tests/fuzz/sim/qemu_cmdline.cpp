// SPDX-License-Identifier: Apache-2.0
// Fuzzes the QEMU command line the simulator accepts: the input is argv split
// at NUL bytes; the whole input is also tried as one -object value and as a
// keyval string.
#include <cstdint>
#include <string>
#include <vector>

#include "cvm/sim/qemu_options.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	using namespace cvm::sim;
	std::string in(reinterpret_cast<const char *>(data), size);
	std::vector<std::string> args;
	size_t start = 0;
	while (start <= in.size()) {
		size_t nul = in.find('\0', start);
		args.push_back(in.substr(start, nul == std::string::npos ? std::string::npos : nul - start));
		if (nul == std::string::npos)
			break;
		start = nul + 1;
	}
	(void)parseQemuCommandLine(args);
	(void)parseObjectOption(in);
	auto kv = parseKeyval(in, true);
	if (kv.ok())
		(void)kv->get("id");
	(void)cpuSignatureForModel(in);
	return 0;
}
