// SPDX-License-Identifier: Apache-2.0
//
// The CEK source against a stand-in for AMD's Key Distribution Service: a
// libsoup server on loopback that serves /cek/id/<hex>.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include "cek_source.h"
#include "cvm/common/file.h"
#include "metrics.h"
#include "test_http.h"

using namespace cvm;
using namespace cvm::server;

namespace {

const Bytes kChip(64, 0x42);
const Bytes kCek(2084, 0x17);

struct StandInKds {
	std::atomic<int> requests{ 0 };
	std::atomic<unsigned> status{ 200 };
	std::atomic<int> delayMs{ 0 };
	Bytes body = kCek;
	std::string lastPath;
	test::StubServer server{ [this](SoupServer *, SoupServerMessage *msg, const std::string &path) {
		++requests;
		lastPath = path;
		if (delayMs > 0)
			std::this_thread::sleep_for(std::chrono::milliseconds(delayMs.load()));
		soup_server_message_set_status(msg, status, nullptr);
		soup_server_message_set_response(msg, "application/octet-stream", SOUP_MEMORY_COPY,
						 reinterpret_cast<const char *>(body.data()), body.size());
	} };
};

} // namespace

TEST_CASE("a missing CEK is fetched from the KDS by chip id, then cached")
{
	auto dir = TempDir::create();
	REQUIRE(dir.ok());
	StandInKds kds;
	Metrics metrics;
	CekSource source({ dir->file("cache"), kds.server.url(), 5, true, "" }, &metrics);

	CHECK_FALSE(source.cached(kChip)->has_value());
	auto cek = source.fetch(kChip);
	REQUIRE(cek.ok());
	CHECK(*cek == kCek);
	CHECK(kds.lastPath == "/cek/id/" + toHex(kChip));
	source.remember(kChip, *cek);
	CHECK(fileExists(dir->file("cache/" + toHex(kChip) + ".cert")));

	// A new source (a restarted server) finds it in the cache directory.
	CekSource restarted({ dir->file("cache"), kds.server.url(), 5, true, "" }, nullptr);
	auto hit = restarted.cached(kChip);
	REQUIRE(hit.ok());
	REQUIRE(hit->has_value());
	CHECK(**hit == kCek);
	CHECK(kds.requests == 1);
	CHECK(metrics.render().find("cvm_attestd_events_total{event=\"cek-lookup\",result=\"kds\"} 1") !=
	      std::string::npos);
}

TEST_CASE("concurrent lookups of one new chip ask the KDS once")
{
	StandInKds kds;
	kds.delayMs = 200;
	CekSource source({ "", kds.server.url(), 5, true, "" }, nullptr);
	std::vector<std::thread> threads;
	std::atomic<int> ok{ 0 };
	for (int i = 0; i < 8; ++i)
		threads.emplace_back([&] {
			if (source.fetch(kChip).ok())
				++ok;
		});
	for (auto &t : threads)
		t.join();
	CHECK(ok == 8);
	CHECK(kds.requests == 1);
}

TEST_CASE("KDS failures are errors that say what happened")
{
	StandInKds kds;
	CekSource source({ "", kds.server.url(), 1, true, "" }, nullptr);

	kds.status = 404;
	auto missing = source.fetch(kChip);
	REQUIRE_FALSE(missing.ok());
	CHECK(missing.error().code() == ErrorCode::NotFound);
	CHECK(missing.error().message().find("HTTP 404") != std::string::npos);

	kds.status = 200;
	kds.body = Bytes(100, 1);
	auto wrongSize = source.fetch(kChip);
	REQUIRE_FALSE(wrongSize.ok());
	CHECK(wrongSize.error().message().find("not a 2084-byte CEK") != std::string::npos);

	kds.body = kCek;
	kds.delayMs = 2500;
	auto start = std::chrono::steady_clock::now();
	auto slow = source.fetch(Bytes(64, 0x43));
	double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
	REQUIRE_FALSE(slow.ok());
	CHECK(slow.error().code() == ErrorCode::Timeout);
	CHECK(seconds < 2.4);

	CekSource off({ "", kds.server.url(), 1, false, "" }, nullptr);
	auto disabled = off.fetch(kChip);
	REQUIRE_FALSE(disabled.ok());
	CHECK(disabled.error().message().find("disabled") != std::string::npos);
}
