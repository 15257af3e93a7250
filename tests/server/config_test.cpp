// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "config.h"
#include "cvm/common/file.h"
#include "test_support.h"

using namespace cvm;
using namespace cvm::server;

namespace {

Result<ServerConfig> parse(std::vector<std::string> args)
{
	args.insert(args.begin(), "cvm-attestd");
	std::vector<char *> argv;
	for (auto &a : args)
		argv.push_back(a.data());
	argv.push_back(nullptr);
	return parseServerCommandLine(static_cast<int>(args.size()), argv.data());
}

} // namespace

TEST_CASE("settings come from the key file and the command line wins")
{
	auto dir = TempDir::create();
	REQUIRE(dir.ok());
	std::string conf = dir->file("cvm-attestd.conf");
	REQUIRE(writeFileAtomic(conf, asBytes("[cvm-attestd]\n"
					      "insecure-listen = 127.0.0.1:9000\n"
					      "owner-token-file = /etc/owner.token\n"
					      "db = /var/db\n"
					      "key-file = /var/key\n"
					      "test-roots = /roots\n"
					      "launch-expiry = 60\n"
					      "db-sync = full\n"
					      "no-kds = true\n"))
			.ok());
	auto c = parse({ "--config", conf, "--launch-expiry", "120", "--workers", "3", "--db-sync", "normal" });
	REQUIRE(c.ok());
	CHECK(c->insecureListen == "127.0.0.1:9000");
	CHECK(c->launchExpiry == 120);
	CHECK(c->workers == 3);
	CHECK(c->db == "/var/db");
	CHECK_FALSE(c->dbSyncFull);
	CHECK_FALSE(c->kds);
	CHECK(c->refusalAudits == 60);
	CHECK(c->kdsUrl == "https://kdsintf.amd.com");
}

TEST_CASE("bad settings are refused with a message that names them")
{
	auto dir = TempDir::create();
	REQUIRE(dir.ok());
	std::string conf = dir->file("bad.conf");
	REQUIRE(writeFileAtomic(conf, asBytes("[cvm-attestd]\nlisten-address = 1.2.3.4:5\n")).ok());
	auto r = parse({ "--config", conf });
	REQUIRE_FALSE(r.ok());
	CHECK(r.error().message().find("unknown key 'listen-address'") != std::string::npos);

	REQUIRE(writeFileAtomic(conf, asBytes("[server]\n")).ok());
	CHECK(parse({ "--config", conf }).error().message().find("unknown group") != std::string::npos);

	std::vector<std::string> base = { "--owner-token-file", "t", "--db", "d", "--key-file", "k", "--test-roots", "r" };
	auto with = [&](std::vector<std::string> extra) {
		auto args = base;
		args.insert(args.end(), extra.begin(), extra.end());
		return parse(args);
	};
	CHECK(with({}).error().message().find("nothing to listen on") != std::string::npos);
	CHECK(with({ "--listen", "0.0.0.0:8443" }).error().message().find("tls-cert") != std::string::npos);
	CHECK(with({ "--insecure-listen", "localhost:80" }).error().message().find("numeric IP") != std::string::npos);
	CHECK(with({ "--insecure-listen", "127.0.0.1:99999" }).error().message().find("port") != std::string::npos);
	CHECK(with({ "--insecure-listen", "127.0.0.1:0", "--launch-expiry", "0" }).error().message().find(
		      "launch-expiry") != std::string::npos);
	CHECK(with({ "--insecure-listen", "127.0.0.1:0", "--db-sync", "sometimes" }).error().message().find(
		      "db-sync") != std::string::npos);
	CHECK(with({ "--insecure-listen", "[::1]:0" }).ok());
	CHECK_FALSE(with({ "--insecure-listen", "[::1]:0" })->dbSyncFull); // normal unless asked for
	// Plain HTTP beyond loopback carries tokens and secrets in clear: only
	// when asked for explicitly.
	auto remote = with({ "--insecure-listen", "0.0.0.0:8080" });
	REQUIRE_FALSE(remote.ok());
	CHECK(remote.error().message().find("not a loopback address") != std::string::npos);
	CHECK_FALSE(with({ "--insecure-listen", "192.0.2.1:8080" }).ok());
	CHECK(with({ "--insecure-listen", "0.0.0.0:8080", "--allow-insecure-remote" }).ok());
	CHECK(with({ "--insecure-listen", "127.0.0.2:8080" }).ok());
	CHECK(parse({ "--insecure-listen", "127.0.0.1:0", "--db", "d", "--key-file", "k", "--test-roots", "r" })
		      .error()
		      .message()
		      .find("authenticate the owner") != std::string::npos);
	CHECK_FALSE(parse({ "--no-such-option" }).ok());
}

TEST_CASE("the example configuration in config/ is valid")
{
	ServerConfig c;
	auto s = applyConfigFile(cvm::test::sourcePath("config/cvm-attestd.conf"), c);
	INFO((s.ok() ? std::string() : s.error().message()));
	REQUIRE(s.ok());
	CHECK(c.listen == "0.0.0.0:8443");
	CHECK(c.ownerTokenFile == "/etc/cvm-attestd/owner.token");
	CHECK(validateConfig(c).ok());
}
