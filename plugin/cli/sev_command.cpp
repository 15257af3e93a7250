// SPDX-License-Identifier: Apache-2.0
//
// cvm-launch sev <subcommand>: the dispatcher. The guest-owner subcommands
// (session, measure, validate) live in sev_measure_command.cpp and
// sev_validate_command.cpp, the certificate chain check in
// sev_chain_command.cpp.
#include <cstring>
#include <string>

#include "cli.h"
#include "commands.h"
#include "sev_chain_command.h"
#include "sev_measure_command.h"

namespace cvm::cli {

int runSevCommand(int argc, char **argv)
{
	struct Sub {
		const char *name;
		int (*run)(int, char **);
	};
	static const Sub kSubs[] = {
		// The guest-owner channel and measurement (sev_measure_command.h).
		{ "session", runSevSessionCommand },
		{ "measure", runSevMeasureCommand },
		{ "validate", runSevValidateCommand },
		// The platform's certificate chain (sev_chain_command.h).
		{ "verify-chain", runSevVerifyChainCommand },
	};
	const char *kNames = "session, measure, validate, verify-chain";
	if (argc < 2)
		return usage(argv[0], std::string("a subcommand is required: ") + kNames);
	for (const auto &s : kSubs) {
		if (std::strcmp(argv[1], s.name) == 0) {
			std::string prg = std::string(argv[0]) + " " + s.name;
			argv[1] = const_cast<char *>(prg.c_str());
			return s.run(argc - 1, argv + 1);
		}
	}
	return usage(argv[0], std::string("unknown subcommand ") + argv[1] + " (expected " + kNames + ")");
}

} // namespace cvm::cli
