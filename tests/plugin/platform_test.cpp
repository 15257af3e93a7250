// SPDX-License-Identifier: Apache-2.0
//
// cvm-launch platform --qmp against a running cvm-sev-sim: certificates, chip
// id and the chain verdict (its own test roots: valid; AMD's real roots: not).
#include <catch2/catch.hpp>

#include <csignal>
#include <sys/wait.h>
#include <unistd.h>

#include "cvm/common/json.h"
#include "launch_rig.h"

using namespace cvm;
using namespace cvm::test;

namespace {

struct Sim {
	TempDir dir = std::move(TempDir::create("cvmt-plugin-platform-").value());
	std::string socket = dir.file("qmp.sock");
	GPid pid = 0;
	Sim()
	{
		std::string exe = buildPath("sim/cvm-sev-sim"), qmp = "unix:" + socket + ",server=on,wait=off";
		std::string state = simPlatformDir();
		const char *argv[] = { exe.c_str(), "--state-dir", state.c_str(), "-S", "-qmp", qmp.c_str(), nullptr };
		REQUIRE(g_spawn_async(nullptr, const_cast<char **>(argv), nullptr, G_SPAWN_DO_NOT_REAP_CHILD, nullptr,
				      nullptr, &pid, nullptr));
		for (int i = 0; i < 200 && !fileExists(socket); ++i)
			usleep(25000);
	}
	~Sim()
	{
		kill(pid, SIGKILL);
		int st;
		waitpid(pid, &st, 0);
	}
	CommandResult platform(std::vector<std::string> extra)
	{
		std::vector<std::string> argv = { buildPath("plugin/cvm-launch"), "platform", "--qmp", socket,
						  "--amd-roots", dir.file("none") };
		argv.insert(argv.end(), extra.begin(), extra.end());
		return run(argv, {}, { "CVM_LAUNCH_CONFIG=/dev/null" });
	}
};

} // namespace

TEST_CASE("the simulator's chain verifies against its test roots")
{
	Sim sim;
	auto r = sim.platform({ "--test-roots", simPlatformDir() + "/roots", "--json" });
	INFO(r.err);
	REQUIRE(r.exitStatus == 0);
	auto o = json::parseObject(r.out);
	REQUIRE(o.ok());
	JsonObject *obj = json_node_get_object(o->get());
	CHECK(json::getBase64(obj, "pdh")->size() == 2084);
	CHECK(json::getBase64(obj, "cert-chain")->size() == 3 * 2084);
	CHECK(json::getString(obj, "chip-id")->size() == 128);
	auto chain = json::getObject(obj, "chain");
	REQUIRE(chain.ok());
	CHECK(*json::getString(*chain, "status") == "valid");

	auto human = sim.platform({ "--test-roots", simPlatformDir() + "/roots" });
	CHECK(human.exitStatus == 0);
	CHECK(human.out.find("PDH  signed by PEK  ok") != std::string::npos);
	CHECK(human.err.find("as given") != std::string::npos);
}

TEST_CASE("against AMD's real roots the simulator's chain does not verify")
{
	requireFixtures();
	Sim sim;
	auto r = sim.platform({ "--amd-roots", fixture("amd-sev/roots"), "--json" });
	INFO(r.out << r.err);
	CHECK(r.exitStatus == 1);
	CHECK(r.out.find("\"status\" : \"invalid\"") != std::string::npos);
}

TEST_CASE("no roots, no platform: clear errors")
{
	Sim sim;
	auto none = sim.platform({});
	CHECK(none.exitStatus == 1);
	CHECK(none.err.find("no trust roots") != std::string::npos);
	auto r = run({ buildPath("plugin/cvm-launch"), "platform", "--qmp", sim.dir.file("missing.sock") }, {},
		     { "CVM_LAUNCH_CONFIG=/dev/null" });
	CHECK(r.exitStatus == 2);
	auto both = run({ buildPath("plugin/cvm-launch"), "platform", "--qmp", "x", "-c", "y" });
	CHECK(both.exitStatus == 2);
}
