// SPDX-License-Identifier: Apache-2.0
//
// Our client against the replay of the real QEMU 7.2 transcripts (and the
// replay server's own verdicts: a mismatch or an unused expectation fails
// with file:line).
#include <catch2/catch.hpp>

#include "conversation.h"
#include "cvm/common/json.h"
#include "cvm/qmp/replay.h"
#include "cvm/qmp/sync_client.h"
#include "test_support.h"

using namespace cvm;
using namespace cvm::qmp;
using namespace std::chrono_literals;

namespace {

Transcript load(const std::string &name)
{
	test::requireFixtures();
	auto t = Transcript::load(test::fixture("qmp-qemu-7.2/" + name));
	REQUIRE(t.ok());
	return std::move(t).value();
}

std::unique_ptr<ReplayServer> serve(Transcript t, ReplayOptions options = {})
{
	auto server = ReplayServer::start(std::move(t), std::move(options));
	REQUIRE(server.ok());
	return std::move(server).value();
}

void replayThroughClient(const std::string &name, test::ConversationOptions options)
{
	INFO(name);
	Transcript t = load(name).withoutRawInput();
	auto expected = test::expectedLog(t, options.negotiate);
	auto server = serve(t.clone());
	auto result = test::runConversation(server->socketPath(), t, options);
	Status verdict = server->finish();
	INFO((verdict ? std::string("replay ok") : verdict.error().message()));
	CHECK(verdict.ok());
	CHECK_FALSE(result.readyError.has_value());
	CHECK(result.log == expected);
	REQUIRE(result.closeError.has_value());
	CHECK(result.closeError->code() == ErrorCode::Disconnected);
	CHECK(server->matched() == t.clientMessages());
}

} // namespace

TEST_CASE("the transcripts replay through our client, message by message")
{
	for (const char *name : { "01-basic-handshake.jsonl", "02-errors.jsonl", "03-sev-on-non-sev.jsonl",
				  "04-oob.jsonl", "05-bad-capability.jsonl", "06-runstate-events-q35.jsonl",
				  "07-prelaunch-quit.jsonl", "08-sigterm-event.jsonl", "09-introspection.jsonl",
				  "13-malformed-qmp-test-cases.jsonl" })
		replayThroughClient(name, {});
}

TEST_CASE("an OOB reply that overtakes in-band commands is matched by id")
{
	test::ConversationOptions options;
	options.pipelined = true;
	replayThroughClient("14-oob-overtakes-inband.jsonl", options);
}

TEST_CASE("the client negotiates by itself against transcripts that start with qmp_capabilities")
{
	test::ConversationOptions options;
	options.negotiate = true;
	for (const char *name : { "02-errors.jsonl", "03-sev-on-non-sev.jsonl", "06-runstate-events-q35.jsonl",
				  "07-prelaunch-quit.jsonl", "08-sigterm-event.jsonl", "09-introspection.jsonl" })
		replayThroughClient(name, options);
	options.pipelined = true;
	replayThroughClient("06-runstate-events-q35.jsonl", options);
}

TEST_CASE("the SEV commands on a non-SEV VM fail with QEMU's class and desc")
{
	auto server = serve(load("03-sev-on-non-sev.jsonl"));
	auto qmp = SyncClient::connect(server->socketPath(), 5s);
	REQUIRE(qmp.ok());
	CHECK((*qmp)->greeting().version.toString() == "7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)");

	auto sev = (*qmp)->execute("query-sev");
	REQUIRE(sev.ok());
	auto enabled = json::getBool(json_node_get_object(sev->get()), "enabled");
	REQUIRE(enabled.ok());
	CHECK_FALSE(*enabled);

	auto caps = (*qmp)->execute("query-sev-capabilities");
	REQUIRE_FALSE(caps.ok());
	CHECK(caps.error().code() == ErrorCode::Remote);
	CHECK(caps.error().tag() == "GenericError");
	CHECK(caps.error().message() == "query-sev-capabilities: KVM not enabled");

	auto measure = (*qmp)->execute("query-sev-launch-measure");
	REQUIRE_FALSE(measure.ok());
	CHECK(measure.error().message() == "query-sev-launch-measure: SEV launch measurement is not available");

	JsonObjectPtr args(json_object_new());
	json_object_set_string_member(args.get(), "mnonce", "AAAAAAAAAAAAAAAAAAAAAA==");
	CHECK((*qmp)->execute("query-sev-attestation-report", args.get()).error().message() ==
	      "query-sev-attestation-report: SEV is not enabled");
	// The replay compares arguments: the injected secret must be the recorded one.
	JsonObjectPtr secret(json_object_new());
	json_object_set_string_member(secret.get(), "packet-header", "AAAA");
	json_object_set_string_member(secret.get(), "secret", "AAAA");
	CHECK((*qmp)->execute("sev-inject-launch-secret", secret.get()).error().message() ==
	      "sev-inject-launch-secret: SEV not enabled for guest");
	(*qmp)->close();
	// The rest of the recorded conversation never came.
	Status verdict = server->finish();
	REQUIRE_FALSE(verdict.ok());
	CHECK_THAT(verdict.error().message(), Catch::Contains("03-sev-on-non-sev.jsonl:15"));
	CHECK_THAT(verdict.error().message(), Catch::Contains("never sent"));
	CHECK(server->matched() == 6); // qmp_capabilities and five commands
}

TEST_CASE("quit: SHUTDOWN arrives before quit's return and the EOF ends the connection")
{
	auto server = serve(load("06-runstate-events-q35.jsonl"));
	auto qmp = SyncClient::connect(server->socketPath(), 5s);
	REQUIRE(qmp.ok());
	for (const char *cmd : { "query-status", "query-sev", "query-cpus-fast" })
		REQUIRE((*qmp)->execute(cmd).ok());
	REQUIRE((*qmp)->execute("cont").ok());
	auto resume = (*qmp)->waitForEvent("RESUME", 1s);
	REQUIRE(resume.ok());
	auto status = (*qmp)->execute("query-status");
	REQUIRE(status.ok());
	CHECK(json::serialize(status->get()) == R"({"status":"running","singlestep":false,"running":true})");
	REQUIRE((*qmp)->execute("stop").ok());
	CHECK((*qmp)->waitForEvent("STOP", 1s).ok());
	REQUIRE((*qmp)->execute("query-status").ok());
	REQUIRE((*qmp)->execute("cont").ok());
	REQUIRE((*qmp)->execute("system_reset").ok());
	REQUIRE((*qmp)->execute("system_powerdown").ok());
	auto resets = (*qmp)->takeEvents();
	REQUIRE(resets.size() == 4);
	CHECK(resets[1].dataString("reason") == "host-qmp-system-reset");
	CHECK(resets[2].dataString("reason") == "guest-reset");
	CHECK(resets[3].name == "POWERDOWN");
	JsonObjectPtr hmp(json_object_new());
	json_object_set_string_member(hmp.get(), "command-line", "info status");
	auto info = (*qmp)->execute("human-monitor-command", hmp.get());
	REQUIRE(info.ok());
	CHECK(std::string(json_node_get_string(info->get())) == "VM status: running\r\n");
	REQUIRE((*qmp)->execute("quit").ok());
	auto shutdown = (*qmp)->waitForEvent("SHUTDOWN", 0ms);
	REQUIRE(shutdown.ok());
	CHECK(shutdown->dataString("reason") == "host-qmp-quit");
	// Then QEMU's EOF: the next command fails as Disconnected.
	auto after = (*qmp)->execute("query-status", nullptr, 2s);
	REQUIRE_FALSE(after.ok());
	CHECK(after.error().code() == ErrorCode::Disconnected);
	CHECK(server->finish().ok());
}

TEST_CASE("SIGTERM: the SHUTDOWN event is delivered before the disconnect")
{
	auto server = serve(load("08-sigterm-event.jsonl"));
	auto qmp = SyncClient::connect(server->socketPath(), 5s);
	REQUIRE(qmp.ok());
	auto shutdown = (*qmp)->waitForEvent("SHUTDOWN", 5s);
	REQUIRE(shutdown.ok());
	CHECK(shutdown->dataString("reason") == "host-signal");
	auto next = (*qmp)->waitForEvent("SHUTDOWN", 5s);
	REQUIRE_FALSE(next.ok());
	CHECK(next.error().code() == ErrorCode::Disconnected);
	CHECK(server->finish().ok());
}

TEST_CASE("commands issued before negotiation wait for qmp_capabilities")
{
	// The replay fails on anything before qmp_capabilities, so this proves the queue.
	auto server = serve(load("07-prelaunch-quit.jsonl"));
	GMainContextPtr context(g_main_context_new());
	ClientOptions options;
	options.context = context.get();
	Client client(options);
	std::optional<Result<JsonNodePtr>> reply;
	bool ready = false;
	client.execute("query-status", nullptr, [&](Result<JsonNodePtr> r) { reply = std::move(r); });
	client.connect(server->socketPath(), [&](const Status &s) { ready = s.ok(); });
	CHECK(client.state() != ConnectionState::Running);
	int64_t deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
	while (!reply && g_get_monotonic_time() < deadline)
		g_main_context_iteration(context.get(), TRUE);
	CHECK(ready);
	REQUIRE(reply.has_value());
	REQUIRE(reply->ok());
	CHECK(json::serialize(reply->value().get()) == R"({"status":"prelaunch","singlestep":false,"running":false})");
	client.close();
	CHECK(server->finish().ok());
}

TEST_CASE("the replay server names file:line of the first mismatch")
{
	auto server = serve(load("06-runstate-events-q35.jsonl"));
	auto qmp = SyncClient::connect(server->socketPath(), 5s);
	REQUIRE(qmp.ok());
	REQUIRE((*qmp)->execute("query-status").ok());
	// Recorded next: query-sev.
	auto wrong = (*qmp)->execute("query-kvm");
	REQUIRE_FALSE(wrong.ok());
	CHECK(wrong.error().code() == ErrorCode::Remote);
	CHECK_THAT(wrong.error().message(), Catch::Contains("replay mismatch"));
	Status verdict = server->finish();
	REQUIRE_FALSE(verdict.ok());
	CHECK_THAT(verdict.error().message(), Catch::StartsWith("06-runstate-events-q35.jsonl:7: expected"));
	CHECK_THAT(verdict.error().message(), Catch::Contains("query-kvm"));
}

TEST_CASE("the replay server compares arguments, ignoring member order and ids")
{
	auto t = Transcript::parse(
		R"({"s2c": {"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": ""}, "capabilities": []}}}
{"c2s": {"execute": "qmp_capabilities"}}
{"s2c": {"return": {}}}
{"c2s": {"execute": "x", "arguments": {"a": 1, "b": [true, "s"]}, "id": 7}}
{"s2c": {"return": 42, "id": 7}}
{"c2s": {"execute": "x", "arguments": {"a": 1}, "id": 8}}
{"s2c": {"return": 43, "id": 8}}
)", "inline.jsonl");
	REQUIRE(t.ok());
	auto server = serve(std::move(*t));
	auto qmp = SyncClient::connect(server->socketPath(), 5s);
	REQUIRE(qmp.ok());
	auto args = json::parseObject(R"({"b": [true, "s"], "a": 1})");
	REQUIRE(args.ok());
	auto r = (*qmp)->execute("x", json_node_get_object(args->get()));
	REQUIRE(r.ok());
	CHECK(json_node_get_int(r->get()) == 42);
	auto other = json::parseObject(R"({"a": 2})");
	CHECK_FALSE((*qmp)->execute("x", json_node_get_object(other->get())).ok());
	Status verdict = server->finish();
	REQUIRE_FALSE(verdict.ok());
	CHECK_THAT(verdict.error().message(), Catch::StartsWith("inline.jsonl:6: expected"));
}

TEST_CASE("transcripts survive a serialize/parse round trip")
{
	for (const char *name : { "01-basic-handshake.jsonl", "02-errors.jsonl", "13-malformed-qmp-test-cases.jsonl" }) {
		INFO(name);
		Transcript t = load(name);
		auto again = Transcript::parse(t.serialize(), name);
		REQUIRE(again.ok());
		REQUIRE(again->entries().size() == t.entries().size());
		for (size_t i = 0; i < t.entries().size(); ++i) {
			const auto &a = t.entries()[i];
			const auto &b = again->entries()[i];
			CHECK(a.kind == b.kind);
			CHECK(a.text == b.text);
			if (a.value)
				CHECK(json_node_equal(a.value.get(), b.value.get()));
		}
	}
	CHECK_FALSE(Transcript::parse("{\"c2s\": 1}\n", "bad.jsonl").ok());
	auto bad = Transcript::parse("{\"note\": \"x\"}\n{\"what\": {}}\n", "bad.jsonl");
	REQUIRE_FALSE(bad.ok());
	CHECK_THAT(bad.error().message(), Catch::StartsWith("bad.jsonl:2:"));
}

TEST_CASE("our own recording (tests/data): a secret object, cont/stop with events, quit")
{
	auto t = Transcript::load(test::testData("qmp/secret-object-lifecycle.jsonl"));
	REQUIRE(t.ok());
	auto server = serve(std::move(*t));
	auto qmp = SyncClient::connect(server->socketPath(), 5s);
	REQUIRE(qmp.ok());
	CHECK((*qmp)->greeting().version.package == "Debian 1:7.2+dfsg-7+deb12u18+b3");
	// The secret was redacted when recorded: any value replays.
	JsonObjectPtr secret(json_object_new());
	json_object_set_string_member(secret.get(), "qom-type", "secret");
	json_object_set_string_member(secret.get(), "id", "luks0");
	json_object_set_string_member(secret.get(), "format", "raw");
	json_object_set_string_member(secret.get(), "data", "a different secret");
	CHECK((*qmp)->execute("object-add", secret.get()).ok());
	auto status = [&] {
		auto r = (*qmp)->execute("query-status");
		REQUIRE(r.ok());
		return json::getString(json_node_get_object(r->get()), "status").value();
	};
	CHECK(status() == "prelaunch");
	REQUIRE((*qmp)->execute("cont").ok());
	CHECK((*qmp)->waitForEvent("RESUME", 0ms).ok()); // it came before cont's reply
	CHECK(status() == "running");
	REQUIRE((*qmp)->execute("stop").ok());
	CHECK((*qmp)->waitForEvent("STOP", 0ms).ok());
	REQUIRE((*qmp)->execute("quit").ok());
	auto shutdown = (*qmp)->waitForEvent("SHUTDOWN", 0ms);
	REQUIRE(shutdown.ok());
	CHECK(shutdown->dataString("reason") == "host-qmp-quit");
	auto eof = (*qmp)->waitForEvent("NEVER", 5s);
	CHECK(eof.error().code() == ErrorCode::Disconnected);
	CHECK(server->finish().ok());
}
