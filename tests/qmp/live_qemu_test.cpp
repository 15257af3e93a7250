// SPDX-License-Identifier: Apache-2.0
//
// Our client against a real qemu-system-x86_64 (TCG) started by the test:
// negotiation, prelaunch, cont/stop with their events, quit (SHUTDOWN, then
// EOF), and the sev-guest-under-TCG start-up abort reported with the signal.
#include <catch2/catch.hpp>

#include <csignal>

#include <glib.h>
#include <sys/wait.h>

#include "cvm/common/file.h"
#include "cvm/common/json.h"
#include "cvm/qmp/sync_client.h"
#include "test_support.h"

using namespace cvm;
using namespace cvm::qmp;
using namespace std::chrono_literals;

namespace {

const char *kQemu = "/usr/bin/qemu-system-x86_64";

struct Qemu {
	explicit Qemu(TempDir d) : dir(std::move(d)) {}
	TempDir dir;
	std::string socket;
	GObjectPtr<GSubprocess> process;

	~Qemu()
	{
		// A null identifier: already reaped.
		if (process && g_subprocess_get_identifier(process.get())) {
			g_subprocess_force_exit(process.get());
			g_subprocess_wait(process.get(), nullptr, nullptr);
		}
	}
};

std::unique_ptr<Qemu> startQemu(std::vector<std::string> extra = {})
{
	test::requireExecutable(kQemu);
	auto dir = TempDir::create("cvmt-qmp-qemu-");
	REQUIRE(dir.ok());
	auto q = std::make_unique<Qemu>(std::move(*dir));
	q->socket = q->dir.file("qmp.sock");
	std::vector<std::string> argv = { kQemu, "-machine", "q35", "-accel", "tcg", "-S", "-display", "none",
					  "-nodefaults", "-m", "64", "-qmp",
					  "unix:" + q->socket + ",server=on,wait=off" };
	for (auto &a : extra)
		argv.push_back(a);
	std::vector<const char *> cargv;
	for (auto &a : argv)
		cargv.push_back(a.c_str());
	cargv.push_back(nullptr);
	GError *raw = nullptr;
	q->process.reset(g_subprocess_newv(cargv.data(), G_SUBPROCESS_FLAGS_STDERR_SILENCE, &raw));
	GErrorPtr error(raw);
	REQUIRE(q->process);
	return q;
}

Result<std::unique_ptr<SyncClient>> connectTo(Qemu &q)
{
	ClientOptions options;
	options.waitForSocket = true;
	options.process = q.process.get();
	return SyncClient::connect(q.socket, 20s, options);
}

std::string statusOf(SyncClient &qmp)
{
	auto r = qmp.execute("query-status");
	REQUIRE(r.ok());
	auto s = json::getString(json_node_get_object(r->get()), "status");
	REQUIRE(s.ok());
	return *s;
}

} // namespace

TEST_CASE("real QEMU: prelaunch, cont/stop with RESUME/STOP, quit with SHUTDOWN then EOF")
{
	auto q = startQemu();
	auto qmp = connectTo(*q);
	REQUIRE(qmp.ok());
	CHECK((*qmp)->greeting().version.major >= 7);
	CHECK((*qmp)->greeting().hasCapability("oob"));
	CHECK(statusOf(**qmp) == "prelaunch");

	REQUIRE((*qmp)->execute("cont").ok());
	CHECK((*qmp)->waitForEvent("RESUME", 5s).ok());
	CHECK(statusOf(**qmp) == "running");
	REQUIRE((*qmp)->execute("stop").ok());
	CHECK((*qmp)->waitForEvent("STOP", 5s).ok());
	CHECK(statusOf(**qmp) == "paused");

	// A QMP error from the real thing.
	auto bad = (*qmp)->execute("no-such-command");
	REQUIRE_FALSE(bad.ok());
	CHECK(bad.error().code() == ErrorCode::Remote);
	CHECK(bad.error().tag() == "CommandNotFound");
	CHECK(bad.error().message() == "no-such-command: The command no-such-command has not been found");
	auto sev = (*qmp)->execute("query-sev-launch-measure");
	REQUIRE_FALSE(sev.ok());
	CHECK(sev.error().tag() == "GenericError");

	REQUIRE((*qmp)->execute("quit").ok());
	auto shutdown = (*qmp)->waitForEvent("SHUTDOWN", 0ms);
	REQUIRE(shutdown.ok());
	CHECK(shutdown->dataString("reason") == "host-qmp-quit");
	auto eof = (*qmp)->waitForEvent("NEVER", 10s);
	REQUIRE_FALSE(eof.ok());
	CHECK(eof.error().code() == ErrorCode::Disconnected);
	CHECK((*qmp)->state() == ConnectionState::Closed);
	REQUIRE(g_subprocess_wait(q->process.get(), nullptr, nullptr));
	CHECK(g_subprocess_get_if_exited(q->process.get()));
	CHECK(g_subprocess_get_exit_status(q->process.get()) == 0);
}

TEST_CASE("real QEMU: many commands in flight at once are all answered")
{
	auto q = startQemu();
	GMainContextPtr context(g_main_context_new());
	ClientOptions options;
	options.context = context.get();
	options.waitForSocket = true;
	options.process = q->process.get();
	options.startupTimeout = 20s;
	Client client(options);
	std::vector<std::string> statuses;
	bool ready = false;
	client.connect(q->socket, [&](const Status &s) { ready = s.ok(); });
	// Issued before negotiation: queued, then pipelined.
	for (int i = 0; i < 50; ++i)
		client.execute("query-status", nullptr, [&](Result<JsonNodePtr> r) {
			statuses.push_back(r ? json_node_get_string(json_object_get_member(
							json_node_get_object(r->get()), "status"))
					     : r.error().message());
		});
	int64_t deadline = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
	while (statuses.size() < 50 && g_get_monotonic_time() < deadline)
		g_main_context_iteration(context.get(), TRUE);
	CHECK(ready);
	CHECK(statuses == std::vector<std::string>(50, "prelaunch"));
	client.close();
}

TEST_CASE("real QEMU: SIGTERM gives SHUTDOWN host-signal, then the disconnect")
{
	auto q = startQemu();
	auto qmp = connectTo(*q);
	REQUIRE(qmp.ok());
	g_subprocess_send_signal(q->process.get(), SIGTERM);
	auto shutdown = (*qmp)->waitForEvent("SHUTDOWN", 10s);
	REQUIRE(shutdown.ok());
	CHECK(shutdown->dataString("reason") == "host-signal");
	auto next = (*qmp)->execute("query-status", nullptr, 10s);
	REQUIRE_FALSE(next.ok());
	CHECK(next.error().code() == ErrorCode::Disconnected);
}

TEST_CASE("real QEMU: sev-guest under TCG aborts after the greeting, reported with the signal")
{
	auto q = startQemu({ "-object", "sev-guest,id=sev0,cbitpos=47,reduced-phys-bits=1", "-machine",
			     "q35,confidential-guest-support=sev0" });
	auto qmp = connectTo(*q);
	REQUIRE_FALSE(qmp.ok());
	INFO(qmp.error().message());
	CHECK(qmp.error().code() == ErrorCode::Disconnected);
	CHECK_THAT(qmp.error().message(), Catch::Contains("QEMU exited during start-up"));
	CHECK_THAT(qmp.error().message(), Catch::Contains("killed by signal 6 (Aborted)"));
}

TEST_CASE("real QEMU: the same abort through ClientOptions::pid (a child we did not start with GSubprocess)")
{
	test::requireExecutable(kQemu);
	auto dir = TempDir::create("cvmt-qmp-qemu-");
	REQUIRE(dir.ok());
	std::string socket = dir->file("qmp.sock"), spec = "unix:" + socket + ",server=on,wait=off";
	const char *argv[] = { kQemu, "-machine", "q35,confidential-guest-support=sev0", "-accel", "tcg", "-S",
			       "-display", "none", "-nodefaults", "-m", "64", "-object",
			       "sev-guest,id=sev0,cbitpos=47,reduced-phys-bits=1", "-qmp", spec.c_str(), nullptr };
	GPid pid = 0;
	GError *raw = nullptr;
	REQUIRE(g_spawn_async(nullptr, const_cast<char **>(argv), nullptr,
			      GSpawnFlags(G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDERR_TO_DEV_NULL), nullptr, nullptr,
			      &pid, &raw));
	GErrorPtr error(raw);
	ClientOptions options;
	options.waitForSocket = true;
	options.pid = pid;
	auto qmp = SyncClient::connect(socket, 20s, options);
	REQUIRE_FALSE(qmp.ok());
	INFO(qmp.error().message());
	CHECK(qmp.error().code() == ErrorCode::Disconnected);
	// (", core dumped" may follow, depending on RLIMIT_CORE.)
	CHECK_THAT(qmp.error().message(),
		   Catch::StartsWith("QEMU exited during start-up (killed by signal 6 (Aborted)"));
	// Not reaped by the client: ours to collect.
	int status = 0;
	REQUIRE(waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status));
	CHECK(WTERMSIG(status) == SIGABRT);
}

TEST_CASE("real QEMU: a process that exits before creating its socket stops the wait")
{
	auto q = startQemu({ "-no-such-option" });
	auto start = std::chrono::steady_clock::now();
	auto qmp = connectTo(*q);
	REQUIRE_FALSE(qmp.ok());
	INFO(qmp.error().message());
	CHECK(std::chrono::steady_clock::now() - start < 15s);
	CHECK_THAT(qmp.error().message(), Catch::Contains("exit"));
}
