// SPDX-License-Identifier: Apache-2.0
//
// The QEMU-shaped process: parse QEMU's arguments, load the platform, do
// what QEMU does for a SEV guest up to LAUNCH_MEASURE, then serve QMP until
// quit or a signal. Errors are printed the way QEMU prints them
// ("<prog>: <message>") and end the process with status 1.
#define G_LOG_DOMAIN "cvm-sim"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <csignal>
#include <fcntl.h>
#include <unistd.h>
#include <cstdlib>
#include <memory>
#include <vector>

#include <glib-unix.h>
#include <glib.h>

#include "cvm/common/file.h"
#include "cvm/common/gptr.h"
#include "cvm/sim/faults.h"
#include "cvm/sim/firmware_status.h"
#include "cvm/sim/guest_boot.h"
#include "cvm/sim/machine.h"
#include "cvm/sim/qmp_server.h"
#include "cvm/sim/sev_qmp_commands.h"
#include "sim_process.h"

namespace cvm::sim {

namespace {

constexpr uint32_t kDefaultCpuSignature = 0x800f12; // EPYC-v4

int die(const std::string &message)
{
	// QEMU prints multi-line failures one "prog: " line each.
	size_t start = 0;
	while (start <= message.size()) {
		size_t nl = message.find('\n', start);
		std::string line = message.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
		fprintf(stderr, "%s: %s\n", g_get_prgname(), line.c_str());
		if (nl == std::string::npos)
			break;
		start = nl + 1;
	}
	return 1;
}

struct Process {
	QemuOptions options;
	Faults faults;
	std::unique_ptr<Platform> platform;
	BootedGuest guest;
	SevQmpContext sev;
	QmpDispatcher dispatcher;
	std::unique_ptr<Machine> machine;
	std::vector<std::unique_ptr<QmpServer>> servers;
	GMainLoopPtr loop{ g_main_loop_new(nullptr, FALSE) };

	Status configure(int argc, char **argv);
	Status boot();
	Status serve();
	void emit(std::string_view name, JsonNode *data);
};

Status Process::configure(int argc, char **argv)
{
	std::vector<std::string> args(argv + 1, argv + argc);
	options = CVM_TRY(parseQemuCommandLine(args));
	for (const auto &f : options.faults)
		CVM_CHECK(addFaults(faults, f));
	if (const char *env = g_getenv(kFaultsEnv))
		CVM_CHECK(addFaults(faults, env));
	for (const auto &skipped : options.ignored)
		g_debug("ignored: %s", skipped.c_str());
	std::string dir = options.stateDir.value_or(toString(g_getenv(kStateDirEnv)));
	if (dir.empty())
		return Error(ErrorCode::InvalidArgument,
			     std::string("no simulated SEV platform: pass --state-dir DIR or set ") + kStateDirEnv +
				     " (create one with 'cvm-sev-sim init --state-dir DIR')");
	platform = CVM_TRY(Platform::load(dir));
	return {};
}

Status Process::boot()
{
	if (!options.sevGuest)
		return {};
	if (!options.firmware)
		return Error(ErrorCode::InvalidArgument,
			     "a SEV guest needs its firmware (-bios FILE or -drive if=pflash,unit=0,file=FILE)");
	GuestBootConfig config;
	config.sev = *options.sevGuest;
	config.firmware = *options.firmware;
	config.kernel = options.kernel;
	config.initrd = options.initrd;
	config.append = options.append;
	config.vcpus = options.smp;
	config.cpuSignature = options.cpuSignature.value_or(
		options.cpuModel ? cpuSignatureForModel(*options.cpuModel).value_or(kDefaultCpuSignature)
				 : kDefaultCpuSignature);
	config.corruptMeasurement = faults.wrongMeasurement;
	config.skipMeasure = faults.exitsAt("measure");
	guest = CVM_TRY(bootSevGuest(*platform, config));
	if (config.skipMeasure) {
		fprintf(stderr, "%s: fault knob exit-at=measure: exiting during LAUNCH_MEASURE\n", g_get_prgname());
		exit(1);
	}
	return {};
}

void Process::emit(std::string_view name, JsonNode *data)
{
	for (auto &s : servers)
		s->emitEvent(name, data);
}

Status Process::serve()
{
	sev.platform = platform.get();
	sev.launch = guest.launch.get();
	sev.secretAreaBase = guest.secretAreaBase;
	registerSevCommands(dispatcher, sev);
	machine = std::make_unique<Machine>(options.startPaused,
					    [this](std::string_view n, JsonNode *d) { emit(n, d); });
	GuestLaunch *launch = guest.launch.get();
	machine->onFirstRun = [launch]() -> Status {
		if (launch && launch->state() != SevState::Running)
			if (Status s = launch->finish(); !s) {
				fprintf(stderr, "%s: sev_launch_finish: LAUNCH_FINISH %s\n", g_get_prgname(),
					qemuFwErrorText(s.error()).c_str());
				exit(1);
			}
		return {};
	};
	if (!options.startPaused)
		CVM_CHECK(machine->onFirstRun());
	machine->registerCommands(
		dispatcher, [this]() { for (auto &s : servers) s->requestShutdownAfterReply(); },
		defaultQemuVersion(), options.name);
	for (const auto &ep : options.qmp) {
		auto server = std::make_unique<QmpServer>(dispatcher, QmpSessionOptions{}, faults);
		server->onShutdown = [this]() { g_main_loop_quit(loop.get()); };
		server->onFatalFault = [](const std::string &command) {
			fprintf(stderr, "%s: fault knob exit-at=%s: exiting\n", g_get_prgname(), command.c_str());
			_exit(1);
		};
		if (ep.fd >= 0)
			CVM_CHECK(server->adoptListener(UniqueFd(ep.fd)));
		else
			CVM_CHECK(server->listen(ep.path));
		servers.push_back(std::move(server));
	}
	return {};
}

// -daemonize: like QEMU, the parent exits once the monitor listens (libvirt
// waits for that before connecting), the child carries on in its own session.
Status daemonizeAndWritePid(const QemuOptions &options)
{
	auto writePid = [&](pid_t pid) -> Status {
		if (!options.pidfile)
			return {};
		std::string text = std::to_string(pid) + "\n";
		return writeFileAtomic(*options.pidfile, asBytes(text), 0600);
	};
	if (options.daemonize) {
		fflush(nullptr);
		pid_t pid = fork();
		if (pid < 0)
			return Error(ErrorCode::Io, std::string("fork: ") + strerror(errno));
		if (pid > 0) {
			// The pid file exists before the parent's exit says "ready".
			if (Status s = writePid(pid); !s) {
				kill(pid, SIGKILL);
				return s;
			}
			_exit(0);
		}
		setsid();
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
			close(null);
		}
	}
	return options.daemonize ? Status() : writePid(getpid());
}

// QEMU's termsig_handler keeps the signal and its sender (SA_SIGINFO); the
// main loop then reports it (qemu_kill_report) and shuts down. A pipe wakes
// the loop: the handler may only write(2).
struct TermSignal {
	int pipe[2] = { -1, -1 };
	volatile sig_atomic_t number = 0;
	volatile sig_atomic_t senderPid = 0;
};
TermSignal termSignal;

void onTermSignal(int sig, siginfo_t *info, void *)
{
	if (!termSignal.number) {
		termSignal.senderPid = info ? info->si_pid : 0;
		termSignal.number = sig;
	}
	int saved = errno;
	char byte = 1;
	ssize_t n = write(termSignal.pipe[1], &byte, 1);
	(void)n;
	errno = saved;
}

// qemu_get_pid_name: the first argument of the sender's command line.
std::string senderName(pid_t pid)
{
	gchar *text = nullptr;
	if (!g_file_get_contents(("/proc/" + std::to_string(pid) + "/cmdline").c_str(), &text, nullptr, nullptr))
		return "<unknown process>";
	GCharPtr owned(text);
	return text; // up to the first NUL
}

Status installTermSignals()
{
	GError *raw = nullptr;
	if (!g_unix_open_pipe(termSignal.pipe, FD_CLOEXEC, &raw)) {
		GErrorPtr err(raw);
		return Error(ErrorCode::Io, std::string("cannot create the signal pipe: ") + err->message);
	}
	g_unix_set_fd_nonblocking(termSignal.pipe[1], TRUE, nullptr);
	struct sigaction sa = {};
	sa.sa_sigaction = onTermSignal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (int sig : { SIGTERM, SIGINT, SIGHUP })
		if (sigaction(sig, &sa, nullptr) != 0)
			return Error(ErrorCode::Io, std::string("sigaction: ") + strerror(errno));
	return {};
}

gboolean onSignal(gint, GIOCondition, gpointer data)
{
	auto *p = static_cast<Process *>(data);
	int sig = termSignal.number;
	pid_t pid = termSignal.senderPid;
	if (pid == 0)
		fprintf(stderr, "%s: terminating on signal %d\n", g_get_prgname(), sig);
	else
		fprintf(stderr, "%s: terminating on signal %d from pid %d (%s)\n", g_get_prgname(), sig,
			static_cast<int>(pid), senderName(pid).c_str());
	p->machine->shutdown("host-signal");
	for (auto &s : p->servers)
		s->flush();
	g_main_loop_quit(p->loop.get());
	return G_SOURCE_REMOVE;
}

} // namespace

int runQemuProcess(int argc, char **argv)
{
	Process p;
	if (Status s = p.configure(argc, argv); !s)
		return die(s.error().message());
	if (Status s = p.boot(); !s)
		return die(s.error().message());
	if (Status s = p.serve(); !s)
		return die(s.error().message());
	if (Status s = daemonizeAndWritePid(p.options); !s)
		return die(s.error().message());
	if (Status s = installTermSignals(); !s)
		return die(s.error().message());
	g_unix_fd_add(termSignal.pipe[0], G_IO_IN, onSignal, &p);
	g_main_loop_run(p.loop.get());
	if (p.options.pidfile)
		unlink(p.options.pidfile->c_str());
	return 0;
}

} // namespace cvm::sim
