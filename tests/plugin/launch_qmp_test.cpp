// SPDX-License-Identifier: Apache-2.0
//
// The whole attested launch by the QMP path with real components: cvm-sev-sim
// (real LAUNCH_START/MEASURE/SECRET), the real cvm-attestd and cvm-owner. The
// guest must receive exactly the registered secret; a tampered firmware must
// be refused; nothing may be left running or on disk.
#include <catch2/catch.hpp>

#include <csignal>
#include <cstring>
#include <dirent.h>

#include "cvm/common/json.h"
#include "cvm/sev/secret.h"
#include "launch_rig.h"

using namespace cvm;
using namespace cvm::test;

namespace {

std::vector<std::string> entries(const std::string &dir)
{
	std::vector<std::string> names;
	if (DIR *d = opendir(dir.c_str())) {
		while (dirent *e = readdir(d))
			if (std::string(e->d_name) != "." && std::string(e->d_name) != "..")
				names.push_back(e->d_name);
		closedir(d);
	}
	return names;
}

} // namespace

TEST_CASE("attested launch: the guest runs and holds exactly the registered secret")
{
	LaunchRig rig;
	rig.registerVm();
	std::string sock = rig.path("guest.qmp"), pidfile = rig.path("guest.pid");
	auto r = rig.launch({ "--detach", "--qmp-socket", sock, "--pidfile", pidfile, "--json", "--log",
			      rig.path("sim.log") },
			    rig.as->url());
	INFO(r.out << r.err);
	REQUIRE(r.exitStatus == 0);
	auto result = json::parseObject(r.out);
	REQUIRE(result.ok());
	JsonObject *o = json_node_get_object(result->get());
	CHECK(*json::getString(o, "verdict") == "ok");
	CHECK_FALSE(json::getString(o, "launch-id")->empty());
	CHECK(json_array_get_length(json_object_get_array_member(o, "steps")) == 7);
	// One progress line per step on stderr, in order, with its time.
	using Line = std::pair<std::string, std::string>;
	CHECK(progressLines(r.err) == std::vector<Line>{ { "certificates", "ok" }, { "as-launch", "ok" }, { "start", "ok" },
							 { "measure", "ok" }, { "validate", "ok" }, { "inject", "ok" },
							 { "resume", "ok" } });
	auto pid = readTextFile(pidfile);
	REQUIRE(pid.ok());
	int guest = std::stoi(*pid);

	auto status = run({ buildPath("plugin/cvm-launch"), "qmp", "--socket", sock, "query-status" });
	CHECK(status.out.find("\"running\"") != std::string::npos);
	auto secret = run({ buildPath("plugin/cvm-launch"), "qmp", "--socket", sock, "x-cvm-sim-guest-secret",
			    "{\"gpa\": " + std::to_string(kSecretGpa) + "}" });
	INFO(secret.err);
	REQUIRE(secret.exitStatus == 0);
	auto reply = json::parseObject(secret.out);
	REQUIRE(reply.ok());
	auto table = json::getBase64(json_node_get_object(reply->get()), "data");
	REQUIRE(table.ok());
	auto parsed = sev::parseSecretTable(*table);
	REQUIRE(parsed.ok());
	REQUIRE(parsed->size() == 1);
	CHECK((*parsed)[0].guid == sev::secret_guid::luksKey());
	CHECK(Bytes((*parsed)[0].value.view().begin(), (*parsed)[0].value.view().end()) == rig.luksKey);

	kill(guest, SIGTERM);
	for (int i = 0; i < 100 && !processesMentioning(rig.simNeedle()).empty(); ++i)
		usleep(50000);
	CHECK(processesMentioning(rig.simNeedle()).empty());
	// The work dir with the session files is gone; the secret is in no output.
	CHECK(entries(rig.path("tmp")).empty());
	CHECK_FALSE(containsSecret(r.out + r.err, rig.luksKey));
	CHECK_FALSE(containsSecret(readTextFile(rig.path("sim.log")).valueOr(""), rig.luksKey));
}

TEST_CASE("a tampered firmware is refused at validate, the guest destroyed, the launch voided")
{
	LaunchRig rig;
	rig.registerVm();
	auto fw = readFile("/usr/share/OVMF/OVMF_CODE.fd");
	REQUIRE(fw.ok());
	(*fw)[fw->size() / 2] ^= 0x01;
	std::string tampered = rig.path("OVMF_CODE.tampered.fd");
	REQUIRE(writeFileAtomic(tampered, *fw).ok());
	auto r = rig.launch({ "--detach", "--json" }, rig.as->url(), tampered);
	INFO(r.out << r.err);
	CHECK(r.exitStatus == 1);
	CHECK(r.out.find("\"failed-step\" : \"validate\"") != std::string::npos);
	CHECK(r.out.find("\"verdict\" : \"refused\"") != std::string::npos);
	CHECK(r.err.find("measurement") != std::string::npos);
	CHECK(r.out.find("\"destroyed\" : true") != std::string::npos);
	CHECK(processesMentioning(rig.simNeedle()).empty());
	CHECK(entries(rig.path("tmp")).empty());
	CHECK_FALSE(containsSecret(r.out + r.err + rig.as->log(), rig.luksKey));
	auto audit = rig.owner({ "audit", "--vm", rig.vm, "--json" });
	INFO(audit.out);
	CHECK(audit.out.find("measurement-mismatch") != std::string::npos);
}

TEST_CASE("the dh-cert and session files the emulator reads are 0600 in a 0700 dir, and gone afterwards")
{
	LaunchRig rig;
	rig.registerVm();
	// An emulator that notes the modes of the files it is given, then is the simulator.
	std::string modes = rig.path("modes.txt"), wrapper = rig.path("emulator.sh");
	std::string script = "#!/bin/sh\nfor a in \"$@\"; do\n  case \"$a\" in sev-guest,*)\n"
			     "    IFS=,; for kv in $a; do case \"$kv\" in dh-cert-file=*|session-file=*)\n"
			     "      f=${kv#*=}; echo \"${kv%%=*} $(stat -c %a \"$f\") $(stat -c %a \"$(dirname \"$f\")\") $f\" >>" +
			     modes + "\n    ;; esac; done; unset IFS ;;\n  esac\ndone\nexec " + buildPath("sim/cvm-sev-sim") +
			     " \"$@\"\n";
	REQUIRE(writeFileAtomic(wrapper, asBytes(script), 0755).ok());
	rig.emulator = wrapper;
	auto r = rig.launch({ "--detach", "--pidfile", rig.path("guest.pid") }, rig.as->url());
	INFO(r.out << r.err);
	REQUIRE(r.exitStatus == 0);
	auto seen = readTextFile(modes);
	REQUIRE(seen.ok());
	INFO(*seen);
	CHECK(seen->find("dh-cert-file 600 700 ") != std::string::npos);
	CHECK(seen->find("session-file 600 700 ") != std::string::npos);
	// Removed once the emulator had read them (the guest still runs).
	for (const char *key : { "dh-cert-file ", "session-file " }) {
		size_t at = seen->find(key);
		REQUIRE(at != std::string::npos);
		std::string path = seen->substr(seen->find(' ', seen->find(' ', at + strlen(key)) + 1) + 1);
		path = path.substr(0, path.find('\n'));
		CHECK_FALSE(fileExists(path));
	}
	if (auto pid = readTextFile(rig.path("guest.pid")); pid.ok())
		kill(std::stoi(*pid), SIGKILL);
	for (int i = 0; i < 100 && !processesMentioning(rig.simNeedle()).empty(); ++i)
		usleep(50000);
	CHECK(entries(rig.path("tmp")).empty());
}
