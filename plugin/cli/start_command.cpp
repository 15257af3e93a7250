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
#include "cvm/plugin/as_service.h"
#include "cvm/plugin/launch_records.h"
#include "cvm/plugin/libvirt_backend.h"

namespace cvm::cli {

namespace {

bool processAlive(pid_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

// A record left by a cvm-launch that died between the start and the resume:
// destroy the paused guest it left, void its launch, forget it.
Status cleanUpStaleRecord(plugin::LaunchRecords &records, plugin::LibvirtBackend &backend,
			  const plugin::Settings &settings, const std::string &name)
{
	std::string uuid = backend.xml().uuid();
	auto rec = CVM_TRY(records.read(uuid));
	if (!rec)
		return {};
	if (rec->pid != getpid() && processAlive(rec->pid) && rec->state != plugin::RecordState::Running)
		return Error(ErrorCode::Conflict, "domain '" + name + "' is being launched by cvm-launch (pid " +
							  std::to_string(rec->pid) + ")");
	if (rec->state == plugin::RecordState::Running && backend.isActive())
		return Error(ErrorCode::Conflict, "domain '" + name + "' is already running");
	if (backend.isActive()) {
		g_message("domain '%s' was left paused by an interrupted launch (%s): destroying it", name.c_str(),
			  rec->launchId.c_str());
		CVM_CHECK(backend.destroy());
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

int launchDomain(const std::string &name, const StartArgs &args, const SettingsOptions &opts)
{
	auto settings = opts.load();
	if (!settings)
		return fail(settings.error(), kExitUsage);
	std::string uri = args.connect ? args.connect : settings->connectUri;
	auto conn = plugin::openLibvirt(uri);
	if (!conn)
		return fail(conn.error(), kExitUsage);
	auto backend = plugin::LibvirtBackend::open(conn->get(), name);
	if (!backend)
		return fail(backend.error());
	const auto &xml = (*backend)->xml();
	auto md = xml.metadata();
	if (!md)
		return fail("domain '" + name + "': " + md.error().message());
	if (!md->has_value())
		return fail("domain '" + name + "' has no <cvm:launch> metadata (docs/domain-metadata.md): "
			    "it is not an attested domain; start it with 'virsh start " + name + "'");
	const plugin::LaunchMetadata &m = **md;
	std::string server = opts.given("server") || m.server.empty() ? settings->server : m.server;
	std::string vmId = plugin::effectiveVmId(m, xml.uuid());

	plugin::LaunchRecords records(settings->stateDir);
	if (auto st = cleanUpStaleRecord(records, **backend, *settings, name); !st)
		return fail(st.error());
	if ((*backend)->isActive())
		return fail("domain '" + name + "' is already running");

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
		return launchTdDomain(conn->get(), xml, as, journal, *tdxOptions, args.json, args.quiet);
	}
	bool kernelHashes = m.kernelHashes.value_or(xml.directKernelBoot());
	plugin::LaunchStateMachine machine(**backend, as, journal,
					   { m.policy, kernelHashes ? std::optional<bool>(true) : m.kernelHashes,
					     m.secretAddress });
	machine.setStepListener(progressPrinter(args.quiet));
	if (!args.quiet && !args.json)
		fprintf(stderr, "cvm-launch: attested launch of '%s' (vm %s at %s)\n", name.c_str(), vmId.c_str(),
			server.c_str());
	auto outcome = machine.run();
	return reportOutcome(outcome, name, args.json);
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
