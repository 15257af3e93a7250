// SPDX-License-Identifier: Apache-2.0
//
// `cvm-launch qmp` as a process: exit codes 0/1/2 and what it prints, against
// the replay of the real QEMU transcripts; `cvm-launch qmp record` end to end
// against a real QEMU/TCG, its recordings replayed through the CLI again.
#include <catch2/catch.hpp>

#include <chrono>

#include <sys/stat.h>

#include "cvm/common/file.h"
#include "cvm/common/json.h"
#include "cvm/qmp/replay.h"
#include "test_support.h"

using namespace cvm;
using namespace cvm::qmp;

namespace {

std::unique_ptr<ReplayServer> serve(const std::string &text, const std::string &name)
{
	auto t = Transcript::parse(text, name);
	REQUIRE(t.ok());
	auto server = ReplayServer::start(std::move(*t));
	REQUIRE(server.ok());
	return std::move(server).value();
}

const std::string kGreeting =
	R"({"s2c": {"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": ""}, "capabilities": ["oob"]}}}
{"c2s": {"execute": "qmp_capabilities"}}
{"s2c": {"return": {}}}
)";

test::CommandResult cli(const std::vector<std::string> &args)
{
	std::vector<std::string> argv = { test::buildPath("plugin/cvm-launch"), "qmp" };
	argv.insert(argv.end(), args.begin(), args.end());
	return test::run(argv, {}, {}, 60);
}

} // namespace

TEST_CASE("cvm-launch qmp prints the return value and exits 0")
{
	auto server = serve(kGreeting + R"({"c2s": {"execute": "query-status", "id": 1}}
{"s2c": {"return": {"status": "prelaunch", "singlestep": false, "running": false}, "id": 1}}
)", "status.jsonl");
	auto r = cli({ "--socket", server->socketPath(), "query-status" });
	INFO(r.err);
	CHECK(r.exitStatus == 0);
	auto out = json::parse(r.out);
	REQUIRE(out.ok());
	auto status = json::getString(json_node_get_object(out->get()), "status");
	CHECK(status.value() == "prelaunch");
	CHECK(server->finish().ok());
}

TEST_CASE("cvm-launch qmp passes the arguments object through")
{
	auto server = serve(kGreeting + R"({"c2s": {"execute": "human-monitor-command", "arguments": {"command-line": "info status"}, "id": 11}}
{"s2c": {"return": "VM status: running\r\n", "id": 11}}
)", "hmp.jsonl");
	auto r = cli({ "--socket", server->socketPath(), "--timeout", "5", "human-monitor-command",
		       R"({"command-line": "info status"})" });
	INFO(r.err);
	CHECK(r.exitStatus == 0);
	CHECK(r.out == "\"VM status: running\\r\\n\"\n");
	CHECK(server->finish().ok());
}

TEST_CASE("cvm-launch qmp: a QMP error is CLASS: desc on stderr, exit 1")
{
	test::requireFixtures();
	auto transcript = Transcript::load(test::fixture("qmp-qemu-7.2/03-sev-on-non-sev.jsonl"));
	REQUIRE(transcript.ok());
	// The recorded conversation up to query-sev-capabilities.
	std::string text;
	int clientLines = 0;
	for (const auto &e : transcript->entries()) {
		if (e.kind == TranscriptKind::ClientMessage && ++clientLines > 3)
			break;
		if (e.kind == TranscriptKind::ClientMessage && clientLines == 2)
			continue; // query-sev: not what this run sends
		if (e.kind == TranscriptKind::ServerMessage && clientLines == 2)
			continue;
		JsonObjectPtr line(json_object_new());
		json_object_set_member(line.get(), transcriptKey(e.kind), json_node_ref(e.value.get()));
		if (e.value)
			text += json::serialize(line.get()) + "\n";
	}
	auto server = serve(text, "03-cut.jsonl");
	auto r = cli({ "--socket", server->socketPath(), "query-sev-capabilities" });
	CHECK(r.exitStatus == 1);
	CHECK(r.out.empty());
	CHECK(r.err == "GenericError: KVM not enabled\n");
	CHECK(server->finish().ok());
}

TEST_CASE("cvm-launch qmp: usage errors exit 2")
{
	auto tooLong = std::string(200, 'x');
	struct Case {
		std::vector<std::string> args;
		const char *message;
	} cases[] = {
		{ { "query-status" }, "--socket is required" },
		{ { "--socket", "/nonexistent/qmp.sock" }, "a QMP command is required" },
		{ { "--socket", "/nonexistent/qmp.sock", "x", "{}", "extra" }, "too many arguments" },
		{ { "--socket", "/nonexistent/qmp.sock", "x", "{bad" }, "must be a JSON object" },
		{ { "--socket", "/nonexistent/qmp.sock", "x", "[1]" }, "must be a JSON object" },
		{ { "--socket", "/nonexistent/qmp.sock", "--timeout", "-1", "x" }, "--timeout must be" },
		// Below 1 ms would round to 0 ms, which is "no timeout".
		{ { "--socket", "/nonexistent/qmp.sock", "--timeout", "0.0004", "x" }, "from 0.001 (1 ms)" },
		{ { "--socket", "/nonexistent/qmp.sock", "--timeout", "1e-9", "x" }, "--timeout must be" },
		{ { "--socket", "/nonexistent/qmp.sock", "--timeout", "0", "x" }, "--timeout must be" },
		{ { "--socket", "/nonexistent/qmp.sock", "--timeout", "nan", "x" }, "--timeout must be" },
		{ { "--socket", "/nonexistent/qmp.sock", "--timeout", "86401", "x" }, "--timeout must be" },
		{ { "--bogus" }, "Unknown option" },
		{ { "record", "--listen", "/tmp/x" }, "are required" },
	};
	for (const auto &c : cases) {
		INFO(c.message);
		auto r = cli(c.args);
		CHECK(r.exitStatus == 2);
		CHECK_THAT(r.err, Catch::Contains(c.message));
		CHECK(r.out.empty());
	}
}

TEST_CASE("cvm-launch qmp: transport and protocol errors exit 2 with a clear message")
{
	auto missing = cli({ "--socket", "/nonexistent/qmp.sock", "query-status" });
	CHECK(missing.exitStatus == 2);
	CHECK_THAT(missing.err, Catch::Contains("/nonexistent/qmp.sock") && Catch::Contains("No such file"));

	// The monitor goes away after the greeting.
	auto server = serve(R"({"s2c": {"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": ""}, "capabilities": []}}}
)", "eof.jsonl");
	auto eof = cli({ "--socket", server->socketPath(), "query-status" });
	CHECK(eof.exitStatus == 2);
	CHECK_THAT(eof.err, Catch::Contains("QEMU exited during start-up"));
	CHECK(eof.out.empty());
}

TEST_CASE("cvm-launch qmp --timeout: 1 ms is accepted, and a timeout in ms is applied as such")
{
	// 0.001 passes the check: what fails is the socket, not the option.
	auto ms = cli({ "--socket", "/nonexistent/qmp.sock", "--timeout", "0.001", "query-status" });
	CHECK(ms.exitStatus == 2);
	CHECK_THAT(ms.err, Catch::Contains("No such file"));
	CHECK_THAT(ms.err, !Catch::Contains("--timeout"));

	// A monitor that never answers: the command fails after 500 ms.
	auto t = Transcript::parse(kGreeting + R"({"c2s": {"execute": "query-status"}}
)", "silent.jsonl");
	REQUIRE(t.ok());
	ReplayOptions options;
	options.closeAtEnd = false;
	auto server = ReplayServer::start(std::move(*t), options);
	REQUIRE(server.ok());
	auto start = std::chrono::steady_clock::now();
	auto r = cli({ "--socket", (*server)->socketPath(), "--timeout", "0.5", "query-status" });
	CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(20));
	CHECK(r.exitStatus == 2);
	CHECK_THAT(r.err, Catch::Contains("query-status: no reply from QEMU within 500 ms"));
	CHECK((*server)->finish().ok());
}

namespace {

const char *kQemu = "/usr/bin/qemu-system-x86_64";

void waitForPath(const std::string &path)
{
	for (int i = 0; i < 400 && !g_file_test(path.c_str(), G_FILE_TEST_EXISTS); ++i)
		g_usleep(25000);
	REQUIRE(g_file_test(path.c_str(), G_FILE_TEST_EXISTS));
}

// Runs `cvm-launch qmp ARGS` through `cvm-launch qmp record` to QEMU's monitor;
// returns the client's result, leaves the transcript in `out`.
test::CommandResult recordThroughCli(const TempDir &dir, const std::string &monitor, const std::string &out,
				     const std::vector<std::string> &args)
{
	std::string relay = dir.file("relay.sock");
	std::string launch = test::buildPath("plugin/cvm-launch");
	const char *argv[] = { launch.c_str(), "qmp", "record", "--listen", relay.c_str(), "--upstream",
			       monitor.c_str(), "--out", out.c_str(), nullptr };
	GError *raw = nullptr;
	GObjectPtr<GSubprocess> recorder(g_subprocess_newv(argv, G_SUBPROCESS_FLAGS_STDERR_PIPE, &raw));
	GErrorPtr error(raw);
	REQUIRE(recorder);
	waitForPath(relay);
	std::vector<std::string> client = { "--socket", relay, "--timeout", "20" };
	client.insert(client.end(), args.begin(), args.end());
	auto result = cli(client);
	// The client left: the recorder writes the transcript and ends.
	char *err = nullptr;
	REQUIRE(g_subprocess_communicate_utf8(recorder.get(), nullptr, nullptr, nullptr, &err, nullptr));
	std::string recorderErr = err ? err : "";
	g_free(err);
	INFO(recorderErr);
	CHECK(g_subprocess_get_if_exited(recorder.get()));
	CHECK(g_subprocess_get_exit_status(recorder.get()) == 0);
	CHECK_FALSE(g_file_test(relay.c_str(), G_FILE_TEST_EXISTS)); // the relay socket is removed
	return result;
}

} // namespace

TEST_CASE("cvm-launch qmp record: real QEMU sessions recorded through the CLI replay through the CLI")
{
	test::requireExecutable(kQemu);
	auto dir = TempDir::create("cvmt-qmp-clirec-");
	REQUIRE(dir.ok());
	std::string monitor = dir->file("qemu.sock");
	std::string spec = "unix:" + monitor + ",server=on,wait=off";
	const char *argv[] = { kQemu, "-machine", "q35", "-accel", "tcg", "-S", "-display", "none", "-nodefaults",
			       "-m", "64", "-qmp", spec.c_str(), nullptr };
	GObjectPtr<GSubprocess> qemu(g_subprocess_newv(argv, G_SUBPROCESS_FLAGS_STDERR_SILENCE, nullptr));
	REQUIRE(qemu);
	waitForPath(monitor);
	const std::string password = "aHVudGVyMi1ub3QtaW4tdGhlLWZpbGU=";
	struct Session {
		std::vector<std::string> args;
		std::string out;
	} sessions[] = {
		{ { "query-status" }, R"("prelaunch")" },
		{ { "object-add", R"({"qom-type": "secret", "id": "sec0", "format": "base64", "data": ")" + password + "\"}" },
		  "{}" },
	};
	int n = 0;
	for (const auto &s : sessions) {
		INFO(s.args[0]);
		std::string file = dir->file("session" + std::to_string(++n) + ".jsonl");
		auto live = recordThroughCli(*dir, monitor, file, s.args);
		INFO(live.err);
		CHECK(live.exitStatus == 0);
		CHECK_THAT(live.out, Catch::Contains(s.out));

		struct stat st;
		REQUIRE(stat(file.c_str(), &st) == 0);
		CHECK((st.st_mode & 0777) == 0600);
		auto text = readTextFile(file);
		REQUIRE(text.ok());
		CHECK_THAT(*text, Catch::Contains(s.args[0]) && Catch::Contains(R"("QMP")"));
		CHECK_THAT(*text, !Catch::Contains(password));

		// The same command against the replay of the recording: the same answer.
		auto transcript = Transcript::load(file);
		REQUIRE(transcript.ok());
		CHECK(transcript->clientMessages() == 2); // qmp_capabilities and the command
		auto server = ReplayServer::start(std::move(*transcript));
		REQUIRE(server.ok());
		std::vector<std::string> args = { "--socket", (*server)->socketPath() };
		args.insert(args.end(), s.args.begin(), s.args.end());
		auto replayed = cli(args);
		INFO(replayed.err);
		CHECK(replayed.exitStatus == 0);
		CHECK(replayed.out == live.out);
		CHECK((*server)->finish().ok());
	}
	CHECK_THAT(readTextFile(dir->file("session2.jsonl")).value(), Catch::Contains(R"("data":"<redacted>")"));
	g_subprocess_force_exit(qemu.get());
	g_subprocess_wait(qemu.get(), nullptr, nullptr);
}
