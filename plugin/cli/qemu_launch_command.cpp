// SPDX-License-Identifier: Apache-2.0
//
// cvm-launch qemu [OPTIONS] -- EMULATOR ARGS...: the attested launch without
// libvirt. EMULATOR is qemu-system-x86_64 or cvm-sev-sim; we add -S, the QMP
// monitor, the sev-guest object and confidential-guest-support. With
// --scheme intel-tdx: the TD launch (plugin/tdx_launch.h, qmp_tdx.cpp). After the
// resume the guest runs in the foreground (we wait for it and return its
// status) or, with --detach, on its own (its pid on stdout or in --pidfile).
#define G_LOG_DOMAIN "cvm-cli"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "launch_common.h"
#include "tdx_launch.h"
#include "cvm/common/file.h"
#include "cvm/plugin/as_service.h"
#include "cvm/plugin/interrupt.h"
#include "cvm/plugin/metadata.h"
#include "cvm/plugin/qmp_backend.h"

namespace cvm::cli {

namespace {

// No libvirt, no hook: nothing to record.
class NoJournal : public plugin::LaunchJournal
{
public:
	Status recordPending(std::string_view, ByteView) override { return {}; }
	Status recordRunning(std::string_view) override { return {}; }
	void clear() override {}
};

constexpr std::string_view kWorkDirPrefix = "cvm-launch-qemu-";

// A killed cvm-launch (SIGKILL: no chance to clean up) leaves its work dir
// behind (the monitor socket; the session files are gone once the emulator
// has read them). Work dirs are named cvm-launch-qemu-PID-XXXXXX: those of
// our user whose PID no longer exists are removed.
void removeStaleWorkDirs()
{
	std::string tmp = g_get_tmp_dir();
	DIR *d = opendir(tmp.c_str());
	if (!d)
		return;
	while (dirent *e = readdir(d)) {
		std::string_view n = e->d_name;
		if (n.substr(0, kWorkDirPrefix.size()) != kWorkDirPrefix)
			continue;
		std::string rest(n.substr(kWorkDirPrefix.size()));
		char *after = nullptr;
		long pid = strtol(rest.c_str(), &after, 10);
		if (pid <= 0 || !after || *after != '-' || (kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH))
			continue;
		std::string path = tmp + "/" + std::string(n);
		struct stat st;
		if (lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
			continue;
		if (auto r = removeTree(path); r)
			g_info("removed %s, left by a cvm-launch that was killed", path.c_str());
	}
	closedir(d);
}

struct QemuArgs {
	char *vm = nullptr, *policy = nullptr, *secretAddress = nullptr, *socket = nullptr, *pidfile = nullptr;
	char *log = nullptr, *ca = nullptr, *scheme = nullptr;
	gboolean json = FALSE, quiet = FALSE, detach = FALSE, kernelHashes = FALSE;
	~QemuArgs()
	{
		for (char *p : { vm, policy, secretAddress, socket, pidfile, log, ca, scheme })
			g_free(p);
	}
};

Result<plugin::LaunchOptions> launchOptions(const QemuArgs &a)
{
	plugin::LaunchOptions o;
	if (a.policy)
		o.expectedPolicy = static_cast<uint32_t>(CVM_TRY(plugin::parseUnsigned(a.policy, UINT32_MAX, "--policy")));
	if (a.secretAddress)
		o.secretAddress = CVM_TRY(plugin::parseUnsigned(a.secretAddress, UINT64_MAX, "--secret-address"));
	if (a.kernelHashes)
		o.kernelHashes = true;
	return o;
}

// Foreground: the guest's exit ends the launch at the AS too (no libvirt hook
// does it on this path).
int finish(plugin::QmpBackend &backend, plugin::AttestationService &as, const std::string &launchId,
	   const QemuArgs &a)
{
	if (!a.detach) {
		int rc = backend.wait();
		if (auto st = as.end(launchId, "the guest exited"); !st)
			g_message("telling the attestation server the launch ended: %s", st.error().message().c_str());
		return rc;
	}
	pid_t pid = backend.release();
	if (a.pidfile) {
		std::string text = std::to_string(pid) + "\n";
		if (auto st = writeFileAtomic(a.pidfile, asBytes(text)); !st)
			return fail(st.error());
	}
	if (!a.json)
		printf("%d\n", pid);
	return kExitOk;
}

int launch(std::vector<std::string> command, const QemuArgs &a, const SettingsOptions &opts)
{
	auto settings = opts.load();
	if (!settings)
		return fail(settings.error(), kExitUsage);
	auto options = launchOptions(a);
	if (!options)
		return fail(options.error(), kExitUsage);
	removeStaleWorkDirs();
	auto work = TempDir::create(std::string(kWorkDirPrefix) + std::to_string(getpid()) + "-");
	if (!work)
		return fail(work.error());
	auto client = makeAsClient(*settings, settings->server, a.ca ? a.ca : "");
	if (!client)
		return fail(client.error(), kExitUsage);
	plugin::ClientAttestationService as(std::move(client).value(), a.vm);
	plugin::QmpBackendOptions bo;
	bo.command = std::move(command);
	bo.workDir = work->path();
	bo.monitorSocket = a.socket ? a.socket : "";
	bo.stepTimeout = std::chrono::seconds(settings->stepTimeout);
	bo.outlivesUs = a.detach;
	bo.logFile = a.log ? a.log : (a.detach ? "/dev/null" : "");
	plugin::QmpBackend backend(bo);
	NoJournal journal;
	bool tdx = a.scheme && std::string_view(a.scheme) == "intel-tdx";
	if (!a.quiet && !a.json)
		fprintf(stderr, "cvm-launch: attested %slaunch of %s (vm %s at %s)\n", tdx ? "TD " : "",
			bo.command[0].c_str(), a.vm, settings->server.c_str());
	int rc;
	std::string launchId;
	{
		// A SIGINT/SIGTERM during the launch rolls it back (afterwards,
		// in the foreground, the guest dies with us as before).
		plugin::LaunchInterrupt interrupt;
		as.setInterruptCheck(plugin::LaunchInterrupt::checker());
		plugin::LaunchOutcome outcome;
		if (tdx) {
			auto tdxOptions = tdxLaunchOptions(*settings, settings->server, a.vm);
			if (!tdxOptions)
				return fail(tdxOptions.error(), kExitUsage);
			plugin::TdxLaunchStateMachine machine(backend, as, journal, *tdxOptions);
			machine.setStepListener(progressPrinter(a.quiet));
			machine.setInterruptCheck(plugin::LaunchInterrupt::checker());
			outcome = machine.run();
		} else {
			plugin::LaunchStateMachine machine(backend, as, journal, *options);
			machine.setStepListener(progressPrinter(a.quiet));
			machine.setInterruptCheck(plugin::LaunchInterrupt::checker());
			outcome = machine.run();
		}
		rc = reportOutcome(outcome, a.vm, a.json);
		launchId = outcome.launchId;
	}
	if (rc != kExitOk)
		return rc;
	return finish(backend, as, launchId, a);
}

} // namespace

int runQemuCommand(int argc, char **argv)
{
	std::vector<std::string> command;
	for (int i = 1; i < argc; ++i)
		if (strcmp(argv[i], "--") == 0) {
			command.assign(argv + i + 1, argv + argc);
			argc = i;
			break;
		}
	QemuArgs a;
	SettingsOptions opts;
	std::vector<GOptionEntry> entries = {
		{ "vm", 0, 0, G_OPTION_ARG_STRING, &a.vm, "the VM's id at the attestation server (required)", "ID" },
		{ "scheme", 0, 0, G_OPTION_ARG_STRING, &a.scheme, "amd-sev (default) or intel-tdx (the VM's registration)", "SCHEME" },
		{ "policy", 0, 0, G_OPTION_ARG_STRING, &a.policy, "expected guest policy (the AS's answer must match)", "N" },
		{ "secret-address", 0, 0, G_OPTION_ARG_STRING, &a.secretAddress, "GPA for the secret (default OVMF's)", "GPA" },
		{ "kernel-hashes", 0, 0, G_OPTION_ARG_NONE, &a.kernelHashes, "measure -kernel/-initrd/-append (kernel-hashes=on)", nullptr },
		{ "qmp-socket", 0, 0, G_OPTION_ARG_FILENAME, &a.socket, "the guest's QMP socket (default: private, removed)", "PATH" },
		{ "detach", 0, 0, G_OPTION_ARG_NONE, &a.detach, "leave the guest running and exit (prints its pid)", nullptr },
		{ "pidfile", 0, 0, G_OPTION_ARG_FILENAME, &a.pidfile, "with --detach: write the guest's pid here", "FILE" },
		{ "log", 0, 0, G_OPTION_ARG_FILENAME, &a.log, "the emulator's stdout/stderr", "FILE" },
		{ "ca", 0, 0, G_OPTION_ARG_FILENAME, &a.ca, "CA bundle for the attestation server", "FILE" },
		{ "json", 0, 0, G_OPTION_ARG_NONE, &a.json, "print one JSON result object on stdout", nullptr },
		{ "quiet", 'q', 0, G_OPTION_ARG_NONE, &a.quiet, "no progress lines", nullptr },
	};
	opts.addEntries(entries);
	entries.push_back({});
	if (!parseOptions("cvm-launch qemu", "-- EMULATOR [ARGS...]",
			  "Attested SEV or TDX launch of QEMU (or cvm-sev-sim) over QMP, without libvirt.", entries.data(), argc,
			  argv))
		return kExitUsage;
	if (argc != 1)
		return usage("cvm-launch qemu", "unexpected argument '" + std::string(argv[1]) + "' (emulator arguments go after --)");
	if (command.empty())
		return usage("cvm-launch qemu", "expected -- EMULATOR [ARGS...]");
	if (!a.vm || !*a.vm)
		return usage("cvm-launch qemu", "--vm ID is required");
	std::string scheme = a.scheme ? a.scheme : "amd-sev";
	if (scheme != "amd-sev" && scheme != "intel-tdx")
		return usage("cvm-launch qemu", "--scheme must be amd-sev or intel-tdx, not '" + scheme + "'");
	if (scheme == "intel-tdx" && (a.policy || a.secretAddress || a.kernelHashes))
		return usage("cvm-launch qemu", "--policy, --secret-address and --kernel-hashes apply to amd-sev only "
						"(a TD's configuration comes from its registration at the attestation server)");
	return launch(std::move(command), a, opts);
}

} // namespace cvm::cli
