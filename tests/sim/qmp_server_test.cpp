// SPDX-License-Identifier: Apache-2.0
//
// QmpServer on real unix sockets (in-process, its own thread and main
// context), driven by our QMP client: one client at a time with a fresh
// greeting and negotiation per connection, events only to a negotiated
// client, an adopted listening descriptor (libvirt's fd=N), quit.
#include <atomic>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>

#include <catch2/catch.hpp>

#include "cvm/common/file.h"
#include "cvm/common/json.h"
#include "cvm/qmp/sync_client.h"
#include "cvm/qmp/unix_socket.h"
#include "cvm/sim/machine.h"
#include "cvm/sim/qmp_server.h"
#include "cvm/sim/sev_qmp_commands.h"

using namespace cvm;
using namespace cvm::sim;
using Ms = qmp::Milliseconds;

namespace {

// A server with the core commands on its own thread.
class ServerThread
{
public:
	explicit ServerThread(std::function<Status(QmpServer &)> start)
	{
		context_ = g_main_context_new();
		loop_ = g_main_loop_new(context_, FALSE);
		machine_ = std::make_unique<Machine>(true, [this](std::string_view n, JsonNode *d) {
			server_->emitEvent(n, d);
		});
		registerSevCommands(dispatcher_, sev_);
		machine_->registerCommands(dispatcher_, [this] { server_->requestShutdownAfterReply(); },
					   defaultQemuVersion(), "");
		// An extra command that emits an event from the server thread.
		dispatcher_.add({ "x-emit", {}, [this](JsonObject *) -> Result<JsonNodePtr> {
					 server_->emitEvent("POWERDOWN");
					 return json::ObjectBuilder().build();
				 } });
		server_ = std::make_unique<QmpServer>(dispatcher_, QmpSessionOptions{}, faults_, context_);
		server_->onShutdown = [this] { shutdowns_++; };
		REQUIRE(start(*server_).ok());
		thread_ = std::thread([this] {
			g_main_context_push_thread_default(context_);
			g_main_loop_run(loop_);
			g_main_context_pop_thread_default(context_);
		});
	}
	~ServerThread()
	{
		g_main_context_invoke(context_, +[](gpointer l) -> gboolean {
			g_main_loop_quit(static_cast<GMainLoop *>(l));
			return G_SOURCE_REMOVE;
		}, loop_);
		thread_.join();
		server_.reset();
		g_main_loop_unref(loop_);
		g_main_context_unref(context_);
	}
	int shutdowns() const { return shutdowns_; }

private:
	GMainContext *context_;
	GMainLoop *loop_;
	Faults faults_;
	SevQmpContext sev_;
	QmpDispatcher dispatcher_;
	std::unique_ptr<Machine> machine_;
	std::unique_ptr<QmpServer> server_;
	std::thread thread_;
	std::atomic<int> shutdowns_{ 0 };
};

std::string rawReadGreeting(int fd)
{
	char buf[512];
	std::string got;
	while (got.find("\r\n") == std::string::npos) {
		pollfd p{ fd, POLLIN, 0 };
		if (poll(&p, 1, 5000) <= 0)
			break;
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		got.append(buf, static_cast<size_t>(n));
	}
	return got;
}

} // namespace

TEST_CASE("each connection gets a greeting and must negotiate; events only after negotiation")
{
	auto dir = TempDir::create("cvm-sim-srv-").value();
	std::string path = dir.file("qmp.sock");
	ServerThread server([&](QmpServer &s) { return s.listen(path); });
	{
		auto c = qmp::SyncClient::connect(path, Ms(5000)).value();
		REQUIRE(c->execute("x-emit").ok());
		CHECK(c->waitForEvent("POWERDOWN", Ms(2000)).ok());
		REQUIRE(c->execute("cont").ok());
		CHECK(c->waitForEvent("RESUME", Ms(2000)).ok());
	}
	// A new connection starts in negotiation mode again.
	qmp::ClientOptions noNeg;
	noNeg.negotiate = false;
	auto c2 = qmp::SyncClient::connect(path, Ms(5000), noNeg).value();
	auto before = c2->execute("query-status");
	REQUIRE_FALSE(before.ok());
	CHECK(before.error().tag() == "CommandNotFound");
	REQUIRE(c2->execute("qmp_capabilities").ok());
	CHECK(json::getString(json_node_get_object(c2->execute("query-status")->get()), "status").value() ==
	      "running");
}

TEST_CASE("one client at a time: the second is greeted when the first leaves")
{
	auto dir = TempDir::create("cvm-sim-srv-").value();
	std::string path = dir.file("qmp.sock");
	ServerThread server([&](QmpServer &s) { return s.listen(path); });
	auto first = qmp::SyncClient::connect(path, Ms(5000)).value();
	auto second = qmp::connectUnixSocket(path);
	REQUIRE(second.ok()); // queued in the backlog
	GSocket *sock = g_socket_connection_get_socket(second->get());
	int fd = g_socket_get_fd(sock);
	pollfd p{ fd, POLLIN, 0 };
	CHECK(poll(&p, 1, 200) == 0); // no greeting while the first client is served
	first->close();
	first.reset();
	CHECK(rawReadGreeting(fd).find("{\"QMP\":") == 0);
}

TEST_CASE("an adopted listening descriptor, and quit")
{
	auto dir = TempDir::create("cvm-sim-srv-").value();
	std::string path = dir.file("passed.sock");
	UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
	sockaddr_un addr{};
	addr.sun_family = AF_UNIX;
	memcpy(addr.sun_path, path.c_str(), path.size() + 1);
	REQUIRE(bind(fd.get(), reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) == 0);
	ServerThread server([&](QmpServer &s) { return s.adoptListener(std::move(fd)); });
	auto c = qmp::SyncClient::connect(path, Ms(5000)).value();
	REQUIRE(c->execute("quit").ok());
	auto shutdown = c->waitForEvent("SHUTDOWN", Ms(2000));
	REQUIRE(shutdown.ok());
	CHECK(shutdown->dataString("reason") == "host-qmp-quit");
	for (int i = 0; i < 100 && server.shutdowns() == 0; ++i)
		g_usleep(10000);
	CHECK(server.shutdowns() == 1);
}
