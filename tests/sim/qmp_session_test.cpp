// SPDX-License-Identifier: Apache-2.0
//
// QmpSession + Machine + the SEV commands (no SEV guest, no SEV host) replayed
// against QEMU 7.2's own transcripts: every exchange whose command the
// simulator implements (and every protocol-level error) must produce exactly
// QEMU's messages, timestamps aside.
#include <catch2/catch.hpp>

#include "cvm/common/json.h"
#include "cvm/qmp/wire.h"
#include "cvm/sim/machine.h"
#include "cvm/sim/qmp_dispatch.h"
#include "cvm/sim/sev_qmp_commands.h"
#include "test_support.h"
#include "transcript_support.h"

using namespace cvm;
using namespace cvm::sim;

namespace {

qmp::Version fixtureVersion()
{
	qmp::Version v;
	v.major = 7;
	v.minor = 2;
	v.micro = 22;
	v.package = "Debian 1:7.2+dfsg-7+deb12u18+b3";
	return v;
}

struct Harness {
	QmpDispatcher dispatcher;
	SevQmpContext sev; // neither host nor guest SEV: QEMU under TCG
	std::unique_ptr<QmpSession> session;
	Machine machine;

	// `startPaused`: the transcript's QEMU ran with -S.
	explicit Harness(bool startPaused)
		: machine(startPaused, [this](std::string_view n, JsonNode *d) {
			  session->queueEvent(qmp::frameServerMessage(qmp::buildEvent(n, d)));
		  })
	{
		sev.testCommands = false;
		registerSevCommands(dispatcher, sev);
		machine.registerCommands(dispatcher, [] {}, fixtureVersion(), "");
		QmpSessionOptions o;
		o.version = fixtureVersion();
		session = std::make_unique<QmpSession>(dispatcher, o);
	}
	std::vector<JsonNodePtr> exchange(const std::string &bytes)
	{
		session->receive(bytes);
		while (session->processOne()) {
		}
		std::vector<JsonNodePtr> out;
		std::string text = session->takeOutput();
		size_t pos = 0;
		while (pos < text.size()) {
			size_t end = text.find("\r\n", pos);
			REQUIRE(end != std::string::npos); // CRLF framing
			out.push_back(json::parse(text.substr(pos, end - pos)).value());
			pos = end + 2;
		}
		return out;
	}
};

void dropTimestamp(JsonNode *n)
{
	if (JSON_NODE_HOLDS_OBJECT(n))
		json_object_remove_member(json_node_get_object(n), "timestamp");
}

std::string latin1(const std::string &utf8)
{
	// c2s_raw holds bytes as a latin-1 string.
	std::string out;
	GError *err = nullptr;
	gchar *raw = g_convert(utf8.data(), static_cast<gssize>(utf8.size()), "ISO-8859-1", "UTF-8", nullptr, nullptr,
			       &err);
	REQUIRE(raw != nullptr);
	out = raw;
	g_free(raw);
	return out;
}

// Whether the simulator claims to answer this request like QEMU.
bool comparable(const QmpDispatcher &d, JsonNode *request, const std::vector<JsonNode *> &expected)
{
	if (!request || !JSON_NODE_HOLDS_OBJECT(request))
		return true;
	JsonObject *o = json_node_get_object(request);
	const char *name = nullptr;
	for (const char *key : { "execute", "exec-oob" })
		if (!name && json_object_has_member(o, key) && JSON_NODE_HOLDS_VALUE(json_object_get_member(o, key)) &&
		    json_node_get_value_type(json_object_get_member(o, key)) == G_TYPE_STRING)
			name = json_object_get_string_member(o, key);
	// The simulator stands for a KVM host: query-kvm says enabled.
	if (name && std::string(name) == "query-kvm")
		return false;
	if (!name || d.has(name) || std::string(name) == "qmp_capabilities")
		return true;
	for (JsonNode *e : expected) {
		JsonObject *eo = json_node_get_object(e);
		if (json_object_has_member(eo, "error") &&
		    std::string(json_object_get_string_member(json_object_get_object_member(eo, "error"), "class")) ==
			    "CommandNotFound")
			return true;
	}
	return false;
}

// Whether the transcript's QEMU ran with -S (its meta line's argv).
bool startedPaused(const std::vector<cvm::test::TranscriptLine> &lines)
{
	for (const auto &l : lines)
		if (l.key == "meta")
			return json::serialize(l.value.get()).find("\"-S\"") != std::string::npos;
	return false;
}

void replay(const std::string &fixture, unsigned minCompared)
{
	cvm::test::requireFixtures();
	auto lines = cvm::test::readTranscript(fixture + ".jsonl");
	Harness h(startedPaused(lines));
	unsigned compared = 0;
	size_t i = 0;
	// The greeting first.
	while (i < lines.size() && lines[i].key != "s2c")
		++i;
	REQUIRE(i < lines.size());
	JsonNodePtr greeting = json::parse(h.session->greeting()).value();
	CHECK(json_node_equal(greeting.get(), lines[i].value.get()));
	for (++i; i < lines.size(); ++i) {
		const auto &l = lines[i];
		if (l.key != "c2s" && l.key != "c2s_raw")
			continue;
		std::string bytes = l.key == "c2s" ? json::serialize(l.value.get()) + "\n"
						   : latin1(json_node_get_string(l.value.get()));
		std::vector<JsonNode *> expected;
		size_t j = i + 1;
		for (; j < lines.size() && lines[j].key != "c2s" && lines[j].key != "c2s_raw"; ++j)
			if (lines[j].key == "s2c")
				expected.push_back(lines[j].value.get());
		auto got = h.exchange(bytes);
		if (!comparable(h.dispatcher, l.key == "c2s" ? l.value.get() : nullptr, expected))
			continue;
		INFO(fixture << " line " << l.line << ": " << bytes);
		REQUIRE(got.size() == expected.size());
		for (size_t k = 0; k < got.size(); ++k) {
			dropTimestamp(got[k].get());
			JsonNodePtr want(json_node_copy(expected[k]));
			dropTimestamp(want.get());
			INFO("got  " << json::serialize(got[k].get()) << "\nwant " << json::serialize(want.get()));
			CHECK(json_node_equal(got[k].get(), want.get()));
		}
		++compared;
	}
	CHECK(compared >= minCompared);
}

} // namespace

TEST_CASE("01 basic handshake") { replay("01-basic-handshake", 8); }
TEST_CASE("02 errors") { replay("02-errors", 20); }
TEST_CASE("03 sev on a non-SEV VM") { replay("03-sev-on-non-sev", 7); }
TEST_CASE("04 oob: exec-oob of a command without OOB support, of an unknown command") { replay("04-oob", 4); }
TEST_CASE("05 bad capability") { replay("05-bad-capability", 3); }
TEST_CASE("06 run-state events: prelaunch, cont/RESUME, stop/STOP, quit/SHUTDOWN") { replay("06-runstate-events-q35", 9); }
TEST_CASE("13 malformed input") { replay("13-malformed-qmp-test-cases", 20); }
