// SPDX-License-Identifier: Apache-2.0
//
// Launches from a platform whose chain carries an unsigned CEK (as real
// Genoa hosts export it): the server completes the chain with the
// AMD-signed CEK looked up by chip id, from its cache directory or from a
// stand-in KDS on loopback, and caches what verified.
#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <mutex>

#include "cvm/attest/errors.h"
#include "cvm/common/file.h"
#include "test_daemon.h"
#include "test_http.h"
#include "test_platform.h"
#include "test_support.h"

using namespace cvm;
using namespace cvm::attest;

namespace {

struct StandInKds {
	std::atomic<int> requests{ 0 };
	std::mutex mutex;
	std::map<std::string, Bytes> ceks; // path -> body
	test::StubServer server{ [this](SoupServer *, SoupServerMessage *msg, const std::string &path) {
		++requests;
		std::lock_guard<std::mutex> guard(mutex);
		auto it = ceks.find(path);
		if (it == ceks.end()) {
			soup_server_message_set_status(msg, 404, nullptr);
			return;
		}
		soup_server_message_set_status(msg, 200, nullptr);
		soup_server_message_set_response(msg, "application/octet-stream", SOUP_MEMORY_COPY,
						 reinterpret_cast<const char *>(it->second.data()), it->second.size());
	} };
	void serve(ByteView chip, const Bytes &cek)
	{
		std::lock_guard<std::mutex> guard(mutex);
		ceks["/cek/id/" + toHex(chip)] = cek;
	}
};

Registration registration()
{
	Registration r;
	r.sev.policy = 1;
	r.sev.launchDigests = { Bytes(32, 0x3c) };
	r.maxConcurrentLaunches = 50;
	return r;
}

struct Setup {
	test::DaemonFiles files = test::DaemonFiles::create();
	test::TestPlatform platform;
	StandInKds kds;

	explicit Setup(bool fetch)
	{
		platform.writeRoots(files.dir.file("test-roots"));
		files.config.testRoots = files.dir.file("test-roots");
		files.config.kds = fetch;
		files.config.kdsUrl = kds.server.url();
		files.config.kdsTimeout = 5;
	}
	LaunchRequest unsignedRequest(bool withChip = true) const
	{
		LaunchRequest r = platform.launchRequest(withChip);
		Bytes cek = platform.unsignedCek();
		std::copy(cek.begin(), cek.end(), r.certChain.begin() + 2 * sev::kSevCertificateSize);
		return r;
	}
	std::string cachedCek() const
	{
		return files.config.cekCache + "/" + toHex(platform.chipId()) + ".cert";
	}
};

} // namespace

TEST_CASE("unsigned CEK: 422 without a chip id, 502 when no signed CEK is to be had")
{
	test::requireFixtures();
	Setup s(false);
	test::InProcessDaemon daemon(s.files.config);
	REQUIRE(daemon.ownerClient()->registerVm("vm", registration()).ok());
	auto host = daemon.hostClient();

	auto noChip = host->launch("vm", s.unsignedRequest(false));
	REQUIRE_FALSE(noChip.ok());
	CHECK(noChip.error().tag() == code::kCekUnsigned);
	CHECK(httpStatusForCode(noChip.error().tag()) == 422);
	CHECK(noChip.error().message().find("cpu-id") != std::string::npos);

	auto nothing = host->launch("vm", s.unsignedRequest());
	REQUIRE_FALSE(nothing.ok());
	CHECK(nothing.error().tag() == code::kCekUnavailable);
	CHECK(httpStatusForCode(nothing.error().tag()) == 502);
	CHECK(s.kds.requests == 0); // fetching is off

	// The signed CEK in the cache directory completes the chain.
	REQUIRE(makeDirectories(s.files.config.cekCache, 0755).ok());
	REQUIRE(writeFileAtomic(s.cachedCek(), s.platform.cek().bytes(), 0644).ok());
	auto launch = host->launch("vm", s.unsignedRequest());
	REQUIRE(launch.ok());
	CHECK(s.platform.open(*launch).ok());
}

TEST_CASE("unsigned CEK: fetched from the KDS by chip id, verified, then cached")
{
	test::requireFixtures();
	Setup s(true);
	s.kds.serve(s.platform.chipId(), s.platform.cek().bytes());
	{
		test::InProcessDaemon daemon(s.files.config);
		REQUIRE(daemon.ownerClient()->registerVm("vm", registration()).ok());
		auto host = daemon.hostClient();
		auto launch = host->launch("vm", s.unsignedRequest());
		REQUIRE(launch.ok());
		CHECK(s.platform.open(*launch).ok());
		CHECK(s.kds.requests == 1);
		CHECK(fileExists(s.cachedCek()));
		// The verified chain is cached: the next launch asks nobody.
		REQUIRE(host->launch("vm", s.unsignedRequest()).ok());
		CHECK(s.kds.requests == 1);
	}
	// A restarted server finds the CEK in the cache directory.
	test::InProcessDaemon restarted(s.files.config);
	REQUIRE(restarted.hostClient()->launch("vm", s.unsignedRequest()).ok());
	CHECK(s.kds.requests == 1);
}

TEST_CASE("unsigned CEK: a 'signed CEK' for another key is refused, and not cached")
{
	test::requireFixtures();
	Setup s(true);
	test::TestPlatform other;
	s.kds.serve(s.platform.chipId(), other.cek().bytes()); // AMD-signed, but another chip's key
	{
		test::InProcessDaemon daemon(s.files.config);
		REQUIRE(daemon.ownerClient()->registerVm("vm", registration()).ok());
		auto launch = daemon.hostClient()->launch("vm", s.unsignedRequest());
		REQUIRE_FALSE(launch.ok());
		CHECK(launch.error().tag() == code::kChainInvalid);
		CHECK_FALSE(fileExists(s.cachedCek()));
	}

	// Garbage from the KDS is not a CEK either; a refused answer is not
	// remembered, so once the KDS has the right CEK the launch goes through.
	s.kds.serve(s.platform.chipId(), Bytes(sev::kSevCertificateSize, 0x5a));
	test::InProcessDaemon again(s.files.config);
	auto host = again.hostClient();
	auto garbage = host->launch("vm", s.unsignedRequest());
	REQUIRE_FALSE(garbage.ok());
	CHECK(garbage.error().tag() == code::kChainInvalid);
	s.kds.serve(s.platform.chipId(), s.platform.cek().bytes());
	CHECK(host->launch("vm", s.unsignedRequest()).ok());
	CHECK(fileExists(s.cachedCek()));
	CHECK(s.kds.requests == 3);
}
