// SPDX-License-Identifier: Apache-2.0
//
// The QEMU-shaped process: parse QEMU's arguments, load the platform, do
// what QEMU does for a SEV guest up to LAUNCH_MEASURE, then serve QMP until
// quit or a signal. Errors are printed the way QEMU prints them
// ("<prog>: <message>") and end the process with status 1.
#define G_LOG_DOMAIN "cvm-sim"

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include <glib-unix.h>
#include <glib.h>

#include "cvm/common/file.h"
#include "cvm/common/gptr.h"
#include "cvm/sim/faults.h"
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
	int signal = 0;

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
				fprintf(stderr, "%s: sev_launch_finish: LAUNCH_FINISH ret=-1 (%s)\n", g_get_prgname(),
					s.error().message().c_str());
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

gboolean onSignal(gpointer data)
{
	auto *p = static_cast<Process *>(data);
	fprintf(stderr, "%s: terminating on signal %d\n", g_get_prgname(), p->signal);
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
	struct SignalSlot {
		Process *process;
		int number;
	};
	static SignalSlot slots[3];
	int numbers[] = { SIGTERM, SIGINT, SIGHUP };
	for (int i = 0; i < 3; ++i) {
		slots[i] = { &p, numbers[i] };
		g_unix_signal_add(numbers[i], +[](gpointer d) -> gboolean {
			auto *slot = static_cast<SignalSlot *>(d);
			slot->process->signal = slot->number;
			return onSignal(slot->process);
		}, &slots[i]);
	}
	g_main_loop_run(p.loop.get());
	return 0;
}

} // namespace cvm::sim
