// SPDX-License-Identifier: Apache-2.0
//
// The QMP wire helpers against the messages of the shared QEMU 7.2 transcripts.
#include <catch2/catch.hpp>

#include "cvm/common/json.h"
#include "cvm/qmp/json_splitter.h"
#include "cvm/qmp/wire.h"
#include "test_support.h"
#include "transcript_support.h"

using namespace cvm;
using namespace cvm::qmp;

namespace {

JsonObject *obj(const test::TranscriptLine &t)
{
	return json_node_get_object(t.value.get());
}

const char *kTranscripts[] = {
	"01-basic-handshake.jsonl", "02-errors.jsonl", "03-sev-on-non-sev.jsonl", "04-oob.jsonl",
	"05-bad-capability.jsonl", "06-runstate-events-q35.jsonl", "08-sigterm-event.jsonl",
	"13-malformed-qmp-test-cases.jsonl", "14-oob-overtakes-inband.jsonl",
};

} // namespace

TEST_CASE("the QEMU 7.2 greeting parses into version and capabilities")
{
	test::requireFixtures();
	auto t = test::readTranscript("01-basic-handshake.jsonl");
	auto it = std::find_if(t.begin(), t.end(), [](auto &l) { return l.key == "s2c"; });
	REQUIRE(it != t.end());
	REQUIRE(classify(obj(*it)) == MessageKind::Greeting);
	auto g = parseGreeting(obj(*it));
	REQUIRE(g.ok());
	CHECK(g->version.major == 7);
	CHECK(g->version.minor == 2);
	CHECK(g->version.micro == 22);
	CHECK(g->version.package == "Debian 1:7.2+dfsg-7+deb12u18+b3");
	CHECK(g->capabilities == std::vector<std::string>{ "oob" });
	CHECK(g->hasCapability("oob"));
	CHECK(g->version.toString() == "7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)");

	// Building it back gives the same JSON.
	auto rebuilt = json::parse(buildGreeting(*g));
	REQUIRE(rebuilt.ok());
	CHECK(json_node_equal(rebuilt->get(), it->value.get()));
}

TEST_CASE("every transcript message classifies and parses by its kind")
{
	test::requireFixtures();
	for (const char *name : kTranscripts) {
		INFO(name);
		int greetings = 0;
		for (const auto &t : test::readTranscript(name)) {
			INFO("line " << t.line);
			if (t.key == "s2c") {
				MessageKind kind = classify(obj(t));
				switch (kind) {
				case MessageKind::Greeting:
					++greetings;
					CHECK(parseGreeting(obj(t)).ok());
					break;
				case MessageKind::Event:
					CHECK(parseEvent(obj(t)).ok());
					break;
				case MessageKind::Return:
				case MessageKind::Error: {
					auto r = parseReply(obj(t));
					REQUIRE(r.ok());
					CHECK(r->ok == (kind == MessageKind::Return));
					break;
				}
				default:
					FAIL("server message of kind " << messageKindName(kind));
				}
			} else if (t.key == "c2s" && json_object_has_member(obj(t), "execute") &&
				   !json_object_has_member(obj(t), "exec-oob")) {
				CHECK(classify(obj(t)) == MessageKind::Command);
			}
		}
		CHECK(greetings == 1);
	}
}

TEST_CASE("parseCommand refuses requests with QEMU's own error texts")
{
	test::requireFixtures();
	int checked = 0;
	for (const char *name : { "02-errors.jsonl", "13-malformed-qmp-test-cases.jsonl", "04-oob.jsonl" }) {
		auto t = test::readTranscript(name);
		bool oob = std::string(name) == "04-oob.jsonl";
		for (size_t i = 0; i < t.size(); ++i) {
			if (t[i].key != "c2s")
				continue;
			// The reply is the next return/error from the server.
			size_t j = i + 1;
			while (j < t.size() && !(t[j].key == "s2c" && (classify(obj(t[j])) == MessageKind::Return ||
								    classify(obj(t[j])) == MessageKind::Error)))
				++j;
			REQUIRE(j < t.size());
			auto reply = parseReply(obj(t[j]));
			REQUIRE(reply.ok());
			INFO(name << " line " << t[i].line << ": " << json::serialize(t[i].value.get()));
			auto cmd = parseCommand(t[i].value.get(), oob);
			if (!cmd.ok()) {
				CHECK_FALSE(reply->ok);
				CHECK(cmd.error().message() == reply->errorDesc);
				CHECK(cmd.error().tag() == reply->errorClass);
				++checked;
			} else {
				CHECK(idKey(cmd->id.get()) == idKey(reply->id.get()));
			}
		}
	}
	CHECK(checked >= 10);
}

TEST_CASE("commands round-trip through buildCommand and parseCommand")
{
	json::ObjectBuilder args;
	args.setString("packet-header", "AAAA").setInt("gpa", 8388608);
	JsonNodePtr id = json::stringNode("cvm-7");
	std::string text = buildCommand("sev-inject-launch-secret", args.object(), id.get());
	auto node = json::parse(text);
	REQUIRE(node.ok());
	CHECK(classify(json_node_get_object(node->get())) == MessageKind::Command);
	auto cmd = parseCommand(node->get());
	REQUIRE(cmd.ok());
	CHECK(cmd->name == "sev-inject-launch-secret");
	CHECK_FALSE(cmd->oob);
	CHECK(idKey(cmd->id.get()) == "\"cvm-7\"");
	CHECK(*json::getInt(json_node_get_object(cmd->arguments.get()), "gpa") == 8388608);

	auto bare = parseCommand(json::parse(buildCommand("query-status", nullptr, nullptr))->get());
	REQUIRE(bare.ok());
	CHECK_FALSE(bare->arguments);
	CHECK_FALSE(bare->id);

	auto oob = json::parse(buildCommand("migrate-pause", nullptr, nullptr, true));
	CHECK_FALSE(parseCommand(oob->get(), false).ok());
	CHECK(parseCommand(oob->get(), true)->oob);
}

TEST_CASE("buildCommand writes exactly what json-glib makes of the same object")
{
	// The reference: a JsonObject in the same member order, serialized.
	auto reference = [](std::string_view name, JsonObject *arguments, JsonNode *id, bool oob) {
		JsonObjectPtr o(json_object_new());
		json_object_set_string_member(o.get(), oob ? "exec-oob" : "execute", std::string(name).c_str());
		if (arguments)
			json_object_set_object_member(o.get(), "arguments", json_object_ref(arguments));
		if (id)
			json_object_set_member(o.get(), "id", json_node_copy(id));
		return json::serialize(o.get());
	};
	json::ObjectBuilder args;
	args.setString("qom-type", "secret").setString("data", "a \"quoted\" \\ value\n").setInt("n", -3);
	JsonNodePtr ids[] = { nullptr, json::stringNode("cvm-12"), json::stringNode("with \"quote\""),
			      json::parse("42").value(), json::parse(R"({"a": [1]})").value() };
	for (const char *name : { "query-status", "sev-inject-launch-secret", "x-debug.cmd:1", "bad\"name", "n\u00e4me" })
		for (JsonObject *arguments : { static_cast<JsonObject *>(nullptr), args.object() })
			for (const auto &id : ids)
				for (bool oob : { false, true }) {
					std::string expected = reference(name, arguments, id.get(), oob);
					INFO(expected);
					CHECK(buildCommand(name, arguments, id.get(), oob) == expected);
				}
}

TEST_CASE("replies and events round-trip, ids of any type are kept")
{
	auto id = json::parse(R"({"k": [1, "two", null]})");
	REQUIRE(id.ok());
	auto value = json::parse(R"({"status": "prelaunch", "running": false})");
	auto ret = json::parseObject(buildReturn(value->get(), id->get()));
	REQUIRE(ret.ok());
	auto r = parseReply(json_node_get_object(ret->get()));
	REQUIRE(r.ok());
	CHECK(r->ok);
	CHECK(json_node_equal(r->value.get(), value->get()));
	CHECK(idKey(r->id.get()) == idKey(id->get()));

	auto err = json::parseObject(buildErrorReply("GenericError", "KVM not enabled", nullptr));
	auto e = parseReply(json_node_get_object(err->get()));
	REQUIRE(e.ok());
	CHECK_FALSE(e->ok);
	CHECK(e->errorClass == "GenericError");
	CHECK(e->errorDesc == "KVM not enabled");
	CHECK_FALSE(e->id);

	auto data = json::parse(R"({"guest": false, "reason": "host-signal"})");
	auto ev = json::parseObject(buildEvent("SHUTDOWN", data->get(), 1795387699, 62228));
	auto parsed = parseEvent(json_node_get_object(ev->get()));
	REQUIRE(parsed.ok());
	CHECK(parsed->name == "SHUTDOWN");
	CHECK(parsed->seconds == 1795387699);
	CHECK(parsed->microseconds == 62228);
	CHECK(parsed->dataString("reason") == "host-signal");
	Event copy = parsed->clone();
	CHECK(copy.dataString("reason") == "host-signal");

	auto now = json::parseObject(buildEvent("RESUME", nullptr));
	auto p2 = parseEvent(json_node_get_object(now->get()));
	REQUIRE(p2.ok());
	CHECK(p2->seconds > 1600000000);
	CHECK_FALSE(p2->data);
}

TEST_CASE("malformed server messages are protocol errors")
{
	auto check = [](const char *text) {
		INFO(text);
		auto node = parseMessage(text);
		if (!node.ok()) {
			CHECK(node.error().code() == ErrorCode::Protocol);
			return;
		}
		JsonObject *o = json_node_get_object(node->get());
		switch (classify(o)) {
		case MessageKind::Greeting: CHECK_FALSE(parseGreeting(o).ok()); break;
		case MessageKind::Event: CHECK_FALSE(parseEvent(o).ok()); break;
		case MessageKind::Error: CHECK_FALSE(parseReply(o).ok()); break;
		default: CHECK(classify(o) == MessageKind::Unknown); break;
		}
	};
	check("[1]");
	check("{nope}");
	check(R"({"QMP": {}})");
	check(R"({"QMP": {"version": {"qemu": {"major": "7"}}, "capabilities": []}})");
	check(R"({"QMP": {"version": {"qemu": {"major": 7, "minor": 2, "micro": 0}}, "capabilities": [1]}})");
	check(R"({"event": 5})");
	check(R"({"error": "text"})");
	check(R"({"error": {"class": "GenericError"}})");
	check(R"({"return": {}, "event": "STOP"})");
	check(R"({"something": "else"})");
}

TEST_CASE("server output is ASCII with QEMU's escapes")
{
	// U+00E9, U+20AC and U+1F600 (a surrogate pair in JSON).
	CHECK(toAsciiJson("{\"a\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}") ==
	      "{\"a\":\"\\u00E9\\u20AC\\uD83D\\uDE00\"}");
	CHECK(toAsciiJson("plain") == "plain");
	std::string framed = frameServerMessage(buildErrorReply("GenericError", "JSON parse error, stray '\xEF\xBF\xBD'", nullptr));
	CHECK(framed.find("stray '\\uFFFD'") != std::string::npos);
	CHECK(framed.substr(framed.size() - 2) == "\r\n");
	for (char c : framed)
		CHECK(static_cast<unsigned char>(c) < 0x80);

	// What QEMU sent in capture 13 parses to the same message.
	test::requireFixtures();
	auto raw = test::readRawCapture("13-malformed-qmp-test-cases.raw");
	JsonSplitter s;
	bool found = false;
	for (const auto &f : s.feed(raw.server)) {
		if (f.text.find("\\uFFFD") == std::string::npos)
			continue;
		auto theirs = json::parse(f.text);
		auto ours = json::parse(framed);
		REQUIRE((theirs.ok() && ours.ok()));
		if (json_node_equal(theirs->get(), ours->get()))
			found = true;
	}
	CHECK(found);
}

TEST_CASE("remote errors carry class and desc")
{
	Error e = remoteError("query-sev-capabilities", "GenericError", "KVM not enabled");
	CHECK(e.code() == ErrorCode::Remote);
	CHECK(e.tag() == "GenericError");
	CHECK(e.message() == "query-sev-capabilities: KVM not enabled");
	CHECK(remoteErrorDesc(e, "query-sev-capabilities") == "KVM not enabled");
	CHECK(remoteErrorDesc(Error(ErrorCode::Io, "x"), "y") == "x");
}

TEST_CASE("launch secrets are redacted in loggable command text")
{
	json::ObjectBuilder args;
	args.setString("packet-header", "SECRETHEADER").setString("secret", "SECRETPAYLOAD");
	CHECK(isSensitiveCommand("sev-inject-launch-secret", args.object()));
	std::string logged = loggableCommand("sev-inject-launch-secret", args.object(), nullptr, true);
	CHECK(logged.find("SECRET") == std::string::npos);
	CHECK(logged.find(std::string(kRedacted)) != std::string::npos);
	CHECK(logged.find("sev-inject-launch-secret") != std::string::npos);

	json::ObjectBuilder secretObject;
	secretObject.setString("qom-type", "secret").setString("id", "s0").setString("data", "pw");
	CHECK(isSensitiveCommand("object-add", secretObject.object()));
	json::ObjectBuilder sevObject;
	sevObject.setString("qom-type", "sev-guest").setString("id", "sev0");
	CHECK_FALSE(isSensitiveCommand("object-add", sevObject.object()));
	CHECK_FALSE(isSensitiveCommand("query-status", nullptr));
	CHECK(loggableCommand("query-status", nullptr, nullptr, false) == "{\"execute\":\"query-status\"}");
}
