// SPDX-License-Identifier: Apache-2.0
//
// cvm-launch hook install | end
//
//  install  links the hook (cvm-launch-hook) into /etc/libvirt/hooks/qemu.d/;
//           libvirtd only runs hooks that existed when it started, so a new
//           install says to restart it.
//  end      what the hook's `release end` runs detached: tells the AS that a
//           launch ended, bounded by end-timeout.
#define G_LOG_DOMAIN "cvm-cli"

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <libgen.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "cvm-config.h"
#include "launch_common.h"
#include "cvm/common/file.h"

namespace cvm::cli {

namespace {

std::string defaultHookPath()
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		std::string sibling = std::string(dirname(self)) + "/cvm-launch-hook";
		if (access(sibling.c_str(), X_OK) == 0)
			return sibling;
	}
	return std::string(CVM_LIBEXECDIR) + "/cvm-launch/cvm-launch-hook";
}

int install(int argc, char **argv)
{
	char *dir = nullptr, *hook = nullptr;
	std::vector<GOptionEntry> entries = {
		{ "hook-dir", 0, 0, G_OPTION_ARG_FILENAME, &dir, "libvirt's QEMU hook directory", "DIR" },
		{ "hook", 0, 0, G_OPTION_ARG_FILENAME, &hook, "the hook to link (default: the installed one)", "PATH" },
		{},
	};
	if (!parseOptions("cvm-launch hook install", "", "Install the cvm-launch libvirt hook.", entries.data(), argc,
			  argv))
		return kExitUsage;
	std::string hookDir = dir ? dir : "/etc/libvirt/hooks/qemu.d";
	std::string target = hook ? hook : defaultHookPath();
	g_free(dir);
	g_free(hook);
	if (access(target.c_str(), X_OK) != 0)
		return fail("the hook " + target + " is not executable: " + strerror(errno));
	if (auto st = makeDirectories(hookDir, 0755); !st)
		return fail(st.error());
	std::string link = hookDir + "/50-cvm-launch";
	bool existed = access(link.c_str(), F_OK) == 0;
	std::string tmp = link + ".tmp";
	unlink(tmp.c_str());
	if (symlink(target.c_str(), tmp.c_str()) != 0 || rename(tmp.c_str(), link.c_str()) != 0)
		return fail("cannot install " + link + ": " + strerror(errno));
	printf("installed %s -> %s\n", link.c_str(), target.c_str());
	if (!existed)
		printf("libvirtd runs only hooks that existed when it started: restart it "
		       "(systemctl restart libvirtd, or virtqemud) before relying on the hook\n");
	return kExitOk;
}

int end(int argc, char **argv)
{
	char *server = nullptr, *vm = nullptr, *launch = nullptr, *reason = nullptr, *ca = nullptr;
	SettingsOptions opts;
	std::vector<GOptionEntry> entries = {
		{ "as", 0, 0, G_OPTION_ARG_STRING, &server, "attestation server URL", "URL" },
		{ "vm", 0, 0, G_OPTION_ARG_STRING, &vm, "VM id at the AS", "ID" },
		{ "launch-id", 0, 0, G_OPTION_ARG_STRING, &launch, "the launch that ended", "ID" },
		{ "reason", 0, 0, G_OPTION_ARG_STRING, &reason, "why (for the audit trail)", "TEXT" },
		{ "ca", 0, 0, G_OPTION_ARG_FILENAME, &ca, "CA bundle for the AS", "FILE" },
	};
	opts.addEntries(entries);
	entries.push_back({});
	if (!parseOptions("cvm-launch hook end", "", "Tell the attestation server a launch ended (run by the hook).",
			  entries.data(), argc, argv))
		return kExitUsage;
	std::string s = server ? server : "", v = vm ? vm : "", l = launch ? launch : "";
	std::string r = reason ? reason : "domain stopped", c = ca ? ca : "";
	for (char *p : { server, vm, launch, reason, ca })
		g_free(p);
	if (s.empty() || v.empty() || l.empty())
		return usage("cvm-launch hook end", "--as, --vm and --launch-id are required");
	auto settings = opts.load();
	if (!settings)
		return fail(settings.error(), kExitUsage);
	settings->asTimeout = settings->endTimeout;
	auto client = makeAsClient(*settings, s, c);
	if (!client)
		return fail(client.error(), kExitUsage);
	if (auto st = (*client)->end(v, l, r); !st)
		return fail(st.error());
	return kExitOk;
}

} // namespace

int runHookCommand(int argc, char **argv)
{
	if (argc < 2)
		return usage("cvm-launch hook", "expected 'install' or 'end'");
	std::string sub = argv[1];
	std::string prg = "cvm-launch hook " + sub;
	argv[1] = const_cast<char *>(prg.c_str());
	if (sub == "install")
		return install(argc - 1, argv + 1);
	if (sub == "end")
		return end(argc - 1, argv + 1);
	return usage("cvm-launch hook", "unknown subcommand '" + sub + "' (expected install or end)");
}

} // namespace cvm::cli
