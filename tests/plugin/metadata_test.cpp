// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "cvm/plugin/metadata.h"

using namespace cvm;
using namespace cvm::plugin;

using Attrs = std::vector<std::pair<std::string, std::string>>;

TEST_CASE("all attributes parse and write back the same")
{
	Attrs in = { { "server", "https://as.example:8443" },
		     { "vm", "9a3e9d4c-1b2f-4a6e-8f00-0123456789ab" },
		     { "plain-start", "attest" },
		     { "scheme", "amd-sev-es" },
		     { "policy", "0x5" },
		     { "ca", "/etc/cvm-launch/as-ca.pem" },
		     { "kernel-hashes", "yes" },
		     { "secret-address", "0x80f000" } };
	auto m = parseLaunchAttributes(in);
	REQUIRE(m.ok());
	CHECK(m->server == "https://as.example:8443");
	CHECK(m->plainStart == PlainStart::Attest);
	CHECK(m->scheme == SevScheme::SevEs);
	CHECK(m->policy == 5u);
	CHECK(m->kernelHashes == true);
	CHECK(m->secretAddress == 0x80f000u);
	CHECK(launchAttributes(*m) == in);
}

TEST_CASE("defaults: nothing written, vm id from the domain UUID")
{
	auto m = parseLaunchAttributes({});
	REQUIRE(m.ok());
	CHECK(m->plainStart == PlainStart::Refuse);
	CHECK(m->scheme == SevScheme::Sev);
	CHECK_FALSE(m->policy);
	CHECK(launchAttributes(*m).empty());
	CHECK(effectiveVmId(*m, "uuid-1") == "uuid-1");
	m->vmId = "web-1";
	CHECK(effectiveVmId(*m, "uuid-1") == "web-1");
}

TEST_CASE("scheme intel-tdx: an attested TD launch, without the SEV-only knobs")
{
	Attrs in = { { "server", "https://as.example:8443" }, { "vm", "td-1" }, { "scheme", "intel-tdx" } };
	auto m = parseLaunchAttributes(in);
	REQUIRE(m.ok());
	CHECK(m->scheme == SevScheme::IntelTdx);
	CHECK(sevSchemeName(m->scheme) == "intel-tdx");
	CHECK(launchAttributes(*m) == in);
	// The refusal names the SEV-only attribute, wherever it stands.
	auto bad = parseLaunchAttributes({ { "policy", "0x1" }, { "scheme", "intel-tdx" } });
	REQUIRE_FALSE(bad.ok());
	CHECK_THAT(bad.error().message(), Catch::Contains("'policy' applies to AMD SEV only"));
}

TEST_CASE("bad attributes are refused with their name")
{
	const Attrs bad[] = {
		{ { "server", "ftp://x" } },
		{ { "server", "https://exa mple" } },
		{ { "vm", "a/b" } },
		{ { "vm", "" } },
		{ { "plain-start", "yes" } },
		{ { "scheme", "intel-sgx" } },
		{ { "scheme", "intel-tdx" }, { "policy", "0x1" } },
		{ { "scheme", "intel-tdx" }, { "kernel-hashes", "yes" } },
		{ { "scheme", "intel-tdx" }, { "secret-address", "0x80f000" } },
		{ { "policy", "0x100000000" } },
		{ { "policy", "-1" } },
		{ { "policy", "0x" } },
		{ { "ca", "relative.pem" } },
		{ { "kernel-hashes", "true" } },
		{ { "secret-address", "12z" } },
		{ { "colour", "blue" } },
		{ { "vm", "a" }, { "vm", "b" } },
	};
	for (const auto &attrs : bad) {
		auto m = parseLaunchAttributes(attrs);
		INFO(attrs.back().first << "=" << attrs.back().second);
		REQUIRE_FALSE(m.ok());
		CHECK(m.error().message().find("'" + attrs.back().first + "'") != std::string::npos);
	}
}

TEST_CASE("parseUnsigned: decimal and hex, bounded")
{
	CHECK(*parseUnsigned("31", 100, "x") == 31u);
	CHECK(*parseUnsigned("0x1F", 100, "x") == 31u);
	CHECK(*parseUnsigned("18446744073709551615", UINT64_MAX, "x") == UINT64_MAX);
	CHECK_FALSE(parseUnsigned("18446744073709551616", UINT64_MAX, "x").ok());
	CHECK_FALSE(parseUnsigned("101", 100, "x").ok());
	CHECK_FALSE(parseUnsigned(" 1", 100, "x").ok());
	CHECK_FALSE(parseUnsigned("", 100, "x").ok());
}
