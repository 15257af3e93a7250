// SPDX-License-Identifier: Apache-2.0
//
// JsonSplitter against real QEMU byte streams (the shared captures) and the
// framing cases a hostile or merely unusual peer produces.
#include <catch2/catch.hpp>

#include <random>

#include "cvm/common/json.h"
#include "cvm/qmp/json_splitter.h"
#include "cvm/qmp/wire.h"
#include "test_support.h"
#include "transcript_support.h"

using namespace cvm;
using namespace cvm::qmp;

namespace {

const char *kCaptures[] = {
	"01-basic-handshake", "02-errors", "03-sev-on-non-sev", "04-oob", "05-bad-capability",
	"06-runstate-events-q35", "08-sigterm-event", "09-introspection",
	"13-malformed-qmp-test-cases", "14-oob-overtakes-inband",
};

std::vector<std::string> values(const std::vector<Frame> &frames)
{
	std::vector<std::string> out;
	for (const auto &f : frames) {
		REQUIRE_FALSE(f.isError());
		out.push_back(f.text);
	}
	return out;
}

// Feeds `data` in chunks whose sizes come from `rng` (1..maxChunk bytes).
std::vector<Frame> feedChunked(JsonSplitter &s, std::string_view data, std::mt19937 &rng, size_t maxChunk)
{
	std::vector<Frame> out;
	std::uniform_int_distribution<size_t> size(1, maxChunk);
	while (!data.empty()) {
		size_t n = std::min(size(rng), data.size());
		for (auto &f : s.feed(data.substr(0, n)))
			out.push_back(std::move(f));
		data.remove_prefix(n);
	}
	return out;
}

bool sameJson(const std::string &text, JsonNode *expected)
{
	auto node = json::parse(text);
	return node.ok() && json_node_equal(node->get(), expected);
}

} // namespace

TEST_CASE("QEMU's server stream splits into exactly the messages of the transcript")
{
	test::requireFixtures();
	for (const char *name : kCaptures) {
		INFO(name);
		auto raw = test::readRawCapture(std::string(name) + ".raw");
		std::vector<JsonNode *> expected;
		auto transcript = test::readTranscript(std::string(name) + ".jsonl");
		for (const auto &t : transcript)
			if (t.key == "s2c")
				expected.push_back(t.value.get());

		JsonSplitter whole;
		auto frames = values(whole.feed(raw.server));
		REQUIRE(frames.size() == expected.size());
		for (size_t i = 0; i < frames.size(); ++i)
			CHECK(sameJson(frames[i], expected[i]));
		CHECK_FALSE(whole.finish());

		// The same bytes in the chunks QEMU wrote, and byte by byte.
		JsonSplitter chunked;
		std::vector<Frame> byChunk;
		for (const auto &c : raw.serverChunks)
			for (auto &f : chunked.feed(c))
				byChunk.push_back(std::move(f));
		CHECK(values(byChunk) == frames);

		JsonSplitter bytewise;
		std::vector<Frame> byByte;
		for (char c : raw.server)
			for (auto &f : bytewise.feed(std::string_view(&c, 1)))
				byByte.push_back(std::move(f));
		CHECK(values(byByte) == frames);
	}
}

TEST_CASE("random chunkings of a stream give the same frames, errors included")
{
	test::requireFixtures();
	for (const char *name : { "02-errors", "13-malformed-qmp-test-cases" }) {
		INFO(name);
		auto raw = test::readRawCapture(std::string(name) + ".raw");
		SplitterLimits limits;
		limits.singleQuotes = true;
		JsonSplitter reference(limits);
		auto expected = reference.feed(raw.client);
		std::mt19937 rng(1234);
		for (int round = 0; round < 50; ++round) {
			JsonSplitter s(limits);
			auto got = feedChunked(s, raw.client, rng, 1 + round);
			REQUIRE(got.size() == expected.size());
			for (size_t i = 0; i < got.size(); ++i) {
				CHECK(got[i].type == expected[i].type);
				CHECK(got[i].text == expected[i].text);
				CHECK(got[i].offset == expected[i].offset);
				CHECK(got[i].error.offset == expected[i].error.offset);
			}
		}
	}
}

// QEMU answers every framed input value or framing error with exactly one
// reply (in order). Splitting the client side of the captures the way a QEMU
// lookalike server would must therefore give one frame per reply, with the
// error texts QEMU used.
TEST_CASE("a server-side splitter frames client input as QEMU did")
{
	test::requireFixtures();
	for (const char *name : { "02-errors", "13-malformed-qmp-test-cases" }) {
		INFO(name);
		auto raw = test::readRawCapture(std::string(name) + ".raw");
		std::vector<JsonObject *> replies;
		auto transcript = test::readTranscript(std::string(name) + ".jsonl");
		for (const auto &t : transcript) {
			if (t.key != "s2c")
				continue;
			JsonObject *o = json_node_get_object(t.value.get());
			if (classify(o) == MessageKind::Return || classify(o) == MessageKind::Error)
				replies.push_back(o);
		}

		SplitterLimits limits;
		limits.singleQuotes = true;
		JsonSplitter s(limits);
		std::vector<Frame> frames;
		// Feed as written, so "split across two writes" is exercised.
		for (const auto &c : raw.clientChunks)
			for (auto &f : s.feed(c))
				frames.push_back(std::move(f));
		REQUIRE(frames.size() == replies.size());

		for (size_t i = 0; i < frames.size(); ++i) {
			auto reply = parseReply(replies[i]);
			REQUIRE(reply.ok());
			const Frame &f = frames[i];
			INFO("frame " << i << ": " << (f.isError() ? f.error.message() : f.text));
			if (f.isError()) {
				CHECK(reply->errorDesc.rfind("JSON parse error", 0) == 0);
				if (f.error.kind == SplitErrorKind::StrayByte)
					CHECK(reply->errorDesc.find(f.error.qemuStray() + "'") != std::string::npos);
				continue;
			}
			auto node = json::parse(f.text);
			if (!node.ok()) {
				CHECK(reply->errorDesc.rfind("JSON parse error", 0) == 0);
				continue;
			}
			auto cmd = parseCommand(node->get(), false);
			if (!cmd.ok()) {
				CHECK_FALSE(reply->ok);
				CHECK(reply->errorDesc == cmd.error().message());
				CHECK(cmd.error().tag() == reply->errorClass);
				continue;
			}
			// A well-formed command: QEMU echoed its id (or none).
			CHECK(idKey(cmd->id.get()) == idKey(reply->id.get()));
		}
	}
}

// Drops the "#" comment lines of a session capture and turns every \n into
// \r\n, as QEMU's monitor writes them.
static std::string sessionBytes(std::string_view fixtureName)
{
	auto text = test::readFixture(std::string("qmp-qemu-7.2/") + std::string(fixtureName));
	std::string s(asString(text)), body;
	size_t pos = 0;
	while (pos < s.size()) {
		size_t end = s.find('\n', pos);
		if (end == std::string::npos)
			end = s.size();
		std::string line = s.substr(pos, end - pos);
		if (line.rfind("#", 0) != 0)
			body += line + "\r\n";
		pos = end + 1;
	}
	return body;
}

TEST_CASE("pretty multi-line JSON with CRLF line ends frames like the compact form")
{
	test::requireFixtures();
	JsonSplitter splitter;
	auto frames = values(splitter.feed(sessionBytes("12-pretty-session.txt")));
	REQUIRE(frames.size() == 5);

	// The compact stdio session of the same QEMU starts with the same greeting
	// and ends with the same quit exchange.
	JsonSplitter compactSplitter;
	auto cframes = values(compactSplitter.feed(sessionBytes("11-stdio-session.txt")));
	REQUIRE(cframes.size() == 5);
	auto g1 = json::parse(frames[0]), g2 = json::parse(cframes[0]);
	REQUIRE((g1.ok() && g2.ok()));
	CHECK(json_node_equal(g1->get(), g2->get()));
	auto e1 = json::parseObject(frames[3]);
	REQUIRE(e1.ok());
	auto ev = parseEvent(json_node_get_object(e1->get()));
	REQUIRE(ev.ok());
	CHECK(ev->name == "SHUTDOWN");
	CHECK(ev->dataString("reason") == "host-qmp-quit");
	auto r1 = json::parse(frames[4]), r2 = json::parse(cframes[4]);
	REQUIRE((r1.ok() && r2.ok()));
	CHECK(json_node_equal(r1->get(), r2->get()));
}

TEST_CASE("strings and escapes never end a value")
{
	JsonSplitter s;
	std::string a = R"({"a": "}{][", "b": "\"}", "c": "\\", "d": "\u007d\n"})";
	std::string b = R"(["x\\\"]", {"y": []}])";
	auto frames = values(s.feed(a + "\r\n" + b + "\n"));
	REQUIRE(frames.size() == 2);
	CHECK(frames[0] == a);
	CHECK(frames[1] == b);
	auto parsed = json::parseObject(frames[0]);
	REQUIRE(parsed.ok());
	CHECK(*json::getString(json_node_get_object(parsed->get()), "b") == "\"}");
}

TEST_CASE("several values in one read and one value across reads")
{
	JsonSplitter s;
	auto frames = values(s.feed(R"({"a":1}{"b":2}  {"c":3})"));
	CHECK(frames == std::vector<std::string>{ R"({"a":1})", R"({"b":2})", R"({"c":3})" });

	CHECK(s.feed(R"({"return": {"st)").empty());
	CHECK(s.midValue());
	CHECK(s.feed(R"(atus": "run)").empty());
	auto last = values(s.feed("ning\"}}\r\n"));
	REQUIRE(last.size() == 1);
	CHECK(last[0] == R"({"return": {"status": "running"}})");
	CHECK_FALSE(s.midValue());
}

TEST_CASE("offsets locate values and errors in the stream")
{
	JsonSplitter s;
	auto frames = s.feed("  {\"a\":1}\r\n\x01{}");
	REQUIRE(frames.size() == 3);
	CHECK(frames[0].offset == 2);
	CHECK(frames[1].isError());
	CHECK(frames[1].error.offset == 11);
	CHECK(frames[1].error.byte == 0x01);
	CHECK(frames[2].offset == 12);
	CHECK(s.offset() == 14);
}

TEST_CASE("the size cap refuses a value and the splitter resynchronises")
{
	SplitterLimits limits;
	limits.maxMessageSize = 64;
	JsonSplitter s(limits);
	std::string big = "{\"data\": \"" + std::string(100, 'x') + "\"}\n";
	auto frames = s.feed(big + "{\"ok\":true}\n");
	REQUIRE(frames.size() == 2);
	REQUIRE(frames[0].isError());
	CHECK(frames[0].error.kind == SplitErrorKind::TooLarge);
	CHECK(frames[0].error.limit == 64);
	CHECK(frames[0].error.message().find("larger than 64 bytes") != std::string::npos);
	CHECK(s.pendingBytes() == 0);
	REQUIRE_FALSE(frames[1].isError());
	CHECK(frames[1].text == "{\"ok\":true}");

	// Exactly at the cap is fine.
	JsonSplitter exact(limits);
	std::string fits = "{\"d\":\"" + std::string(64 - 8, 'y') + "\"}";
	REQUIRE(fits.size() == 64);
	auto f = exact.feed(fits);
	REQUIRE(f.size() == 1);
	CHECK_FALSE(f[0].isError());
}

TEST_CASE("the default size cap is QEMU's 64 MiB")
{
	CHECK(JsonSplitter().limits().maxMessageSize == 64u * 1024 * 1024);
	CHECK(JsonSplitter().limits().maxNesting == 1024);
}

TEST_CASE("the nesting cap refuses deep values")
{
	SplitterLimits limits;
	limits.maxNesting = 3;
	JsonSplitter s(limits);
	auto ok = s.feed("[[[1]]]");
	REQUIRE(ok.size() == 1);
	CHECK_FALSE(ok[0].isError());
	auto deep = s.feed("[[[[1]]]]\n{}");
	REQUIRE(deep.size() >= 2);
	CHECK(deep[0].isError());
	CHECK(deep[0].error.kind == SplitErrorKind::TooDeep);
	CHECK(deep.back().text == "{}");
}

TEST_CASE("garbage is reported, and a control character resynchronises")
{
	JsonSplitter s;
	auto frames = s.feed("{\"execute\": \"query-status\"\x01{\"execute\":\"cont\"}");
	REQUIRE(frames.size() == 2);
	CHECK(frames[0].isError());
	CHECK(frames[0].error.kind == SplitErrorKind::StrayByte);
	CHECK(frames[0].error.byte == 0x01);
	CHECK(frames[0].error.discarded == 27);
	CHECK(frames[1].text == "{\"execute\":\"cont\"}");

	// Printable garbage: skipped up to the next value.
	JsonSplitter g;
	auto f = g.feed("%p garbage here {\"a\":1}");
	REQUIRE(f.size() == 2);
	CHECK(f[0].error.byte == '%');
	CHECK(f[1].text == "{\"a\":1}");

	// Mismatched brackets and a stray closer.
	JsonSplitter m;
	auto mm = m.feed("{]\n}\n[}\n{}");
	REQUIRE(mm.size() == 4);
	CHECK(mm[0].error.kind == SplitErrorKind::UnbalancedClose);
	CHECK(mm[1].error.kind == SplitErrorKind::UnbalancedClose);
	CHECK(mm[2].error.kind == SplitErrorKind::UnbalancedClose);
	CHECK(mm[3].text == "{}");
}

TEST_CASE("bytes never valid in UTF-8 and raw control characters in strings are errors")
{
	JsonSplitter s;
	auto f = s.feed("{\"a\": \"x\xff\"}");
	REQUIRE_FALSE(f.empty());
	CHECK(f[0].isError());
	CHECK(f[0].error.qemuStray() == "\xEF\xBF\xBD");

	JsonSplitter n;
	auto g = n.feed("{\"a\": \"line\nbreak\"}");
	REQUIRE_FALSE(g.empty());
	CHECK(g[0].isError());
	CHECK(g[0].error.byte == '\n');

	// Valid multi-byte UTF-8 passes through untouched.
	JsonSplitter u;
	auto h = values(u.feed("{\"a\": \"\xc3\xa9\xe2\x82\xac\"}"));
	REQUIRE(h.size() == 1);
	CHECK(h[0] == "{\"a\": \"\xc3\xa9\xe2\x82\xac\"}");
}

TEST_CASE("end of stream inside a value is reported as truncation")
{
	JsonSplitter s;
	CHECK(s.feed("{\"return\": {").empty());
	auto f = s.finish();
	REQUIRE(f);
	CHECK(f->isError());
	CHECK(f->error.kind == SplitErrorKind::Truncated);
	CHECK(f->error.discarded == 12);
	CHECK_FALSE(s.midValue());
	CHECK_FALSE(s.finish());
}

TEST_CASE("top-level scalars end at their delimiter or at end of stream")
{
	JsonSplitter s;
	auto f = values(s.feed("42\nnull [1,2,3]\"str\"  true"));
	CHECK(f == std::vector<std::string>{ "42", "null", "[1,2,3]", "\"str\"" });
	auto last = s.finish();
	REQUIRE(last);
	CHECK(last->text == "true");
}

TEST_CASE("single-quoted strings are rewritten to standard JSON when enabled")
{
	SplitterLimits limits;
	limits.singleQuotes = true;
	JsonSplitter s(limits);
	auto f = values(s.feed(R"({'execute': 'x', 'id': 'it\'s "q" }'})"));
	REQUIRE(f.size() == 1);
	auto node = json::parseObject(f[0]);
	REQUIRE(node.ok());
	JsonObject *o = json_node_get_object(node->get());
	CHECK(*json::getString(o, "execute") == "x");
	CHECK(*json::getString(o, "id") == "it's \"q\" }");

	// Disabled (the client side): a quote is a stray character.
	JsonSplitter strict;
	auto e = strict.feed("{'a': 1}");
	REQUIRE_FALSE(e.empty());
	CHECK(e[0].isError());
}

TEST_CASE("consume() stops after each frame so a server can answer one at a time")
{
	JsonSplitter s;
	std::string data = "{\"a\":1}\r\n{\"b\":2}";
	std::optional<Frame> frame;
	size_t used = s.consume(data, frame);
	REQUIRE(frame);
	CHECK(used == 7);
	CHECK(frame->text == "{\"a\":1}");
	used += s.consume(std::string_view(data).substr(used), frame);
	REQUIRE(frame);
	CHECK(frame->text == "{\"b\":2}");
	CHECK(used == data.size());
}
