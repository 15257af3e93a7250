// SPDX-License-Identifier: Apache-2.0
//
// `cvm-launch qmp` as a process: exit codes 0/1/2 and what it prints, against
// the replay of the real QEMU transcripts.
#include <catch2/catch.hpp>

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
