// SPDX-License-Identifier: Apache-2.0
//
// cvm-owner: register, show, revoke and audit VMs at cvm-attestd; end launches.
#define G_LOG_DOMAIN "cvm-owner"

#include <cstdio>
#include <cstring>
#include <string>

#include <glib.h>

#include "commands.h"

namespace {

void usage(FILE *out)
{
	fprintf(out,
		"Usage: cvm-owner COMMAND --server URL --token-file F [OPTIONS]\n"
		"\n"
		"The guest owner's side of cvm-attestd.\n"
		"\n"
		"Commands:\n"
		"  register --vm ID --policy N (--launch-digest HEX... | --firmware F [...]) [--secret NAME:FILE]...\n"
		"  show     --vm ID\n"
		"  revoke   --vm ID\n"
		"  audit    --vm ID\n"
		"  end      --vm ID --launch ID [--reason TEXT]\n"
		"\n"
		"Run 'cvm-owner COMMAND --help' for a command's options.\n");
}

} // namespace

int main(int argc, char **argv)
{
	g_set_prgname("cvm-owner");
	if (argc < 2) {
		usage(stderr);
		return cvm::owner::kExitUsage;
	}
	std::string command = argv[1];
	if (command == "--help" || command == "-h" || command == "help") {
		usage(stdout);
		return cvm::owner::kExitOk;
	}
	if (command == "--version") {
		printf("cvm-owner %s\n", CVM_VERSION);
		return cvm::owner::kExitOk;
	}
	// The command's own parser sees "cvm-owner COMMAND" as argv[0].
	argv[1] = argv[0];
	--argc;
	++argv;
	if (command == "register")
		return cvm::owner::runRegister(argc, argv);
	if (command == "show")
		return cvm::owner::runShow(argc, argv);
	if (command == "revoke")
		return cvm::owner::runRevoke(argc, argv);
	if (command == "audit")
		return cvm::owner::runAudit(argc, argv);
	if (command == "end")
		return cvm::owner::runEnd(argc, argv);
	fprintf(stderr, "cvm-owner: unknown command '%s'\n", command.c_str());
	usage(stderr);
	return cvm::owner::kExitUsage;
}
