// SPDX-License-Identifier: Apache-2.0
//
// The client against peers that do not speak QMP properly, on real unix
// sockets (socketpair and a listening socket), each served from a thread:
// every case ends with a clear error within its timeout, never a crash or a
// hang.
#include <catch2/catch.hpp>

#include <functional>
#include <thread>

#include <sys/socket.h>
#include <unistd.h>

#include "cvm/common/json.h"
#include "cvm/qmp/json_splitter.h"
#include "cvm/qmp/sync_client.h"
#include "cvm/qmp/unix_socket.h"
#include "cvm/qmp/wire.h"
#include "test_support.h"

using namespace cvm;
using namespace cvm::qmp;
using namespace std::chrono_literals;

namespace {

const std::string kGreeting =
	R"({"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "test"}, "capabilities": ["oob"]}})"
	"\r\n";

// The server end of a socketpair, played by a script on its own thread.
class Peer
{
public:
	using Script = std::function<void(Peer &)>;

	explicit Peer(Script script)
	{
		int fds[2];
		REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
		fd_ = fds[0];
		clientFd_ = UniqueFd(fds[1]);
		thread_ = std::thread([this, script = std::move(script)] {
			script(*this);
			::shutdown(fd_, SHUT_RDWR);
		});
	}
	~Peer()
	{
		stop_ = true;
		::shutdown(fd_, SHUT_RDWR);
		thread_.join();
		::close(fd_);
	}

	UniqueFd takeClientFd() { return std::move(clientFd_); }

	void send(std::string_view bytes)
	{
		while (!bytes.empty()) {
			ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
			if (n <= 0)
				return;
			bytes.remove_prefix(static_cast<size_t>(n));
		}
	}
	void drip(std::string_view bytes, std::chrono::microseconds pause)
	{
		for (char c : bytes) {
			if (stop_)
				return;
			send(std::string_view(&c, 1));
			std::this_thread::sleep_for(pause);
		}
	}
	// The next client message, or null at EOF.
	JsonNodePtr receive()
	{
		for (;;) {
			std::optional<Frame> frame;
			size_t used = buffer_.empty() ? 0 : splitter_.consume(buffer_, frame);
			buffer_.erase(0, used);
			if (frame && !frame->isError())
				return json::parse(frame->text).value();
			if (used > 0)
				continue;
			char chunk[4096];
			ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
			if (n <= 0)
				return nullptr;
			buffer_.append(chunk, static_cast<size_t>(n));
		}
	}
	// The id of the next client message ("" at EOF).
	std::string receiveId()
	{
		JsonNodePtr m = receive();
		if (!m)
			return {};
		JsonNode *id = messageId(json_node_get_object(m.get()));
		return id ? json_node_get_string(id) : "";
	}
	void reply(const std::string &id, const std::string &value = "{}")
	{
		send("{\"return\": " + value + ", \"id\": \"" + id + "\"}\r\n");
	}
	// Greeting, then the reply to qmp_capabilities.
	void handshake()
	{
		send(kGreeting);
		reply(receiveId());
	}
	// Blocks until the client closes its end.
	void waitForEof()
	{
		while (receive()) {
		}
	}

private:
	int fd_ = -1;
	UniqueFd clientFd_;
	std::thread thread_;
	std::atomic<bool> stop_{ false };
	JsonSplitter splitter_;
	std::string buffer_;
};

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
	std::thread server([&] {
		GObjectPtr<GSocket> s(g_socket_accept(listener->get(), nullptr, nullptr));
		REQUIRE(s);
		auto send = [&](const std::string &b) {
			g_socket_send(s.get(), b.data(), b.size(), nullptr, nullptr);
		};
		send(kGreeting);
		char buf[4096];
		gssize n = g_socket_receive(s.get(), buf, sizeof(buf), nullptr, nullptr);
		REQUIRE(n > 0);
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
}
