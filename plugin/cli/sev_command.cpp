// SPDX-License-Identifier: Apache-2.0
// TEMPORARY dispatcher until the certificate half of sev/ lands (it owns this
// file): routes the guest-owner subcommands to sev_measure_command.cpp and
// sev_validate_command.cpp.
#include <cstring>
#include <string>

#include "cli.h"
#include "commands.h"
#include "sev_measure_command.h"

namespace cvm::cli {

int runSevCommand(int argc, char **argv)
{
	struct Sub {
		const char *name;
		int (*run)(int, char **);
	};
	static const Sub kSubs[] = {
		{ "session", runSevSessionCommand },
		{ "measure", runSevMeasureCommand },
		{ "validate", runSevValidateCommand },
	};
	if (argc < 2)
		return usage(argv[0], "a subcommand is required: session, measure, validate");
	for (const auto &s : kSubs) {
		if (std::strcmp(argv[1], s.name) == 0) {
			std::string prg = std::string(argv[0]) + " " + s.name;
			argv[1] = const_cast<char *>(prg.c_str());
			return s.run(argc - 1, argv + 1);
		}
	}
	return usage(argv[0], std::string("unknown subcommand ") + argv[1]);
}

} // namespace cvm::cli
