// SPDX-License-Identifier: Apache-2.0
//
// cvm-launch: attested launch of confidential VMs on libvirt/QEMU.
#include <cstdio>
#include <cstring>
#include <string>

#include <glib.h>

#include "cli.h"
#include "commands.h"

namespace {

struct CommandGroup {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
};

const CommandGroup kGroups[] = {
	{ "start", "attested launch of a libvirt domain", cvm::cli::runStartCommand },
	{ "qemu", "attested launch of QEMU driven over QMP (no libvirt)", cvm::cli::runQemuCommand },
	{ "platform", "the platform's SEV certificates, chip id and chain verdict", cvm::cli::runPlatformCommand },
	{ "sev", "SEV certificates, sessions, measurements and secrets (offline)", cvm::cli::runSevCommand },
	{ "tdx", "TDX reference values and quote verification (offline)", cvm::cli::runTdxCommand },
	{ "qmp", "send one QMP command to a QEMU monitor socket", cvm::cli::runQmpCommand },
	{ "hook", "install the libvirt hook", cvm::cli::runHookCommand },
};

void printUsage(FILE *out)
{
	fprintf(out, "Usage: cvm-launch COMMAND [OPTIONS...]\n\nCommands:\n");
	for (const auto &g : kGroups)
		fprintf(out, "  %-10s %s\n", g.name, g.summary);
	fprintf(out, "\nRun 'cvm-launch COMMAND --help' for the options of a command.\n");
}

} // namespace

int main(int argc, char **argv)
{
	g_set_prgname("cvm-launch");
	if (argc < 2) {
		printUsage(stderr);
		return cvm::cli::kExitUsage;
	}
	std::string name = argv[1];
	if (name == "--help" || name == "-h" || name == "help") {
		printUsage(stdout);
		return cvm::cli::kExitOk;
	}
	if (name == "--version") {
		printf("cvm-launch %s\n", CVM_VERSION);
		return cvm::cli::kExitOk;
	}
	for (const auto &g : kGroups) {
		if (name == g.name) {
			std::string prg = std::string("cvm-launch ") + g.name;
			argv[1] = const_cast<char *>(prg.c_str());
			g_set_prgname(prg.c_str());
			return g.run(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "cvm-launch: unknown command '%s'\n", name.c_str());
	printUsage(stderr);
	return cvm::cli::kExitUsage;
}
