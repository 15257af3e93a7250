// SPDX-License-Identifier: Apache-2.0
//
// The shim's argv parsing: input is NUL-separated argv elements (what libvirtd
// or an admin hands the emulator). Parse, analyse, rewrite; nothing may crash.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cvm/shim/launch_plan.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	std::vector<std::string> argv;
	std::string cur;
	for (size_t i = 0; i < size; ++i) {
		if (data[i] == 0) {
			argv.push_back(std::move(cur));
			cur.clear();
		} else {
			cur += static_cast<char>(data[i]);
		}
	}
	argv.push_back(std::move(cur));
	auto options = cvm::shim::parseQemuArgv(argv);
	if (!options)
		return 0;
	for (const auto &o : *options) {
		if (!o.value)
			continue;
		auto s = cvm::shim::OptionString::parse(*o.value, "type", true);
		if (s) {
			(void)s->format();
			(void)s->getUnsigned("size", UINT64_MAX);
			(void)s->getBool("server");
		}
	}
	auto plan = cvm::shim::analyzeQemuArgv(std::move(options).value());
	if (!plan)
		return 0;
	std::vector<int> fds(plan->monitors.size(), 3);
	(void)cvm::shim::rewriteForQemu(*plan, fds);
	return 0;
}
