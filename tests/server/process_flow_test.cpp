// SPDX-License-Identifier: Apache-2.0
//
// The whole launch against cvm-attestd as a process with --debug logging:
// neither the secret nor the launch's TEK/TIK (raw, hex or base64) are in the
// log or in the database files, while the launch is pending or after it. And
// a cvm-attestd killed between launch and validate: the launch validates
// after the restart (a commit is in the WAL before the answer leaves).
#include <catch2/catch.hpp>

#include "cvm/attest/client.h"
#include "cvm/attest/errors.h"
#include "cvm/common/file.h"
#include "daemon_process.h"
#include "test_platform.h"
#include "test_support.h"

using namespace cvm;
using namespace cvm::attest;

namespace {

const std::string kOwnerToken = "process-flow-owner-token-0123";
const std::string kSecret = "PROCESS-FLOW-LUKS-PASSPHRASE-4242";

std::unique_ptr<Client> client(const std::string &url, const std::string &token)
{
	ClientOptions o;
	o.baseUrl = url;
	o.timeoutSeconds = 10;
	if (!token.empty())
		o.token = SecureBuffer(asBytes(token));
	return std::move(Client::create(std::move(o)).value());
}

bool contains(ByteView haystack, ByteView needle)
{
	return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) != haystack.end();
}

Bytes databaseBytes(const std::string &db)
{
	Bytes all;
	for (const char *suffix : { "", "-wal", "-shm" })
		if (fileExists(db + suffix))
			append(all, readFile(db + suffix).value());
	return all;
}

void checkAbsent(ByteView haystack, const sev::TransportKeys &keys)
{
	for (ByteView secret : { asBytes(kSecret), keys.tek.view(), keys.tik.view() })
		for (const std::string &form : { std::string(asString(secret)), toHex(secret), toBase64(secret) })
			CHECK_FALSE(contains(haystack, asBytes(form)));
}

struct ProcessSetup {
	TempDir dir = std::move(TempDir::create("cvm-process-flow-").value());
	test::TestPlatform platform;
	ProcessSetup()
	{
		REQUIRE(writeSecretFile(dir.file("owner.token"), asBytes(kOwnerToken)).ok());
		platform.writeRoots(dir.file("roots"));
	}
	std::vector<std::string> args() const
	{
		return { "--insecure-listen", "127.0.0.1:0", "--db", dir.file("as.db"), "--key-file", dir.file("as.key"),
			 "--owner-token-file", dir.file("owner.token"), "--test-roots", dir.file("roots"), "--amd-roots",
			 test::fixture("amd-sev/roots"), "--no-kds", "--debug" };
	}
	static Registration registration()
	{
		Registration r;
		r.sev.policy = 1;
		r.sev.launchDigests = { Bytes(32, 0x42) };
		r.secrets.push_back(SecretEntry{ luksKeyGuid(), SecureBuffer(asBytes(kSecret)) });
		return r;
	}
};

} // namespace

TEST_CASE("cvm-attestd --debug: a full launch leaves no secret or TEK/TIK in the log or the database")
{
	test::requireFixtures();
	test::requireExecutable(test::buildPath("server/cvm-attestd"));
	ProcessSetup s;
	test::DaemonProcess daemon(s.dir.path(), s.args());
	REQUIRE(client(daemon.url(), kOwnerToken)->registerVm("vm", ProcessSetup::registration()).ok());
	auto host = client(daemon.url(), "");
	auto launch = host->launch("vm", s.platform.launchRequest());
	REQUIRE(launch.ok());
	auto keys = s.platform.open(*launch);
	REQUIRE(keys.ok());
	// Pending: the sealed TEK/TIK are in the database now.
	checkAbsent(databaseBytes(s.dir.file("as.db")), *keys);
	checkAbsent(asBytes(daemon.log()), *keys);
	auto report = s.platform.measure(*keys, 1, Bytes(32, 0x42));
	auto answer = host->validate("vm", launch->launchId, report);
	REQUIRE(answer.ok());
	auto table = s.platform.openSecret(*keys, report, *answer);
	REQUIRE(table.ok());
	CHECK(asString((*table)[0].value.view()) == kSecret);
	REQUIRE(daemon.stop() == 0);

	std::string log = daemon.log();
	CHECK(log.find(launch->launchId) != std::string::npos); // the log does talk about the launch
	checkAbsent(asBytes(log), *keys);
	checkAbsent(databaseBytes(s.dir.file("as.db")), *keys);
}

TEST_CASE("cvm-attestd killed (SIGKILL) between launch and validate: after a restart the launch validates")
{
	test::requireFixtures();
	test::requireExecutable(test::buildPath("server/cvm-attestd"));
	ProcessSetup s;
	LaunchResponse launch;
	{
		test::DaemonProcess daemon(s.dir.path(), s.args());
		REQUIRE(client(daemon.url(), kOwnerToken)->registerVm("vm", ProcessSetup::registration()).ok());
		auto l = client(daemon.url(), "")->launch("vm", s.platform.launchRequest());
		REQUIRE(l.ok());
		launch = std::move(*l);
		// No shutdown, no final checkpoint: the launch is only in the WAL.
		daemon.kill();
		CHECK(fileExists(s.dir.file("as.db-wal")));
	}
	test::DaemonProcess restarted(s.dir.path(), s.args());
	auto keys = s.platform.open(launch);
	REQUIRE(keys.ok());
	auto report = s.platform.measure(*keys, launch.policy, Bytes(32, 0x42));
	auto host = client(restarted.url(), "");
	auto answer = host->validate("vm", launch.launchId, report);
	REQUIRE(answer.ok());
	auto table = s.platform.openSecret(*keys, report, *answer);
	REQUIRE(table.ok());
	CHECK(asString((*table)[0].value.view()) == kSecret);
	// Still single use after the crash.
	CHECK(host->validate("vm", launch.launchId, report).error().tag() == code::kLaunchAlreadyValidated);
}
