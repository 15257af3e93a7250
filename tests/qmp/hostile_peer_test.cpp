// SPDX-License-Identifier: Apache-2.0
//
// The client against peers that do not speak QMP properly, on real unix
// sockets (socketpair and a listening socket), each served from a thread:
// every case ends with a clear error within its timeout, never a crash or a
// hang.
#include <catch2/catch.hpp>

#include <atomic>
#include <functional>
#include <thread>

#include <sys/socket.h>
#include <unistd.h>

#include "cvm/common/json.h"
#include "cvm/qmp/json_splitter.h"
#include "cvm/qmp/sync_client.h"
#include "cvm/qmp/unix_socket.h"
#include "cvm/qmp/wire.h"
#include "scripted_peer.h"
#include "test_support.h"

using namespace cvm;
using namespace cvm::qmp;
using namespace std::chrono_literals;
using cvm::test::kGreeting;
using cvm::test::Peer;

namespace {

Result<std::unique_ptr<SyncClient>> connectTo(Peer &peer, Milliseconds timeout = 3s, ClientOptions options = {})
{
	return SyncClient::adoptFd(peer.takeClientFd(), timeout, std::move(options));
}

// Runs `body` and checks it took less than `limit`.
template <typename F>
void within(std::chrono::milliseconds limit, F body)
{
	auto start = std::chrono::steady_clock::now();
	body();
	CHECK(std::chrono::steady_clock::now() - start < limit);
}

} // namespace

TEST_CASE("a well-behaved peer: handshake and a command over a socketpair")
{
	Peer peer([](Peer &p) {
		p.handshake();
		p.reply(p.receiveId(), R"({"status": "prelaunch", "running": false})");
		p.waitForEof();
	});
	auto qmp = connectTo(peer);
	REQUIRE(qmp.ok());
	auto r = (*qmp)->execute("query-status");
	REQUIRE(r.ok());
	CHECK(json::serialize(r->get()) == R"({"status":"prelaunch","running":false})");
}

TEST_CASE("early EOF: the peer closes before sending anything")
{
	Peer peer([](Peer &) {});
	within(2s, [&] {
		auto qmp = connectTo(peer);
		REQUIRE_FALSE(qmp.ok());
		CHECK(qmp.error().code() == ErrorCode::Disconnected);
		CHECK_THAT(qmp.error().message(), Catch::Contains("QEMU exited during start-up"));
	});
}

TEST_CASE("greeting then EOF before negotiation completes")
{
	Peer peer([](Peer &p) {
		p.send(kGreeting);
		(void)p.receive(); // qmp_capabilities, never answered
	});
	auto qmp = connectTo(peer);
	REQUIRE_FALSE(qmp.ok());
	CHECK(qmp.error().code() == ErrorCode::Disconnected);
	CHECK_THAT(qmp.error().message(), Catch::Contains("QEMU exited during start-up"));
}

TEST_CASE("no greeting: the start-up times out")
{
	Peer peer([](Peer &p) { p.waitForEof(); });
	within(3s, [&] {
		auto qmp = connectTo(peer, 300ms);
		REQUIRE_FALSE(qmp.ok());
		CHECK(qmp.error().code() == ErrorCode::Timeout);
	});
}

TEST_CASE("truncated JSON then EOF fails the pending command as Disconnected")
{
	Peer peer([](Peer &p) {
		p.handshake();
		std::string id = p.receiveId();
		p.send("{\"return\": {\"status\": \"runn");
	});
	auto qmp = connectTo(peer);
	REQUIRE(qmp.ok());
	within(3s, [&] {
		auto r = (*qmp)->execute("query-status", nullptr, 2s);
		REQUIRE_FALSE(r.ok());
		CHECK(r.error().code() == ErrorCode::Disconnected);
		CHECK_THAT(r.error().message(), Catch::Contains("query-status"));
	});
}

TEST_CASE("garbage bytes are a protocol error that closes the connection")
{
	const char *garbage[] = { "\xff\xfe\x01garbage\r\n", "[1, 2, 3]\r\n", "\"a string\"\r\n",
				  "}\r\n" };
	for (const char *g : garbage) {
		INFO(json::serialize(json::stringNode(g).get()));
		std::string bytes = g;
		Peer peer([bytes](Peer &p) {
			p.handshake();
			(void)p.receive();
			p.send(bytes);
			p.waitForEof();
		});
		auto qmp = connectTo(peer);
		REQUIRE(qmp.ok());
		auto r = (*qmp)->execute("query-status", nullptr, 2s);
		REQUIRE_FALSE(r.ok());
		CHECK(r.error().code() == ErrorCode::Protocol);
		CHECK_THAT(r.error().message(), Catch::Contains("invalid QMP stream"));
		CHECK((*qmp)->state() == ConnectionState::Closed);
	}
}

TEST_CASE("an object of no known kind is ignored (logged), the connection stays up")
{
	Peer peer([](Peer &p) {
		p.handshake();
		std::string id = p.receiveId();
		p.send("{\"neither\": 1}\r\n");
		p.reply(id, "5");
		p.waitForEof();
	});
	auto qmp = connectTo(peer);
	REQUIRE(qmp.ok());
	auto r = (*qmp)->execute("query-status", nullptr, 2s);
	REQUIRE(r.ok());
	CHECK(json_node_get_int(r->get()) == 5);
}

TEST_CASE("a greeting that is not a greeting is refused")
{
	Peer peer([](Peer &p) {
		p.send("{\"return\": {}}\r\n");
		p.waitForEof();
	});
	auto qmp = connectTo(peer);
	REQUIRE_FALSE(qmp.ok());
	CHECK(qmp.error().code() == ErrorCode::Protocol);
	CHECK_THAT(qmp.error().message(), Catch::Contains("expected the greeting"));
}

TEST_CASE("an oversized message exceeds the configured cap")
{
	Peer peer([](Peer &p) {
		p.handshake();
		std::string id = p.receiveId();
		p.reply(id, "\"" + std::string(64 * 1024, 'x') + "\"");
		p.waitForEof();
	});
	ClientOptions options;
	options.maxMessageSize = 4096;
	auto qmp = connectTo(peer, 3s, options);
	REQUIRE(qmp.ok());
	auto r = (*qmp)->execute("query-status", nullptr, 2s);
	REQUIRE_FALSE(r.ok());
	CHECK(r.error().code() == ErrorCode::LimitExceeded);
}

TEST_CASE("slow drip: one byte at a time still makes a conversation")
{
	Peer peer([](Peer &p) {
		p.drip(kGreeting, 200us);
		std::string caps = p.receiveId();
		p.drip("{\"return\": {}, \"id\": \"" + caps + "\"}\r\n", 200us);
		std::string id = p.receiveId();
		p.drip("{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"STOP\"}\r\n", 200us);
		p.drip("{\"return\": 7,\r\n \"id\": \"" + id + "\"}\r\n", 200us);
		p.waitForEof();
	});
	auto qmp = connectTo(peer, 10s);
	REQUIRE(qmp.ok());
	auto r = (*qmp)->execute("stop", nullptr, 10s);
	REQUIRE(r.ok());
	CHECK(json_node_get_int(r->get()) == 7);
	// Already received (before the reply): no wait needed.
	auto stop = (*qmp)->waitForEvent("STOP", 0ms);
	REQUIRE(stop.ok());
	CHECK(stop->seconds == 1);
	CHECK(stop->microseconds == 2);
}

TEST_CASE("slow drip of a reply that never ends hits the command timeout")
{
	Peer peer([](Peer &p) {
		p.handshake();
		(void)p.receive();
		p.send("{\"return\": \"");
		p.drip(std::string(100000, 'x'), 1ms);
	});
	auto qmp = connectTo(peer);
	REQUIRE(qmp.ok());
	within(3s, [&] {
		auto r = (*qmp)->execute("query-status", nullptr, 300ms);
		REQUIRE_FALSE(r.ok());
		CHECK(r.error().code() == ErrorCode::Timeout);
	});
	(*qmp)->close();
}

TEST_CASE("a reply with an unknown id is dropped; the right one still arrives")
{
	Peer peer([](Peer &p) {
		p.handshake();
		std::string id = p.receiveId();
		p.reply("not-ours", "1");
		p.send("{\"return\": 2, \"id\": {\"an\": \"object\"}}\r\n");
		p.reply(id, "3");
		p.waitForEof();
	});
	auto qmp = connectTo(peer);
	REQUIRE(qmp.ok());
	auto r = (*qmp)->execute("query-status");
	REQUIRE(r.ok());
	CHECK(json_node_get_int(r->get()) == 3);
}

TEST_CASE("replies out of order are matched by id, not by order")
{
	Peer peer([](Peer &p) {
		p.handshake();
		std::string a = p.receiveId();
		std::string b = p.receiveId();
		p.send("{\"id\": \"" + b + "\", \"return\": \"b\"}\r\n");
		p.reply(a, "\"a\"");
		p.waitForEof();
	});
	ClientOptions options;
	GMainContextPtr context(g_main_context_new());
	options.context = context.get();
	Client client(options);
	std::vector<std::string> got;
	auto record = [&](Result<JsonNodePtr> r) { got.push_back(r ? json_node_get_string(r->get()) : "error"); };
	client.execute("first", nullptr, record);
	client.execute("second", nullptr, record);
	client.adoptFd(peer.takeClientFd(), [](const Status &) {});
	int64_t deadline = g_get_monotonic_time() + 3 * G_USEC_PER_SEC;
	while (got.size() < 2 && g_get_monotonic_time() < deadline)
		g_main_context_iteration(context.get(), TRUE);
	CHECK(got == std::vector<std::string>{ "b", "a" });
	client.close();
}

TEST_CASE("an error without id fails the oldest command in flight")
{
	Peer peer([](Peer &p) {
		p.handshake();
		std::string id = p.receiveId();
		p.send(R"({"error": {"class": "GenericError", "desc": "JSON parse error, expecting value"}})"
		       "\r\n");
		p.waitForEof();
	});
	auto qmp = connectTo(peer);
	REQUIRE(qmp.ok());
	auto r = (*qmp)->execute("query-status");
	REQUIRE_FALSE(r.ok());
	CHECK(r.error().code() == ErrorCode::Remote);
	CHECK(r.error().tag() == "GenericError");
	CHECK(r.error().message() == "query-status: JSON parse error, expecting value");
}

TEST_CASE("the peer disconnecting fails every pending command at once")
{
	Peer peer([](Peer &p) {
		p.handshake();
		for (int i = 0; i < 3; ++i)
			(void)p.receive();
	});
	GMainContextPtr context(g_main_context_new());
	ClientOptions options;
	options.context = context.get();
	Client client(options);
	std::vector<ErrorCode> codes;
	bool closed = false;
	client.setClosedCallback([&](const Error &) { closed = true; });
	client.adoptFd(peer.takeClientFd(), [](const Status &) {});
	for (int i = 0; i < 3; ++i)
		client.execute("query-status", nullptr,
			       [&](Result<JsonNodePtr> r) { codes.push_back(r ? ErrorCode::Io : r.error().code()); });
	int64_t deadline = g_get_monotonic_time() + 3 * G_USEC_PER_SEC;
	while (!closed && g_get_monotonic_time() < deadline)
		g_main_context_iteration(context.get(), TRUE);
	CHECK(closed);
	CHECK(codes == std::vector<ErrorCode>(3, ErrorCode::Disconnected));
	CHECK(client.pendingCommands() == 0);
}

TEST_CASE("connect() names a missing socket and a path that is too long")
{
	auto dir = TempDir::create("cvmt-qmp-");
	REQUIRE(dir.ok());
	auto missing = SyncClient::connect(dir->file("none.sock"), 1s);
	REQUIRE_FALSE(missing.ok());
	CHECK(missing.error().code() == ErrorCode::NotFound);
	CHECK_THAT(missing.error().message(), Catch::Contains("none.sock"));
	auto tooLong = SyncClient::connect("/" + std::string(200, 'a'), 1s);
	REQUIRE_FALSE(tooLong.ok());
	CHECK(tooLong.error().code() == ErrorCode::InvalidArgument);
}

TEST_CASE("a listening peer on a path: connect, negotiate, timeout of a command without reply")
{
	auto dir = TempDir::create("cvmt-qmp-");
	REQUIRE(dir.ok());
	std::string path = dir->file("qmp.sock");
	auto listener = listenUnixSocket(path);
	REQUIRE(listener.ok());
	// Catch's assertions are not thread-safe: the server thread only records
	// what happened, the main thread checks it.
	std::atomic<bool> accepted{ false }, capabilitiesReceived{ false };
	std::thread server([&] {
		GObjectPtr<GSocket> s(g_socket_accept(listener->get(), nullptr, nullptr));
		if (!s)
			return;
		accepted = true;
		auto send = [&](const std::string &b) {
			g_socket_send(s.get(), b.data(), b.size(), nullptr, nullptr);
		};
		send(kGreeting);
		char buf[4096];
		gssize n = g_socket_receive(s.get(), buf, sizeof(buf), nullptr, nullptr);
		if (n <= 0)
			return;
		capabilitiesReceived = true;
		send("{\"return\": {}, \"id\": \"cvm-1\"}\r\n");
		// Never answer the next command, wait for the client to go.
		while (g_socket_receive(s.get(), buf, sizeof(buf), nullptr, nullptr) > 0) {
		}
	});
	{
		auto qmp = SyncClient::connect(path, 3s);
		REQUIRE(qmp.ok());
		within(2s, [&] {
			auto r = (*qmp)->execute("query-status", nullptr, 200ms);
			REQUIRE_FALSE(r.ok());
			CHECK(r.error().code() == ErrorCode::Timeout);
			CHECK_THAT(r.error().message(), Catch::Contains("query-status"));
		});
		CHECK((*qmp)->state() == ConnectionState::Running);
	}
	server.join();
	CHECK(accepted);
	CHECK(capabilitiesReceived);
}

namespace {

std::string eventLine(int seq, size_t padding)
{
	return "{\"event\": \"FLOOD\", \"data\": {\"seq\": " + std::to_string(seq) + ", \"pad\": \"" +
	       std::string(padding, 'x') + "\"}, \"timestamp\": {\"seconds\": 1, \"microseconds\": 0}}\r\n";
}

int64_t seqOf(const Event &e)
{
	return json::getInt(json_node_get_object(e.data.get()), "seq").value();
}

} // namespace

TEST_CASE("a flood of big events is held to the event buffer's byte budget, oldest dropped")
{
	constexpr int kEvents = 200;
	constexpr size_t kPad = 20 * 1024;
	Peer peer([](Peer &p) {
		p.handshake();
		std::string id = p.receiveId();
		for (int i = 0; i < kEvents; ++i)
			p.send(eventLine(i, kPad));
		// One event bigger than the whole buffer: never kept.
		p.send(eventLine(kEvents, 300 * 1024));
		p.reply(id);
		p.waitForEof();
	});
	auto qmp = connectTo(peer);
	REQUIRE(qmp.ok());
	EventBufferLimits limits;
	limits.maxBytes = 256 * 1024;
	(*qmp)->setEventBufferLimits(limits);
	REQUIRE((*qmp)->execute("query-status", nullptr, 10s).ok());
	CHECK((*qmp)->bufferedEventBytes() <= limits.maxBytes);
	CHECK((*qmp)->bufferedEventBytes() > limits.maxBytes - 2 * (kPad + 200));
	auto events = (*qmp)->takeEvents();
	INFO(events.size() << " kept, " << (*qmp)->droppedEvents() << " dropped");
	REQUIRE(events.size() >= 10);
	CHECK(events.size() < 13);
	CHECK((*qmp)->droppedEvents() == kEvents + 1 - events.size());
	// The newest that fit are kept, in order.
	for (size_t i = 0; i < events.size(); ++i)
		CHECK(seqOf(events[i]) == int64_t(kEvents - events.size() + i));
	CHECK((*qmp)->bufferedEventBytes() == 0);
	// The connection is still up.
	CHECK((*qmp)->state() == ConnectionState::Running);
}

TEST_CASE("the event buffer's count limit keeps the newest events")
{
	Peer peer([](Peer &p) {
		p.handshake();
		std::string id = p.receiveId();
		for (int i = 0; i < 50; ++i)
			p.send(eventLine(i, 0));
		p.reply(id);
		p.waitForEof();
	});
	auto qmp = connectTo(peer);
	REQUIRE(qmp.ok());
	EventBufferLimits limits;
	limits.maxEvents = 10;
	(*qmp)->setEventBufferLimits(limits);
	REQUIRE((*qmp)->execute("query-status", nullptr, 10s).ok());
	CHECK((*qmp)->droppedEvents() == 40);
	// Lowering the limits applies at once.
	limits.maxEvents = 5;
	(*qmp)->setEventBufferLimits(limits);
	CHECK((*qmp)->droppedEvents() == 45);
	CHECK((*qmp)->bufferedEventBytes() == 5 * (eventLine(0, 0).size() - 2) + 5); // seq 45..49
	// waitForEvent takes the oldest kept one.
	auto first = (*qmp)->waitForEvent("FLOOD", 0ms);
	REQUIRE(first.ok());
	CHECK(seqOf(*first) == 45);
	CHECK(first->wireSize == eventLine(45, 0).size() - 2);
	CHECK((*qmp)->takeEvents().size() == 4);
	CHECK((*qmp)->bufferedEventBytes() == 0);
}

TEST_CASE("waitForEvent with 0 ms does not wait for an event that has not arrived")
{
	Peer peer([](Peer &p) {
		p.handshake();
		p.waitForEof();
	});
	auto qmp = connectTo(peer);
	REQUIRE(qmp.ok());
	within(1s, [&] {
		auto e = (*qmp)->waitForEvent("SHUTDOWN", 0ms);
		REQUIRE_FALSE(e.ok());
		CHECK(e.error().code() == ErrorCode::Timeout);
		CHECK(e.error().message() == "no SHUTDOWN event has arrived");
	});
	within(2s, [&] {
		auto e = (*qmp)->waitForEvent("SHUTDOWN", 100ms);
		REQUIRE_FALSE(e.ok());
		CHECK(e.error().code() == ErrorCode::Timeout);
		CHECK(e.error().message() == "no SHUTDOWN event within 100 ms");
	});
}
