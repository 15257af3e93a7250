// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <cstdlib>

#include "cvm/common/file.h"
#include "cvm/plugin/settings.h"

using namespace cvm;
using namespace cvm::plugin;

TEST_CASE("defaults apply without a file, and a file overrides them")
{
	Settings s;
	CHECK(s.stateDir == "/run/cvm-launch");
	CHECK(s.stepTimeout == 60);
	CHECK(s.asTimeout == 30);
	REQUIRE(applySettingsText(s,
				  "# comment\n[cvm-launch]\nserver=https://as.example:8443\nas-timeout=5\n"
				  "state-dir=/tmp/x\nhost-token-file=/etc/cvm-launch/token\n",
				  "test.conf")
			.ok());
	CHECK(s.server == "https://as.example:8443");
	CHECK(s.asTimeout == 5);
	CHECK(s.stepTimeout == 60);
	CHECK(s.stateDir == "/tmp/x");
	CHECK(s.hostTokenFile == "/etc/cvm-launch/token");
	CHECK(validateSettings(s).ok());
}

TEST_CASE("unknown keys, groups and bad values are refused with their name")
{
	Settings s;
	auto r = applySettingsText(s, "[cvm-launch]\nas-timout=5\n", "a.conf");
	REQUIRE_FALSE(r.ok());
	CHECK(r.error().message().find("as-timout") != std::string::npos);
	CHECK(r.error().message().find("a.conf") != std::string::npos);

	r = applySettingsText(s, "[other]\nserver=x\n", "b.conf");
	REQUIRE_FALSE(r.ok());
	CHECK(r.error().message().find("[other]") != std::string::npos);

	for (const char *bad : { "0", "-1", "abc", "86401", "5s", "" }) {
		auto st = applySetting(s, "step-timeout", bad);
		INFO(bad);
		REQUIRE_FALSE(st.ok());
		CHECK(st.error().message().find("step-timeout") != std::string::npos);
	}
	CHECK_FALSE(applySettingsText(s, "not a key file", "c.conf").ok());
	CHECK_FALSE(applySetting(s, "state-dir", "").ok());
}

TEST_CASE("every documented setting is accepted by applySetting")
{
	Settings s;
	int n = 0;
	for (const SettingInfo *i = settingInfos(); i->key; ++i, ++n) {
		std::string value = std::string(i->argument) == "SECONDS" ? "7" : "/abs/value";
		if (std::string(i->key) == "server")
			value = "https://as";
		INFO(i->key);
		CHECK(applySetting(s, i->key, value).ok());
	}
	CHECK(n >= 8);
	CHECK(s.endTimeout == 7);
}

TEST_CASE("validation: absolute state dir, http(s) server")
{
	Settings s;
	s.stateDir = "relative";
	CHECK_FALSE(validateSettings(s).ok());
	s.stateDir = "/run/x";
	s.server = "ftp://as";
	CHECK_FALSE(validateSettings(s).ok());
	s.server = "http://127.0.0.1:1";
	CHECK(validateSettings(s).ok());
}

TEST_CASE("config location: explicit, environment, default; a missing default is fine")
{
	auto dir = TempDir::create();
	REQUIRE(dir.ok());
	std::string path = dir->file("c.conf");
	REQUIRE(writeFileAtomic(path, asBytes("[cvm-launch]\nend-timeout=3\n")).ok());

	unsetenv("CVM_LAUNCH_CONFIG");
	auto def = configLocation();
	CHECK(def.path == kDefaultConfigPath);
	CHECK_FALSE(def.required);

	setenv("CVM_LAUNCH_CONFIG", path.c_str(), 1);
	auto env = configLocation();
	CHECK(env.path == path);
	CHECK(env.required);
	auto s = loadSettings(env);
	REQUIRE(s.ok());
	CHECK(s->endTimeout == 3);

	auto expl = configLocation(dir->file("missing.conf"));
	CHECK(expl.required);
	auto missing = loadSettings(expl);
	REQUIRE_FALSE(missing.ok());
	CHECK(missing.error().message().find("missing.conf") != std::string::npos);
	unsetenv("CVM_LAUNCH_CONFIG");
}

TEST_CASE("the installed example configuration loads")
{
	const char *root = getenv("CVM_SOURCE_ROOT");
	REQUIRE(root);
	auto s = loadSettings({ std::string(root) + "/config/cvm-launch.conf", true });
	REQUIRE(s.ok());
	CHECK(validateSettings(*s).ok());
}
