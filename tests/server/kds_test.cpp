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
	CekSource source({ dir->file("cache"), kds.server.url(), 5, true, "", 60 }, &metrics);

	CHECK_FALSE(source.cached(kChip)->has_value());
	auto cek = source.fetch(kChip);
	REQUIRE(cek.ok());
	CHECK(*cek == kCek);
	CHECK(kds.lastPath == "/cek/id/" + toHex(kChip));
	source.remember(kChip, *cek);
	CHECK(fileExists(dir->file("cache/" + toHex(kChip) + ".cert")));

	// A new source (a restarted server) finds it in the cache directory.
	CekSource restarted({ dir->file("cache"), kds.server.url(), 5, true, "", 60 }, nullptr);
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
	CekSource source({ "", kds.server.url(), 5, true, "", 60 }, nullptr);
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
	// No failure memory here: each case asks the KDS.
	CekSource source({ "", kds.server.url(), 1, true, "", 0 }, nullptr);

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

	CekSource off({ "", kds.server.url(), 1, false, "", 0 }, nullptr);
	auto disabled = off.fetch(kChip);
	REQUIRE_FALSE(disabled.ok());
	CHECK(disabled.error().message().find("disabled") != std::string::npos);
}

TEST_CASE("a failed lookup is remembered: the KDS is not asked again, and a slow one is waited for once")
{
	StandInKds kds;
	Metrics metrics;
	CekSource source({ "", kds.server.url(), 1, true, "", 60 }, &metrics);

	kds.status = 404;
	REQUIRE_FALSE(source.fetch(kChip).ok());
	kds.status = 200; // the KDS would answer now, but the failure is remembered
	auto again = source.fetch(kChip);
	REQUIRE_FALSE(again.ok());
	CHECK(again.error().code() == ErrorCode::NotFound);
	CHECK(again.error().message().find("remembered for 60 s") != std::string::npos);
	CHECK(kds.requests == 1);
	CHECK(metrics.render().find("result=\"failure-cached\"} 1") != std::string::npos);

	// A KDS that times out costs the timeout once, not once per launch.
	kds.delayMs = 1500;
	Bytes slowChip(64, 0x44);
	REQUIRE_FALSE(source.fetch(slowChip).ok());
	auto start = std::chrono::steady_clock::now();
	auto cached = source.fetch(slowChip);
	double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
	REQUIRE_FALSE(cached.ok());
	CHECK(cached.error().code() == ErrorCode::Timeout);
	CHECK(seconds < 0.5);
	CHECK(kds.requests == 2);
}

TEST_CASE("a slow lookup of one chip does not hold up the lookups of other chips")
{
	// A stand-in that answers one chip late (paused, not blocking its thread).
	const Bytes slowChip(64, 0x51), fastChip(64, 0x52);
	std::atomic<int> requests{ 0 };
	auto answer = [](SoupServerMessage *msg) {
		soup_server_message_set_status(msg, 200, nullptr);
		soup_server_message_set_response(msg, "application/octet-stream", SOUP_MEMORY_COPY,
						 reinterpret_cast<const char *>(kCek.data()), kCek.size());
	};
	test::StubServer kds([&](SoupServer *, SoupServerMessage *msg, const std::string &path) {
		++requests;
		if (path != "/cek/id/" + toHex(slowChip))
			return answer(msg);
		soup_server_message_pause(msg);
		GSource *later = g_timeout_source_new(1500);
		g_source_set_callback(
			later,
			[](gpointer data) -> gboolean {
				auto *m = static_cast<SoupServerMessage *>(data);
				soup_server_message_set_status(m, 200, nullptr);
				soup_server_message_set_response(m, "application/octet-stream", SOUP_MEMORY_COPY,
								 reinterpret_cast<const char *>(kCek.data()), kCek.size());
				soup_server_message_unpause(m);
				return G_SOURCE_REMOVE;
			},
			g_object_ref(msg), g_object_unref);
		g_source_attach(later, g_main_context_get_thread_default());
		g_source_unref(later);
	});
	CekSource source({ "", kds.url(), 5, true, "", 60 }, nullptr);
	std::thread slow([&] { CHECK(source.fetch(slowChip).ok()); });
	std::this_thread::sleep_for(std::chrono::milliseconds(300)); // the slow lookup is under way
	auto start = std::chrono::steady_clock::now();
	CHECK(source.fetch(fastChip).ok());
	double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
	slow.join();
	CHECK(seconds < 1.0);
	CHECK(requests == 2);
}
