// SPDX-License-Identifier: Apache-2.0
//
// cvm-launch start DOMAIN: the attested launch of a libvirt domain guarded by
// <cvm:launch> metadata (plugin/launch.h with the libvirt backend; a domain
// with scheme="intel-tdx" takes the TD launch of plugin/tdx_launch.h).
#define G_LOG_DOMAIN "cvm-cli"

#include <csignal>
#include <cstdio>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "launch_common.h"
#include "tdx_launch.h"
#include "cvm/common/file.h"
#include "cvm/plugin/as_service.h"
#include "cvm/plugin/interrupt.h"
#include "cvm/plugin/launch_records.h"
#include "cvm/plugin/libvirt_backend.h"

namespace cvm::cli {

namespace {

int exitCodeOf(const Error &e)
{
	return e.code() == ErrorCode::Timeout || e.code() == ErrorCode::Disconnected ? kExitUsage : kExitFailure;
}

// The launch lock of the domain, or why not (naming the cvm-launch that has it).
Result<UniqueFd> lockLaunch(plugin::LaunchRecords &records, const std::string &uuid, const std::string &name)
{
	auto lock = records.lock(uuid);
	if (lock || lock.error().code() != ErrorCode::Conflict)
		return lock;
	std::string who;
	if (auto rec = records.read(uuid); rec && rec->has_value() && (*rec)->pid > 0)
		who = " (pid " + std::to_string((*rec)->pid) + ")";
	return Error(ErrorCode::Conflict, "domain '" + name + "' is being launched by another cvm-launch" + who +
						  "; nothing was done");
}

// A record whose lock was free: left by a cvm-launch that died (or could not
// destroy its guest) between the start and the resume, or by a launch whose
// guest stopped unseen. Destroy the paused guest it left (only one running
// that launch's session), void its launch, forget it.
Status cleanUpStaleRecord(plugin::LaunchRecords &records, plugin::LibvirtBackend &backend,
			  const plugin::Settings &settings, const std::string &name)
{
	std::string uuid = backend.xml().uuid();
	auto rec = CVM_TRY(records.read(uuid));
	if (!rec)
		return {};
	if (rec->state == plugin::RecordState::Running) {
		if (CVM_TRY(backend.isActive()))
			return Error(ErrorCode::Conflict, "domain '" + name + "' is already running");
	} else {
		g_message("domain '%s': launch %s was interrupted (%s): destroying what it left", name.c_str(),
			  rec->launchId.c_str(), std::string(plugin::recordStateName(rec->state)).c_str());
		auto session = fromBase64(rec->session);
		if (!session)
			return session.error().withContext(records.pathFor(uuid));
		CVM_CHECK(backend.destroyLaunch(*session));
	}
	if (auto as = makeAsClient(settings, rec->server, rec->caFile); as) {
		if (auto st = (*as)->end(rec->vmId, rec->launchId, "interrupted launch cleaned up"); !st)
			g_message("voiding the interrupted launch %s: %s", rec->launchId.c_str(),
				  st.error().message().c_str());
	}
	return records.remove(uuid);
}

struct StartArgs {
	char *connect = nullptr;
	gboolean json = FALSE, quiet = FALSE;
	int delay = 0;
	~StartArgs() { g_free(connect); }
};

// Everything before the launch: the domain, its metadata, the lock, the stale record.
struct Prepared {
	std::unique_ptr<plugin::LibvirtBackend> backend;
	plugin::LaunchMetadata metadata;
	UniqueFd lock;
};

Result<Prepared> prepare(const std::string &name, const std::string &uri, const plugin::Settings &settings,
			 plugin::LaunchRecords &records)
{
	Prepared p;
	p.backend = CVM_TRY(plugin::LibvirtBackend::open(uri, name, std::chrono::seconds(settings.stepTimeout)));
	const auto &xml = p.backend->xml();
	auto md = xml.metadata();
	if (!md)
		return md.error().withContext("domain '" + name + "'");
	if (!md->has_value())
		return Error(ErrorCode::InvalidArgument,
			     "domain '" + name + "' has no <cvm:launch> metadata (docs/domain-metadata.md): it is not an "
			     "attested domain; start it with 'virsh start " + name + "'");
	p.metadata = **md;
	p.lock = CVM_TRY(lockLaunch(records, xml.uuid(), name));
	CVM_CHECK(cleanUpStaleRecord(records, *p.backend, settings, name));
	if (CVM_TRY(p.backend->isActive()))
		return Error(ErrorCode::Conflict, "domain '" + name + "' is already running");
	return p;
}

int launchDomain(const std::string &name, const StartArgs &args, const SettingsOptions &opts)
{
	auto settings = opts.load();
	if (!settings)
		return fail(settings.error(), kExitUsage);
	std::string uri = args.connect ? args.connect : settings->connectUri;
	// A libvirtd that went away must be an error of the call, not a SIGPIPE.
	signal(SIGPIPE, SIG_IGN);
	plugin::LaunchRecords records(settings->stateDir);
	auto p = prepare(name, uri, *settings, records);
	if (!p)
		return fail(p.error(), exitCodeOf(p.error()));
	plugin::LibvirtBackend &backend = *p->backend;
	const auto &xml = backend.xml();
	const plugin::LaunchMetadata &m = p->metadata;
	std::string server = opts.given("server") || m.server.empty() ? settings->server : m.server;
	std::string vmId = plugin::effectiveVmId(m, xml.uuid());

	auto client = makeAsClient(*settings, server, m.caFile);
	if (!client)
		return fail(client.error(), kExitUsage);
	plugin::ClientAttestationService as(std::move(client).value(), vmId);
	plugin::LaunchRecord base;
	base.uuid = xml.uuid();
	base.domain = xml.name();
	base.server = server;
	base.caFile = m.caFile;
	base.vmId = vmId;
	base.pid = getpid();
	plugin::FileLaunchJournal journal(records, base, settings->pendingTimeout);
	if (m.scheme == plugin::SevScheme::IntelTdx) {
		auto tdxOptions = tdxLaunchOptions(*settings, server, vmId);
		if (!tdxOptions)
			return fail(tdxOptions.error(), kExitUsage);
		plugin::LaunchInterrupt interrupt;
		backend.setInterruptCheck(plugin::LaunchInterrupt::checker());
		return launchTdDomain(backend.connection(), xml, as, journal, *tdxOptions, args.json, args.quiet);
	}
	bool kernelHashes = m.kernelHashes.value_or(xml.directKernelBoot());
	plugin::LaunchStateMachine machine(backend, as, journal,
					   { m.policy, kernelHashes ? std::optional<bool>(true) : m.kernelHashes,
					     m.secretAddress });
	machine.setStepListener(progressPrinter(args.quiet));
	// From here a SIGINT/SIGTERM rolls the launch back instead of killing us.
	plugin::LaunchInterrupt interrupt;
	machine.setInterruptCheck(plugin::LaunchInterrupt::checker());
	backend.setInterruptCheck(plugin::LaunchInterrupt::checker());
	as.setInterruptCheck(plugin::LaunchInterrupt::checker());
	if (!args.quiet && !args.json)
		fprintf(stderr, "cvm-launch: attested launch of '%s' (vm %s at %s)\n", name.c_str(), vmId.c_str(),
			server.c_str());
	auto outcome = machine.run();
	int rc = reportOutcome(outcome, name, args.json);
	if (outcome.recordKept)
		fprintf(stderr,
			"cvm-launch: %s: the guest could not be confirmed destroyed; its launch record %s stays so that "
			"'cvm-launch start %s' (or the libvirt hook, when the guest stops) can finish the cleanup\n",
			name.c_str(), records.pathFor(xml.uuid()).c_str(), name.c_str());
	return rc;
}

} // namespace

int runStartCommand(int argc, char **argv)
{
	StartArgs args;
	SettingsOptions opts;
	std::vector<GOptionEntry> entries = {
		{ "connect-uri", 'c', 0, G_OPTION_ARG_STRING, &args.connect, "libvirt connection URI", "URI" },
		{ "json", 0, 0, G_OPTION_ARG_NONE, &args.json, "print one JSON result object on stdout", nullptr },
		{ "quiet", 'q', 0, G_OPTION_ARG_NONE, &args.quiet, "no progress lines", nullptr },
		{ "delay", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, &args.delay,
		  "wait before starting (the hook's hand-over waits for libvirt's refused job)", "SECONDS" },
	};
	opts.addEntries(entries);
	entries.push_back({});
	if (!parseOptions("cvm-launch start", "DOMAIN", "Attested SEV (or intel-tdx) launch of a libvirt domain with <cvm:launch> metadata.",
			  entries.data(), argc, argv))
		return kExitUsage;
	if (argc != 2)
		return usage("cvm-launch start", "expected exactly one DOMAIN (name or UUID)");
	if (args.delay > 0)
		sleep(static_cast<unsigned>(std::min(args.delay, 60)));
	return launchDomain(argv[1], args, opts);
}

} // namespace cvm::cli
