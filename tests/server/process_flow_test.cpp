// SPDX-License-Identifier: Apache-2.0
//
// The whole launch against cvm-attestd as a process with --debug logging:
// after it, neither the secret nor the launch's TEK/TIK (raw, hex or base64)
// are in the log or in the database files.
#include <catch2/catch.hpp>

#include "cvm/attest/client.h"
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

} // namespace

TEST_CASE("cvm-attestd --debug: a full launch leaves no secret or TEK/TIK in the log or the database")
{
	test::requireFixtures();
	test::requireExecutable(test::buildPath("server/cvm-attestd"));
	auto dir = TempDir::create("cvm-process-flow-");
	REQUIRE(dir.ok());
	REQUIRE(writeSecretFile(dir->file("owner.token"), asBytes(kOwnerToken)).ok());
	test::TestPlatform platform;
	platform.writeRoots(dir->file("roots"));
	test::DaemonProcess daemon(dir->path(), { "--insecure-listen", "127.0.0.1:0", "--db", dir->file("as.db"),
						  "--key-file", dir->file("as.key"), "--owner-token-file",
						  dir->file("owner.token"), "--test-roots", dir->file("roots"),
						  "--amd-roots", test::fixture("amd-sev/roots"), "--no-kds", "--debug" });

	Registration r;
	r.sev.policy = 1;
	r.sev.launchDigests = { Bytes(32, 0x42) };
	r.secrets.push_back(SecretEntry{ luksKeyGuid(), SecureBuffer(asBytes(kSecret)) });
	REQUIRE(client(daemon.url(), kOwnerToken)->registerVm("vm", r).ok());
	auto host = client(daemon.url(), "");
	auto launch = host->launch("vm", platform.launchRequest());
	REQUIRE(launch.ok());
	auto keys = platform.open(*launch);
	REQUIRE(keys.ok());
	auto report = platform.measure(*keys, 1, Bytes(32, 0x42));
	auto answer = host->validate("vm", launch->launchId, report);
	REQUIRE(answer.ok());
	auto table = platform.openSecret(*keys, report, *answer);
	REQUIRE(table.ok());
	CHECK(asString((*table)[0].value.view()) == kSecret);
	REQUIRE(daemon.stop() == 0);

	std::string log = daemon.log();
	CHECK(log.find(launch->launchId) != std::string::npos); // the log does talk about the launch
	Bytes db;
	for (const char *suffix : { "", "-wal", "-shm" })
		if (fileExists(dir->file("as.db") + suffix))
			append(db, readFile(dir->file("as.db") + suffix).value());
	for (ByteView secret : { asBytes(kSecret), keys->tek.view(), keys->tik.view() }) {
		for (const std::string &form : { std::string(asString(secret)), toHex(secret), toBase64(secret) }) {
			CHECK_FALSE(contains(asBytes(log), asBytes(form)));
			CHECK_FALSE(contains(db, asBytes(form)));
		}
	}
}
