// SPDX-License-Identifier: Apache-2.0
//
// A domain with scheme="intel-tdx" metadata against the shared system
// libvirtd (scripts/test-services; Debian 12's libvirt 9.0, which has no TDX):
// `cvm-launch start` is refused at its platform step with a message naming
// the libvirt version, before any attestation server is asked and with
// nothing started; a plain `virsh start` is refused by the hook as for SEV.
// The <launchSecurity type='tdx'> libvirt >= 11 would get is unit-tested
// (tdx_launch_test.cpp, launch_plan_test.cpp). Domains: cvmt-tdx-*.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>
#include <unistd.h>

#include "cvm/common/file.h"
#include "cvm/common/json.h"
#include "test_support.h"

using namespace cvm;

namespace {

const char *kUri = "qemu:///system";

test::CommandResult virsh(std::vector<std::string> args)
{
	args.insert(args.begin(), { "virsh", "-q", "-c", kUri });
	return test::run(args, {}, {}, 60);
}

void requireLibvirtd()
{
	auto v = virsh({ "version" });
	if (v.exitStatus != 0)
		test::libvirtUnavailable(std::string("no libvirtd at ") + kUri + " (scripts/test-services start): " + v.err);
}

struct TdDomain {
	std::string name = "cvmt-tdx-" + std::to_string(getpid());
	TempDir dir = std::move(TempDir::create("cvmt-tdx-libvirt-").value());
	TdDomain()
	{
		// An AS that nobody listens on: the refusal must come before it is asked.
		std::string xml = "<domain type='qemu'>\n  <name>" + name +
				  "</name>\n  <memory unit='MiB'>64</memory>\n  <vcpu>1</vcpu>\n"
				  "  <metadata>\n    <cvm:launch xmlns:cvm=\"https://cvm-launch.org/xmlns/1\" "
				  "server=\"http://127.0.0.1:9\" scheme=\"intel-tdx\" vm=\"td-libvirt\"/>\n  </metadata>\n"
				  "  <os><type arch='x86_64' machine='q35'>hvm</type></os>\n"
				  "  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices>\n</domain>\n";
		REQUIRE(writeFileAtomic(dir.file("domain.xml"), asBytes(xml)).ok());
		auto r = virsh({ "define", dir.file("domain.xml") });
		INFO(r.err);
		REQUIRE(r.exitStatus == 0);
	}
	~TdDomain()
	{
		virsh({ "destroy", name });
		virsh({ "undefine", name });
	}
	std::string state() const
	{
		auto r = virsh({ "domstate", name });
		return r.out.substr(0, r.out.find('\n'));
	}
};

} // namespace

TEST_CASE("libvirt 9.0 cannot launch a TD: refused at the platform step, nothing started or asked")
{
	requireLibvirtd();
	auto version = virsh({ "version", "--daemon" });
	TdDomain d;
	auto r = test::run({ test::buildPath("plugin/cvm-launch"), "start", d.name, "-c", kUri, "--json", "--state-dir",
			     d.dir.file("state") },
			   {}, { "CVM_LAUNCH_CONFIG=/dev/null" }, 120);
	INFO(version.out << r.out << r.err);
	CHECK(r.exitStatus == 1);
	auto result = json::parseObject(r.out);
	REQUIRE(result.ok());
	JsonObject *o = json_node_get_object(result->get());
	CHECK(*json::getString(o, "failed-step") == "platform");
	CHECK(*json::getString(o, "error-code") == "tdx-unsupported");
	CHECK(json_array_get_length(json_object_get_array_member(o, "steps")) == 1);
	CHECK(json::getString(o, "launch-id")->empty());
	std::string message = *json::getString(o, "message");
	if (version.out.find("9.0.0") != std::string::npos)
		CHECK_THAT(message, Catch::Contains("libvirt 9.0.0 has no Intel TDX support"));
	CHECK_THAT(message, Catch::Contains("Debian 12 ships 9.0.0"));
	CHECK(d.state() == "shut off");
	// No launch record was left (none was written: no launch was issued);
	// only the domain's launch lock file (UUID.lock, kept by design) may be.
	GDir *state = g_dir_open(d.dir.file("state").c_str(), 0, nullptr);
	std::vector<std::string> left;
	while (const char *name = state ? g_dir_read_name(state) : nullptr)
		if (!g_str_has_suffix(name, ".lock"))
			left.push_back(name);
	if (state)
		g_dir_close(state);
	CHECK(left.empty());
}

TEST_CASE("a plain start of an intel-tdx guarded domain is refused by the hook")
{
	requireLibvirtd();
	auto build = readTextFile("/run/cvm-test-services/hook-build");
	const char *root = getenv("CVM_BUILD_ROOT");
	if (!build || !root || build->substr(0, build->find('\n')) != root) {
		fprintf(stderr, "SKIP: the libvirt hook wrapper does not run this build's hook\n");
		return;
	}
	TdDomain d;
	auto r = virsh({ "start", d.name });
	INFO(r.out << r.err);
	CHECK(r.exitStatus != 0);
	CHECK_THAT(r.err, Catch::Contains("is guarded by cvm-launch"));
	CHECK_THAT(r.err, Catch::Contains("cvm-launch start " + d.name));
	CHECK(d.state() == "shut off");
}
