// SPDX-License-Identifier: Apache-2.0
//
// The libvirt path's fault matrix against the real system libvirtd (through
// cvm-sev-shim), the real cvm-attestd behind a misbehaving proxy (as_proxy.h)
// and this build's hook: AS slow and AS garbage at validate, libvirtd
// restarted mid-launch, libvirtd hung mid-launch, SIGTERM between start and
// resume, two concurrent launches of one domain, a plain start refused
// during a launch. Each ends with no guest of the failed launch left (shut
// off, no QEMU), no record, the launch voided at the AS, and the secret in no
// output or log. Restarting or freezing libvirtd is done only to the one
// scripts/test-services started (these cases are skipped otherwise).
#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>

#include "as_proxy.h"
#include "cvm/common/file.h"
#include "cvm/plugin/launch_records.h"
#include "libvirt_rig.h"

using namespace cvm;
using namespace cvm::test;

namespace {

bool has(const std::string &text, const std::string &what)
{
	return text.find(what) != std::string::npos;
}

// A launch stopped at validate (the proxy holds the request): the guest is
// paused, the record says the hook let it start.
std::unique_ptr<Background> launchHeldAtValidate(LibvirtRig &rig, AsProxy &proxy, std::vector<std::string> extra)
{
	extra.insert(extra.end(), { "--json", "--server", proxy.url() });
	auto bg = rig.startInBackground(extra);
	REQUIRE(waitFor([&] { return proxy.validateSeen(); }, 120));
	CHECK(rig.state() == "paused");
	CHECK(has(readTextFile(rig.recordPath()).valueOr(""), "\"started\""));
	return bg;
}

} // namespace

TEST_CASE("libvirt: AS too slow at validate: timeout, the guest destroyed, the launch voided")
{
	LibvirtRig rig;
	rig.registerVm();
	AsProxy proxy(rig.as->url(), AsProxy::Validate::Stall);
	auto r = rig.start({ "--json", "--server", proxy.url(), "--as-timeout", "3" });
	INFO(r.out << r.err);
	CHECK(proxy.validateSeen());
	CHECK(r.exitStatus == 2);
	CHECK(has(r.out, "\"failed-step\" : \"validate\""));
	CHECK(has(r.out, "\"error-code\" : \"timeout\""));
	CHECK(has(r.out, "\"destroyed\" : true"));
	CHECK(has(r.out, "\"voided\" : true"));
	rig.checkNothingLeft(r);
	CHECK(has(rig.audit(), "launch voided before validation"));
}

TEST_CASE("libvirt: AS answers garbage at validate: protocol error, the guest destroyed, the launch voided")
{
	LibvirtRig rig;
	rig.registerVm();
	AsProxy proxy(rig.as->url(), AsProxy::Validate::Garbage);
	auto r = rig.start({ "--json", "--server", proxy.url() });
	INFO(r.out << r.err);
	CHECK(r.exitStatus == 2);
	CHECK(has(r.out, "\"failed-step\" : \"validate\""));
	CHECK(has(r.out, "\"error-code\" : \"protocol\""));
	CHECK(has(r.out, "\"destroyed\" : true"));
	CHECK(has(r.out, "\"voided\" : true"));
	rig.checkNothingLeft(r);
	CHECK(has(rig.audit(), "launch voided before validation"));
}

TEST_CASE("libvirt: SIGTERM between start and resume: rolled back at once")
{
	LibvirtRig rig;
	rig.registerVm();
	AsProxy proxy(rig.as->url(), AsProxy::Validate::Hold);
	auto bg = launchHeldAtValidate(rig, proxy, { "--as-timeout", "60" });
	auto begin = std::chrono::steady_clock::now();
	bg->signal(SIGTERM);
	auto r = bg->wait(60);
	INFO(r.out << r.err);
	CHECK(std::chrono::steady_clock::now() - begin < std::chrono::seconds(20));
	CHECK(r.exitStatus == 1);
	CHECK(has(r.err, "interrupted by SIGTERM"));
	CHECK(has(r.out, "\"failed-step\" : \"validate\""));
	CHECK(has(r.out, "\"destroyed\" : true"));
	CHECK(has(r.out, "\"voided\" : true"));
	rig.checkNothingLeft(r);
	CHECK(has(rig.audit(), "launch voided before validation"));
}

TEST_CASE("libvirt: libvirtd restarted mid-launch: the guest is found again and destroyed, the launch voided")
{
	LibvirtRig rig;
	if (!testServicesLibvirtd()) {
		WARN("libvirtd was not started by scripts/test-services: not restarting it");
		return;
	}
	rig.registerVm();
	AsProxy proxy(rig.as->url(), AsProxy::Validate::Hold);
	auto bg = launchHeldAtValidate(rig, proxy, {});
	REQUIRE(restartTestServicesLibvirtd());
	// The guest outlived libvirtd; the new one knows it again.
	CHECK(waitFor([&] { return rig.state() == "paused"; }, 30));
	proxy.release();
	auto r = bg->wait(120);
	INFO(r.out << r.err);
	// The secret came back, the old connection was dead: inject fails, the
	// rollback reconnects, finds the guest by its session and destroys it.
	CHECK(r.exitStatus == 2);
	CHECK(has(r.out, "\"failed-step\" : \"inject\""));
	CHECK(has(r.out, "\"error-code\" : \"disconnected\""));
	CHECK(has(r.out, "\"destroyed\" : true"));
	CHECK(has(r.out, "\"voided\" : true"));
	CHECK(has(r.err, "reconnecting to"));
	rig.checkNothingLeft(r);
	CHECK(waitFor([&] { return has(rig.audit(), "instance ended"); }, 15));
	// And the domain launches normally afterwards.
	auto again = rig.start();
	INFO(again.err);
	CHECK(again.exitStatus == 0);
	CHECK(rig.state() == "running");
}

TEST_CASE("libvirt: libvirtd hung mid-launch: bounded by step-timeout, the record kept, the next run cleans up")
{
	LibvirtRig rig;
	auto libvirtd = testServicesLibvirtd();
	if (!libvirtd) {
		WARN("libvirtd was not started by scripts/test-services: not freezing it");
		return;
	}
	rig.registerVm();
	AsProxy proxy(rig.as->url(), AsProxy::Validate::Hold);
	auto bg = launchHeldAtValidate(rig, proxy, { "--step-timeout", "3" });
	CommandResult r;
	auto begin = std::chrono::steady_clock::now();
	{
		Frozen frozen(*libvirtd);
		proxy.release();
		r = bg->wait(60);
	}
	INFO(r.out << r.err);
	// inject (3 s), waiting for it during the rollback (3 s), the destroy (3 s).
	CHECK(std::chrono::steady_clock::now() - begin < std::chrono::seconds(30));
	CHECK(r.exitStatus == 2);
	CHECK(has(r.out, "\"failed-step\" : \"inject\""));
	CHECK(has(r.out, "\"error-code\" : \"timeout\""));
	CHECK(has(r.err, "did not answer within 3 s"));
	CHECK(has(r.out, "\"destroyed\" : false"));
	CHECK(has(r.out, "\"voided\" : true"));
	CHECK(has(r.err, "stays so that 'cvm-launch start " + rig.name + "'"));
	// The guest may still be there: its record stays for the cleanup.
	CHECK(fileExists(rig.recordPath()));

	auto next = rig.start();
	INFO(next.err);
	CHECK(next.exitStatus == 0);
	CHECK(has(next.err, "was interrupted"));
	CHECK(rig.state() == "running");
	CHECK(rig.guestSecret() == rig.luksKey);
	CHECK_FALSE(containsSecret(r.out + r.err + next.out + next.err, rig.luksKey));
}

TEST_CASE("libvirt: two launches of one domain: the second fails at once and leaves the first alone")
{
	LibvirtRig rig;
	rig.registerVm();
	AsProxy proxy(rig.as->url(), AsProxy::Validate::Hold);
	auto first = launchHeldAtValidate(rig, proxy, {});
	auto second = rig.start({ "--json", "--server", proxy.url() });
	INFO(second.out << second.err);
	CHECK(second.exitStatus == 1);
	CHECK(has(second.err, "is being launched by another cvm-launch (pid " + std::to_string(first->pid()) + ")"));
	CHECK(rig.state() == "paused");
	CHECK(has(readTextFile(rig.recordPath()).valueOr(""), "\"started\""));
	proxy.release();
	auto r = first->wait(120);
	INFO(r.out << r.err);
	CHECK(r.exitStatus == 0);
	CHECK(rig.state() == "running");
	CHECK(rig.guestSecret() == rig.luksKey);
	// Once it runs, another start is refused before asking the AS for anything.
	size_t requests = proxy.requests().size();
	auto third = rig.start({ "--server", proxy.url() });
	CHECK(third.exitStatus == 1);
	CHECK(has(third.err, "already running"));
	CHECK(proxy.requests().size() == requests);
	CHECK(rig.state() == "running");
}

TEST_CASE("libvirt: a plain start refused during a launch does not void that launch")
{
	// libvirt runs the hook's release end after a refused start too.
	LibvirtRig rig;
	plugin::LaunchRecords records(kHookStateDir);
	plugin::LaunchRecord rec;
	rec.uuid = rig.uuid();
	rec.domain = rig.name;
	rec.server = rig.as->url();
	rec.vmId = rig.vm;
	rec.launchId = "L-in-flight";
	rec.session = "c2Vzc2lvbi1ibG9i";
	rec.created = g_get_real_time() / G_USEC_PER_SEC;
	rec.expires = rec.created + 120;
	rec.pid = getpid();
	REQUIRE(records.write(rec).ok());
	auto r = virsh({ "start", rig.name });
	INFO(r.err);
	CHECK(r.exitStatus != 0);
	CHECK(has(r.err, "is guarded by cvm-launch"));
	CHECK(rig.state() == "shut off");
	auto after = records.read(rec.uuid);
	REQUIRE(after.ok());
	REQUIRE(after->has_value());
	CHECK((*after)->launchId == "L-in-flight");
	CHECK((*after)->state == plugin::RecordState::Pending);
	REQUIRE(records.remove(rec.uuid).ok());
}
