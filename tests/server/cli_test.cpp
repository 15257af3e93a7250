// SPDX-License-Identifier: Apache-2.0
//
// The programs themselves: cvm-attestd as a process (with --debug logging),
// driven by cvm-owner, the way an owner uses them.
#include <catch2/catch.hpp>

#include "cvm/attest/protocol.h"
#include "cvm/common/file.h"
#include "cvm/common/json.h"
#include "daemon_process.h"
#include "test_support.h"

using namespace cvm;
using namespace cvm::attest;

namespace {

const std::string kOwnerToken = "cli-owner-token-5d41402abc4b2a76";
const std::string kSecret = "MY-LUKS-PASSPHRASE-for-the-cli-test";
const std::string kDigestA(64, 'a');
const std::string kDigestB = std::string(32, '0') + std::string(32, 'f');

struct Setup {
	TempDir dir = std::move(TempDir::create("cvm-cli-test-").value());
	std::vector<std::string> daemonArgs()
	{
		return { "--insecure-listen", "127.0.0.1:0", "--db", dir.file("as.db"), "--key-file",
			 dir.file("as.key"), "--owner-token-file", dir.file("owner.token"), "--amd-roots",
			 test::fixture("amd-sev/roots"), "--no-kds", "--debug" };
	}
	Setup()
	{
		REQUIRE(writeSecretFile(dir.file("owner.token"), asBytes(kOwnerToken + "\n")).ok());
		REQUIRE(writeSecretFile(dir.file("wrong.token"), asBytes("not-the-token")).ok());
		REQUIRE(writeSecretFile(dir.file("luks"), asBytes(kSecret)).ok());
	}
};

test::CommandResult owner(const std::string &url, const std::string &tokenFile, std::vector<std::string> args)
{
	std::vector<std::string> argv = { test::buildPath("server/cvm-owner") };
	argv.insert(argv.end(), args.begin(), args.end());
	if (!url.empty()) {
		argv.push_back("--server");
		argv.push_back(url);
	}
	if (!tokenFile.empty()) {
		argv.push_back("--token-file");
		argv.push_back(tokenFile);
	}
	return test::run(argv, {}, {}, 60);
}

bool contains(const std::string &haystack, const std::string &needle)
{
	return haystack.find(needle) != std::string::npos;
}

} // namespace

TEST_CASE("an owner registers, inspects, audits and revokes a VM with cvm-owner")
{
	test::requireFixtures();
	test::requireExecutable(test::buildPath("server/cvm-owner"));
	Setup s;
	test::DaemonProcess daemon(s.dir.path(), s.daemonArgs());
	std::string token = s.dir.file("owner.token");

	auto reg = owner(daemon.url(), token,
			 { "register", "--vm", "4b825dc6-42cb-4bd9-8e3f-1d2a6f0c9e11", "--policy", "0x1",
			   "--launch-digest", kDigestA, "--launch-digest", kDigestB, "--secret",
			   "luks-key:" + s.dir.file("luks"), "--max-launches", "3", "--min-api", "0.17", "--build-id",
			   "15", "--json" });
	INFO(reg.err);
	REQUIRE(reg.exitStatus == 0);
	auto node = json::parseObject(reg.out);
	REQUIRE(node.ok());
	auto info = parseVmInfo(json_node_get_object(node->get()));
	REQUIRE(info.ok());
	CHECK(info->maxConcurrentLaunches == 3);
	CHECK(info->sev.launchDigests.size() == 2);
	CHECK(info->sev.buildIds == std::vector<uint8_t>{ 15 });
	REQUIRE(info->secrets.size() == 1);
	CHECK(info->secrets[0].size == kSecret.size());

	auto show = owner(daemon.url(), token, { "show", "--vm", "4b825dc6-42cb-4bd9-8e3f-1d2a6f0c9e11" });
	REQUIRE(show.exitStatus == 0);
	CHECK(contains(show.out, kDigestB));
	CHECK(contains(show.out, "736869e5-84f0-4973-92ec-06879ce3da0b (" + std::to_string(kSecret.size())));
	CHECK_FALSE(contains(show.out, kSecret));

	auto audit = owner(daemon.url(), token, { "audit", "--vm", "4b825dc6-42cb-4bd9-8e3f-1d2a6f0c9e11", "--json" });
	REQUIRE(audit.exitStatus == 0);
	auto trail = json::parseObject(audit.out);
	REQUIRE(trail.ok());
	auto parsed = parseAuditTrail(json_node_get_object(trail->get()));
	REQUIRE(parsed.ok());
	REQUIRE(parsed->events.size() == 1);
	CHECK(parsed->events[0].event == "register");

	auto revoke = owner(daemon.url(), token, { "revoke", "--vm", "4b825dc6-42cb-4bd9-8e3f-1d2a6f0c9e11" });
	CHECK(revoke.exitStatus == 0);
	auto gone = owner(daemon.url(), token, { "show", "--vm", "4b825dc6-42cb-4bd9-8e3f-1d2a6f0c9e11" });
	CHECK(gone.exitStatus == 1);
	CHECK(contains(gone.err, "vm-not-found"));

	CHECK(daemon.stop() == 0);
	// With --debug on, neither the secret, its base64, nor the token is logged.
	std::string log = daemon.log();
	CHECK(contains(log, "registered"));
	CHECK_FALSE(contains(log, kSecret));
	CHECK_FALSE(contains(log, toBase64(asBytes(kSecret))));
	CHECK_FALSE(contains(log, kOwnerToken));
}

TEST_CASE("cvm-owner exit codes: usage 2, refusal 1, transport 2")
{
	test::requireFixtures();
	test::requireExecutable(test::buildPath("server/cvm-owner"));
	Setup s;
	test::DaemonProcess daemon(s.dir.path(), s.daemonArgs());
	std::string token = s.dir.file("owner.token");

	CHECK(owner("", "", {}).exitStatus == 2);
	CHECK(owner("", "", { "frobnicate" }).exitStatus == 2);
	CHECK(owner("", "", { "--help" }).exitStatus == 0);
	auto noVm = owner(daemon.url(), token, { "register", "--policy", "1", "--launch-digest", kDigestA });
	CHECK(noVm.exitStatus == 2);
	CHECK(contains(noVm.err, "--vm"));
	auto badDigest = owner(daemon.url(), token, { "register", "--vm", "v", "--policy", "1", "--launch-digest", "xyz" });
	CHECK(badDigest.exitStatus == 2);
	CHECK(contains(badDigest.err, "64 hex digits"));
	auto badSecret = owner(daemon.url(), token,
			       { "register", "--vm", "v", "--policy", "1", "--launch-digest", kDigestA, "--secret", "disk:/x" });
	CHECK(badSecret.exitStatus == 2);
	auto esMismatch = owner(daemon.url(), token,
				{ "register", "--vm", "v", "--policy", "1", "--scheme", "amd-sev-es", "--launch-digest", kDigestA });
	CHECK(esMismatch.exitStatus == 2); // the server's 400: a bad request
	CHECK(contains(esMismatch.err, "bit 2"));

	auto wrongToken = owner(daemon.url(), s.dir.file("wrong.token"), { "show", "--vm", "v" });
	CHECK(wrongToken.exitStatus == 1);
	CHECK(contains(wrongToken.err, "unauthorized"));
	auto noServer = owner("http://127.0.0.1:1", token, { "show", "--vm", "v", "--timeout", "5" });
	CHECK(noServer.exitStatus == 2);
	auto plainRemote = owner("http://192.0.2.1:8080", token, { "show", "--vm", "v" });
	CHECK(plainRemote.exitStatus == 2);
	CHECK(contains(plainRemote.err, "refusing plain HTTP"));
}

TEST_CASE("registrations survive a restart of cvm-attestd; bad setups do not start")
{
	test::requireFixtures();
	test::requireExecutable(test::buildPath("server/cvm-owner"));
	Setup s;
	std::string token = s.dir.file("owner.token");
	{
		test::DaemonProcess daemon(s.dir.path(), s.daemonArgs());
		REQUIRE(owner(daemon.url(), token, { "register", "--vm", "persist", "--policy", "1", "--launch-digest", kDigestA })
				.exitStatus == 0);
	}
	{
		test::DaemonProcess daemon(s.dir.path(), s.daemonArgs());
		auto show = owner(daemon.url(), token, { "show", "--vm", "persist" });
		CHECK(show.exitStatus == 0);
		CHECK(contains(show.out, kDigestA));
	}
	auto exe = test::buildPath("server/cvm-attestd");
	auto noListen = test::run({ exe, "--db", s.dir.file("x.db"), "--key-file", s.dir.file("x.key"),
				    "--owner-token-file", token, "--test-roots", s.dir.path() });
	CHECK(noListen.exitStatus == 2);
	CHECK(contains(noListen.err, "nothing to listen on"));
	REQUIRE(writeFileAtomic(s.dir.file("loose.key"), Bytes(32, 1), 0644).ok());
	auto looseKey = test::run({ exe, "--insecure-listen", "127.0.0.1:0", "--db", s.dir.file("x.db"), "--key-file",
				    s.dir.file("loose.key"), "--owner-token-file", token, "--test-roots", s.dir.path() });
	CHECK(looseKey.exitStatus == 1);
	CHECK(contains(looseKey.err, "chmod 600"));
}

TEST_CASE("cvm-owner: GUID secrets, explicit schemes, JSON output of show, revoke and end")
{
	test::requireFixtures();
	test::requireExecutable(test::buildPath("server/cvm-owner"));
	Setup s;
	test::DaemonProcess daemon(s.dir.path(), s.daemonArgs());
	std::string token = s.dir.file("owner.token");
	const std::string guid = "a1b2c3d4-0102-4304-8506-0708090a0b0c";
	REQUIRE(writeSecretFile(s.dir.file("disk-key"), asBytes("disk key bytes")).ok());

	auto sev = owner(daemon.url(), token,
			 { "register", "--vm", "plain", "--scheme", "amd-sev", "--policy", "0x1", "--launch-digest", kDigestA,
			   "--secret", guid + ":" + s.dir.file("disk-key"), "--secret", "luks-key:" + s.dir.file("luks"),
			   "--json" });
	INFO(sev.err);
	REQUIRE(sev.exitStatus == 0);
	auto info = parseVmInfo(json_node_get_object(json::parseObject(sev.out).value().get()));
	REQUIRE(info.ok());
	CHECK(info->scheme == Scheme::AmdSev);
	REQUIRE(info->secrets.size() == 2);
	CHECK(info->secrets[0].guid.toString() == guid);
	CHECK(info->secrets[0].size == std::string("disk key bytes").size());
	CHECK(info->secrets[1].guid == luksKeyGuid());

	// SEV-ES: policy bit 2, the scheme given explicitly.
	auto es = owner(daemon.url(), token,
			{ "register", "--vm", "es", "--scheme", "amd-sev-es", "--policy", "0x5", "--launch-digest", kDigestB,
			  "--json" });
	INFO(es.err);
	REQUIRE(es.exitStatus == 0);
	auto esInfo = parseVmInfo(json_node_get_object(json::parseObject(es.out).value().get()));
	REQUIRE(esInfo.ok());
	CHECK(esInfo->scheme == Scheme::AmdSevEs);
	CHECK(esInfo->sev.policy == 0x5);

	auto show = owner(daemon.url(), token, { "show", "--vm", "es", "--json" });
	REQUIRE(show.exitStatus == 0);
	auto shown = parseVmInfo(json_node_get_object(json::parseObject(show.out).value().get()));
	REQUIRE(shown.ok());
	CHECK(shown->scheme == Scheme::AmdSevEs);
	CHECK(shown->sev.launchDigests == std::vector<Bytes>{ fromHex(kDigestB).value() });
	CHECK_FALSE(contains(show.out, "disk key bytes"));

	// end: an unknown launch is a refusal (1), a missing --launch a usage error (2).
	auto noLaunch = owner(daemon.url(), token, { "end", "--vm", "es" });
	CHECK(noLaunch.exitStatus == 2);
	CHECK(contains(noLaunch.err, "--launch"));
	auto unknown = owner(daemon.url(), token, { "end", "--vm", "es", "--launch", "no-such-launch", "--json" });
	CHECK(unknown.exitStatus == 1);
	CHECK(contains(unknown.err, "launch-not-found"));

	auto revoke = owner(daemon.url(), token, { "revoke", "--vm", "plain", "--json" });
	REQUIRE(revoke.exitStatus == 0);
	auto revoked = json::parseObject(revoke.out);
	REQUIRE(revoked.ok());
	JsonObject *obj = json_node_get_object(revoked->get());
	CHECK(std::string(json_object_get_string_member(obj, "vm")) == "plain");
	CHECK(json_object_get_boolean_member(obj, "revoked"));
	CHECK(owner(daemon.url(), token, { "show", "--vm", "plain", "--json" }).exitStatus == 1);
	CHECK(daemon.stop() == 0);
	CHECK_FALSE(contains(daemon.log(), "disk key bytes"));
}
