// SPDX-License-Identifier: Apache-2.0
//
// In the lean cvm-launch: the command groups that need libvirt, libsoup (the
// AS client) or libxml2 are not linked in. The process becomes
// cvm-launch-host (execv: same pid, file descriptors, environment and
// arguments), which holds every command. So the offline commands (sev, tdx,
// qmp) start without loading libvirt's ~50 shared libraries and running their
// constructors, and the host commands behave exactly as before.
#define G_LOG_DOMAIN "cvm-cli"

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <libgen.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "cvm-config.h"

namespace cvm::cli {

namespace {

constexpr const char *kHostName = "cvm-launch-host";

// Next to this executable (a build tree), else the installed one.
std::string hostExecutable()
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		std::string sibling = std::string(dirname(self)) + "/" + kHostName;
		if (access(sibling.c_str(), X_OK) == 0)
			return sibling;
	}
	return std::string(CVM_LIBEXECDIR) + "/cvm-launch/" + kHostName;
}

// argv[0] is "cvm-launch GROUP" (main.cpp); the host gets the original
// command line back: cvm-launch GROUP ARGS...
int forward(const char *group, int argc, char **argv)
{
	std::string exe = hostExecutable();
	std::vector<char *> args;
	args.push_back(const_cast<char *>("cvm-launch"));
	args.push_back(const_cast<char *>(group));
	for (int i = 1; i < argc; ++i)
		args.push_back(argv[i]);
	args.push_back(nullptr);
	fflush(stdout);
	fflush(stderr);
	execv(exe.c_str(), args.data());
	return fail("cannot run " + exe + " (it carries 'cvm-launch " + group + "'): " + std::strerror(errno),
		    kExitUsage);
}

} // namespace

int runStartCommand(int argc, char **argv)
{
	return forward("start", argc, argv);
}

int runQemuCommand(int argc, char **argv)
{
	return forward("qemu", argc, argv);
}

int runPlatformCommand(int argc, char **argv)
{
	return forward("platform", argc, argv);
}

int runHookCommand(int argc, char **argv)
{
	return forward("hook", argc, argv);
}

} // namespace cvm::cli
