// SPDX-License-Identifier: Apache-2.0
//
// The ways of starting a Client besides connect(): adopting a GIOStream the
// caller made, a stream that cannot work, and the process watch through a
// bare pid (ClientOptions::pid, a pidfd), which must report the exit status
// of a child that dies during start-up without reaping it.
#include <catch2/catch.hpp>

#include <csignal>
#include <thread>

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cvm/common/json.h"
#include "cvm/qmp/client.h"
#include "cvm/qmp/sync_client.h"
#include "scripted_peer.h"
#include "test_support.h"

using namespace cvm;
using namespace cvm::qmp;
using namespace std::chrono_literals;
using cvm::test::kGreeting;
using cvm::test::Peer;

namespace {

// Iterates `context` until `done` or 5 s have passed.
template <typename F>
void iterateUntil(GMainContext *context, F done)
{
	int64_t deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
	while (!done() && g_get_monotonic_time() < deadline)
		if (!g_main_context_iteration(context, FALSE))
			g_usleep(1000);
}

GObjectPtr<GSocketConnection> connectionFromFd(UniqueFd fd)
{
	GError *raw = nullptr;
	GObjectPtr<GSocket> socket(g_socket_new_from_fd(fd.get(), &raw));
	GErrorPtr error(raw);
	REQUIRE(socket);
	(void)fd.release();
	return GObjectPtr<GSocketConnection>(g_socket_connection_factory_create_connection(socket.get()));
}

// A fake QEMU as a forked child: greets on `fd`, reads qmp_capabilities, then
// dies of `killSignal` or exits with `exitCode`. Only async-signal-safe calls
// after fork().
pid_t forkFakeQemu(int fd, int otherFd, int exitCode, int killSignal)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	::close(otherFd);
	// No core file, and the default action (Catch handles SIGABRT in the parent).
	struct rlimit noCore = { 0, 0 };
	setrlimit(RLIMIT_CORE, &noCore);
	::signal(killSignal ? killSignal : SIGABRT, SIG_DFL);
	if (::write(fd, kGreeting.data(), kGreeting.size()) < 0)
		_exit(100);
	char buf[512];
	if (::read(fd, buf, sizeof(buf)) <= 0)
		_exit(101);
	if (killSignal)
		::raise(killSignal);
	_exit(exitCode);
}

struct ForkedQemu {
	pid_t pid = -1;
	UniqueFd clientFd;
};

ForkedQemu startFakeQemu(int exitCode, int killSignal)
{
	int fds[2];
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
	ForkedQemu q;
	q.pid = forkFakeQemu(fds[0], fds[1], exitCode, killSignal);
	REQUIRE(q.pid > 0);
	::close(fds[0]);
	q.clientFd = UniqueFd(fds[1]);
	return q;
}

} // namespace

TEST_CASE("adopt(GIOStream): a connection the caller made works, the client holds its own reference")
{
	Peer peer([](Peer &p) {
		p.handshake();
		p.reply(p.receiveId(), R"({"status": "prelaunch", "running": false})");
		p.waitForEof();
	});
	GMainContextPtr context(g_main_context_new());
	ClientOptions options;
	options.context = context.get();
	Client client(options);
	std::optional<Status> ready;
	{
		auto connection = connectionFromFd(peer.takeClientFd());
		client.adopt(G_IO_STREAM(connection.get()), [&](const Status &s) { ready = s; });
		// Our reference goes here; the client's keeps the stream open.
	}
	CHECK(client.state() == ConnectionState::Connecting);
	iterateUntil(context.get(), [&] { return ready.has_value(); });
	REQUIRE(ready);
	REQUIRE(ready->ok());
	CHECK(client.name() == "qmp");
	CHECK(client.greeting()->version.major == 7);
	std::optional<Result<JsonNodePtr>> reply;
	client.execute("query-status", nullptr, [&](Result<JsonNodePtr> r) { reply.emplace(std::move(r)); }, 3000ms);
	iterateUntil(context.get(), [&] { return reply.has_value(); });
	REQUIRE(reply);
	REQUIRE(reply->ok());
	CHECK(json::serialize(reply->value().get()) == R"({"status":"prelaunch","running":false})");
	client.close();
	CHECK(client.state() == ConnectionState::Closed);
}

TEST_CASE("adopt(GIOStream): a stream that cannot be polled fails through ready, not by crashing")
{
	auto dir = TempDir::create("cvmt-qmp-adopt-");
	REQUIRE(dir.ok());
	GError *raw = nullptr;
	GObjectPtr<GFile> file(g_file_new_for_path(dir->file("not-a-socket").c_str()));
	GObjectPtr<GFileIOStream> stream(g_file_create_readwrite(file.get(), G_FILE_CREATE_PRIVATE, nullptr, &raw));
	GErrorPtr error(raw);
	REQUIRE(stream);

	GMainContextPtr context(g_main_context_new());
	ClientOptions options;
	options.context = context.get();
	Client client(options);
	std::optional<Status> ready;
	std::optional<Error> closed;
	client.setClosedCallback([&](const Error &e) { closed = e; });
	client.adopt(G_IO_STREAM(stream.get()), [&](const Status &s) { ready = s; });
	CHECK_FALSE(ready); // never from within adopt()
	iterateUntil(context.get(), [&] { return ready.has_value(); });
	REQUIRE(ready);
	REQUIRE_FALSE(ready->ok());
	CHECK(ready->error().code() == ErrorCode::Unsupported);
	CHECK_THAT(ready->error().message(), Catch::Contains("pollable"));
	CHECK(client.state() == ConnectionState::Closed);
	REQUIRE(closed);
	CHECK(closed->code() == ErrorCode::Unsupported);

	// Starting twice is refused, through the callback as well.
	std::optional<Status> again;
	client.adopt(G_IO_STREAM(stream.get()), [&](const Status &s) { again = s; });
	iterateUntil(context.get(), [&] { return again.has_value(); });
	REQUIRE(again);
	CHECK(again->error().code() == ErrorCode::InvalidArgument);
}

TEST_CASE("ClientOptions::pid: a child killed during start-up is reported with its signal, and not reaped")
{
	auto q = startFakeQemu(0, SIGABRT);
	ClientOptions options;
	options.pid = q.pid;
	auto start = std::chrono::steady_clock::now();
	auto qmp = SyncClient::adoptFd(std::move(q.clientFd), 10s, options);
	REQUIRE_FALSE(qmp.ok());
	INFO(qmp.error().message());
	CHECK(qmp.error().code() == ErrorCode::Disconnected);
	CHECK(qmp.error().message() == "QEMU exited during start-up (killed by signal 6 (Aborted))");
	CHECK(std::chrono::steady_clock::now() - start < 5s); // not the 5 s grace: the pidfd said so
	// Its owner still collects it.
	int status = 0;
	REQUIRE(waitpid(q.pid, &status, 0) == q.pid);
	CHECK(WIFSIGNALED(status));
	CHECK(WTERMSIG(status) == SIGABRT);
}

TEST_CASE("ClientOptions::pid: a child that exits during start-up is reported with its exit status")
{
	auto q = startFakeQemu(3, 0);
	ClientOptions options;
	options.pid = q.pid;
	auto qmp = SyncClient::adoptFd(std::move(q.clientFd), 10s, options);
	REQUIRE_FALSE(qmp.ok());
	CHECK(qmp.error().code() == ErrorCode::Disconnected);
	CHECK(qmp.error().message() == "QEMU exited during start-up (exit status 3)");
	int status = 0;
	REQUIRE(waitpid(q.pid, &status, 0) == q.pid);
	CHECK(WIFEXITED(status));
	CHECK(WEXITSTATUS(status) == 3);
}

TEST_CASE("ClientOptions::pid: a process that already ended before the client started")
{
	auto q = startFakeQemu(7, 0);
	// It waits for qmp_capabilities: send it ourselves, so that it exits
	// before the client exists.
	const char caps[] = "{\"execute\": \"qmp_capabilities\"}\n";
	REQUIRE(::write(q.clientFd.get(), caps, sizeof(caps) - 1) > 0);
	siginfo_t info{};
	REQUIRE(waitid(P_PID, id_t(q.pid), &info, WEXITED | WNOWAIT) == 0);
	// Its greeting is still unread on the socket: the client sees it, then EOF.
	ClientOptions options;
	options.pid = q.pid;
	auto qmp = SyncClient::adoptFd(std::move(q.clientFd), 10s, options);
	REQUIRE_FALSE(qmp.ok());
	CHECK(qmp.error().message() == "QEMU exited during start-up (exit status 7)");
	int status = 0;
	REQUIRE(waitpid(q.pid, &status, 0) == q.pid);
	CHECK(WEXITSTATUS(status) == 7);
}

TEST_CASE("a main loop nested in a callback does not re-enter reading: order is kept")
{
	Peer peer([](Peer &p) {
		p.handshake();
		std::string id = p.receiveId();
		p.send("{\"event\": \"STOP\", \"timestamp\": {\"seconds\": 1, \"microseconds\": 0}}\r\n");
		// The rest arrives while the STOP callback runs its nested loop.
		std::this_thread::sleep_for(100ms);
		p.send("{\"return\": 7, \"id\": \"" + id + "\"}\r\n"
		       "{\"event\": \"RESUME\", \"timestamp\": {\"seconds\": 2, \"microseconds\": 0}}\r\n");
		p.waitForEof();
	});
	GMainContextPtr context(g_main_context_new());
	ClientOptions options;
	options.context = context.get();
	Client client(options);
	std::vector<std::string> seen;
	int nestedDispatches = 0;
	client.subscribe("", [&](const Event &e) {
		seen.push_back("event " + e.name);
		if (e.name != "STOP")
			return;
		// A nested loop on the client's own context while more input
		// arrives: the connection must not read in it (that would deliver
		// the reply before this event's callback has returned), and its
		// readable socket must not make the loop spin.
		int64_t until = g_get_monotonic_time() + 400 * 1000;
		while (g_get_monotonic_time() < until) {
			if (g_main_context_iteration(context.get(), FALSE))
				++nestedDispatches;
			else
				g_usleep(1000);
		}
		seen.push_back("nested loop done");
	});
	bool ready = false;
	client.adoptFd(peer.takeClientFd(), [&](const Status &s) { ready = s.ok(); });
	iterateUntil(context.get(), [&] { return ready; });
	REQUIRE(ready);
	client.execute("stop", nullptr, [&](Result<JsonNodePtr> r) {
		seen.push_back(r ? "reply " + json::serialize(r->get()) : "error " + r.error().message());
	});
	iterateUntil(context.get(), [&] { return seen.size() >= 4; });
	CHECK(seen == std::vector<std::string>{ "event STOP", "nested loop done", "reply 7", "event RESUME" });
	CHECK(nestedDispatches <= 2); // at most the read source, once, setting itself aside
	client.close();
}
