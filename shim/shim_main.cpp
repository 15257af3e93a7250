// SPDX-License-Identifier: Apache-2.0
//
// cvm-sev-shim: what libvirtd runs as its QEMU (see README.md). The
// command line is QEMU's; anything the shim has no business with (no QMP
// monitor to proxy, no SEV guest: -version, -help, …) is exec'ed straight
// into the real QEMU.
#define G_LOG_DOMAIN "cvm-shim"

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

#include "cvm/shim/launch_plan.h"
#include "qemu_process.h"
#include "shim_config.h"
#include "shim_runtime.h"

using namespace cvm;
using namespace cvm::shim;

namespace {

int fail(const std::string &message)
{
	std::fprintf(stderr, "cvm-sev-shim: %s\n", message.c_str());
	return 1;
}

} // namespace

int main(int argc, char **argv)
{
	auto config = loadShimConfig(argv[0]);
	if (!config)
		return fail(config.error().message());
	if (argc == 2 && std::string_view(argv[1]) == "--cvm-sev-shim-config") {
		// Not a QEMU option: what this shim (found under this name) would use.
		std::printf("qemu=%s\nstate-dir=%s\ntest-commands=%s\nconfig=%s\n", config->qemu.c_str(),
			    config->stateDir.c_str(), config->testCommands ? "true" : "false",
			    config->source.c_str());
		return 0;
	}
	std::vector<std::string> args(argv + 1, argv + argc);
	auto options = parseQemuArgv(args);
	if (!options) {
		// QEMU reports its own usage errors best.
		execQemu(config->qemu, argv);
		return fail(options.error().message());
	}
	auto plan = analyzeQemuArgv(std::move(options).value());
	if (!plan)
		return fail(plan.error().message());
	if (plan->monitors.empty() && !plan->sev) {
		Error e = execQemu(config->qemu, argv);
		return fail(e.message());
	}
	return runShim(*config, std::move(plan).value());
}
