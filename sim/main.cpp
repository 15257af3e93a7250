// SPDX-License-Identifier: Apache-2.0
//
// cvm-sev-sim: a simulated AMD SEV platform behind a QEMU-shaped process.
//   cvm-sev-sim init --state-dir D [--unsigned-cek]    create a platform
//   cvm-sev-sim [QEMU ARGUMENTS]                       run like qemu-system-x86_64
#include <cstring>
#include <string>

#include <glib.h>

#include "cvm/common/gptr.h"
#include "cvm/common/log.h"
#include "sim_process.h"

int main(int argc, char **argv)
{
	cvm::GCharPtr base(g_path_get_basename(argv[0]));
	g_set_prgname(base.get());
	cvm::LogOptions log;
	log.program = base.get();
	cvm::installLogWriter(log);
	if (argc >= 2 && strcmp(argv[1], "init") == 0)
		return cvm::sim::runInit(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-version") == 0)) {
		printf("QEMU emulator version 7.2.22 (cvm-sev-sim %s)\n", CVM_VERSION);
		return 0;
	}
	return cvm::sim::runQemuProcess(argc, argv);
}
