// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-cli"

#include "tdx_launch.h"

#include <cstdio>

#include "cli.h"
#include "launch_common.h"
#include "cvm/plugin/libvirt_tdx_backend.h"

namespace cvm::cli {

Result<plugin::TdxLaunchOptions> tdxLaunchOptions(const plugin::Settings &settings, const std::string &server,
						  const std::string &vmId)
{
	plugin::TdxLaunchOptions o;
	o.server = server;
	o.vmId = vmId;
	if (!settings.tdxQgs.empty()) {
		auto qgs = tdx::parseSocketAddress(settings.tdxQgs);
		if (!qgs)
			return qgs.error().withContext("setting 'tdx-qgs'");
		o.qgs = std::move(qgs).value();
	}
	return o;
}

int launchTdDomain(plugin::LibvirtConnection &conn, const plugin::DomainXml &xml, plugin::TdxAttestationService &as,
		   plugin::LaunchJournal &journal, const plugin::TdxLaunchOptions &options, bool json, bool quiet)
{
	std::string name = xml.name();
	auto backend = plugin::LibvirtTdxBackend::create(conn, xml);
	if (!backend)
		return fail(backend.error());
	plugin::TdxLaunchStateMachine machine(**backend, as, journal, options);
	machine.setStepListener(progressPrinter(quiet));
	machine.setInterruptCheck(plugin::LaunchInterrupt::checker());
	if (!quiet && !json)
		fprintf(stderr, "cvm-launch: attested TD launch of '%s' (vm %s at %s)\n", name.c_str(),
			options.vmId.c_str(), options.server.c_str());
	auto outcome = machine.run();
	return reportOutcome(outcome, name, json);
}

} // namespace cvm::cli
