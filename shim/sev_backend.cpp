// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-shim"

#include "sev_backend.h"

#include <glib.h>

#include "cvm/sim/guest_boot.h"
#include "cvm/sim/qemu_options.h"
#include "cvm/sim/sev_qmp_commands.h"

namespace cvm::shim {

namespace {

constexpr uint32_t kDefaultCpuSignature = 0x800f12; // EPYC-v4, as the simulator

// The SEV commands a SEV guest's monitor answers from the simulator; a probe
// or a plain domain only gets query-sev-capabilities (what the host offers),
// everything else stays QEMU's.
bool interceptedFor(const std::string &name, bool sevGuest)
{
	if (name == "query-sev-capabilities")
		return true;
	return sevGuest;
}

class SimBackend : public SevBackend, public CommandFilter
{
public:
	Status init(const ShimConfig &config, const LaunchPlan &plan);
	CommandFilter &filter() override { return *this; }
	Disposition filter(const qmp::Command &c) override;

private:
	Status boot(const SevGuestSpec &spec);
	Status finishLaunch();

	std::unique_ptr<sim::Platform> platform_;
	sim::BootedGuest guest_;
	sim::SevQmpContext context_;
	sim::QmpDispatcher dispatcher_;
};

sim::GuestBootConfig bootConfig(const SevGuestSpec &spec)
{
	sim::GuestBootConfig c;
	c.sev.id = spec.id;
	c.sev.policy = spec.policy;
	c.sev.cbitpos = spec.cbitpos;
	c.sev.reducedPhysBits = spec.reducedPhysBits;
	if (!spec.dhCertFile.empty())
		c.sev.dhCertFile = spec.dhCertFile;
	if (!spec.sessionFile.empty())
		c.sev.sessionFile = spec.sessionFile;
	if (!spec.sevDevice.empty())
		c.sev.sevDevice = spec.sevDevice;
	c.sev.kernelHashes = spec.kernelHashes;
	c.firmware = spec.firmware;
	if (!spec.kernel.empty())
		c.kernel = spec.kernel;
	if (!spec.initrd.empty())
		c.initrd = spec.initrd;
	if (!spec.cmdline.empty())
		c.append = spec.cmdline;
	c.vcpus = spec.vcpus;
	c.cpuSignature = sim::cpuSignatureForModel(spec.cpuModel).value_or(kDefaultCpuSignature);
	return c;
}

Status SimBackend::boot(const SevGuestSpec &spec)
{
	auto booted = sim::bootSevGuest(*platform_, bootConfig(spec));
	if (!booted)
		return Error(booted.error().code(), booted.error().message());
	guest_ = std::move(booted).value();
	g_info("SEV guest launched: policy 0x%x, %u vCPU(s), firmware %s", spec.policy, spec.vcpus,
	       spec.firmware.c_str());
	return {};
}

Status SimBackend::finishLaunch()
{
	if (Status s = context_.launch->finish(); !s)
		return Error(s.error().code(), "sev_launch_finish: " + s.error().message());
	g_info("LAUNCH_FINISH: the SEV guest runs");
	return {};
}

Status SimBackend::init(const ShimConfig &config, const LaunchPlan &plan)
{
	auto platform = sim::Platform::load(config.stateDir);
	if (!platform) {
		if (plan.sev)
			return Error(platform.error().code(),
				     "sev_kvm_init: the simulated SEV platform is not available: " +
					     platform.error().message());
		// QEMU on a host without SEV: the probe finds no SEV (as QEMU says).
		g_warning("no simulated SEV platform (%s): SEV is not offered",
			  platform.error().message().c_str());
	} else {
		platform_ = std::move(platform).value();
		context_.platform = platform_.get();
	}
	if (plan.sev) {
		CVM_CHECK(boot(*plan.sev));
		context_.launch = guest_.launch.get();
		context_.secretAreaBase = guest_.secretAreaBase;
		// Without -S QEMU runs the guest as soon as it is built, and its
		// run-state change runs LAUNCH_FINISH: no secret can be injected.
		if (!plan.startPaused)
			CVM_CHECK(finishLaunch());
	}
	context_.testCommands = config.testCommands && plan.sev;
	sim::registerSevCommands(dispatcher_, context_);
	return {};
}

Disposition SimBackend::filter(const qmp::Command &c)
{
	if (c.name == "cont" && context_.launch && context_.launch->state() == sim::SevState::LaunchSecret) {
		// QEMU runs LAUNCH_FINISH when the VM first runs; a refusal keeps it paused.
		if (Status s = finishLaunch(); !s)
			return Disposition::reply(Error(ErrorCode::Remote, s.error().message(), "GenericError"));
		return Disposition::forward();
	}
	if (!context_.platform || !dispatcher_.has(c.name) || !interceptedFor(c.name, context_.launch))
		return Disposition::forward();
	JsonObject *args = c.arguments ? json_node_get_object(c.arguments.get()) : nullptr;
	return Disposition::reply(dispatcher_.dispatch(c.name, args));
}

} // namespace

Result<std::unique_ptr<SevBackend>> makeSevBackend(const ShimConfig &config, const LaunchPlan &plan)
{
	auto b = std::make_unique<SimBackend>();
	CVM_CHECK(b->init(config, plan));
	return std::unique_ptr<SevBackend>(std::move(b));
}

} // namespace cvm::shim
