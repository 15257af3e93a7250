// SPDX-License-Identifier: Apache-2.0
//
// ProxyCore between a scripted QEMU side and a client: ordering of local
// answers behind forwarded commands, reconnecting clients, negotiation,
// events, malformed input.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include "cvm/common/json.h"
#include "cvm/shim/qmp_proxy.h"

using namespace cvm;
using namespace cvm::shim;

namespace {

const char *kGreeting =
	R"({"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": ""}, "capabilities": ["oob"]}})";

// Answers query-sev-capabilities locally, refuses x-fail, forwards the rest.
class TestFilter : public CommandFilter
{
public:
	Disposition filter(const qmp::Command &c) override
	{
		seen.push_back(c.name);
		if (c.name == "query-sev-capabilities")
			return Disposition::reply(json::ObjectBuilder().setInt("cbitpos", 51).build());
		if (c.name == "x-fail")
			return Disposition::reply(Error(ErrorCode::Remote, "no such thing", "DeviceNotFound"));
		if (c.name == "x-empty")
			return Disposition::reply(JsonNodePtr());
		return Disposition::forward();
	}
	std::vector<std::string> seen;
};

struct Harness {
	TestFilter filter;
	ProxyCore core{ filter };

	void qemuSays(const std::string &json) { core.fromQemu(json + "\r\n"); }
	void clientSays(const std::string &json) { core.fromClient(json + "\n"); }
	std::string toClient() { return core.takeToClient(); }
	std::string toQemu()
	{
		std::string all;
		for (auto &w : core.takeToQemu()) {
			CHECK(w.fds.empty());
			all += w.bytes;
		}
		return all;
	}
	void negotiate()
	{
		clientSays(R"({"execute":"qmp_capabilities"})");
		REQUIRE(toQemu() == "{\"execute\":\"qmp_capabilities\"}\n");
		qemuSays(R"({"return": {}})");
		REQUIRE(toClient() == "{\"return\": {}}\r\n");
	}
};

} // namespace

TEST_CASE("the greeting reaches a client whenever it connects")
{
	Harness h;
	h.core.clientConnected();
	CHECK(h.toClient().empty());
	h.qemuSays(kGreeting);
	CHECK(h.core.greeted());
	CHECK(h.toClient() == std::string(kGreeting) + "\r\n");
	h.core.clientDisconnected();
	h.core.clientConnected();
	CHECK(h.toClient() == std::string(kGreeting) + "\r\n");
}

TEST_CASE("a local answer waits for the forwarded commands before it")
{
	Harness h;
	h.qemuSays(kGreeting);
	h.core.clientConnected();
	h.toClient();
	h.negotiate();
	h.clientSays(R"({"execute":"query-version","id":"a"})");
	h.clientSays(R"({"execute":"query-sev-capabilities","id":"b"})");
	h.clientSays(R"({"execute":"query-name","id":"c"})");
	CHECK(h.toQemu() == "{\"execute\":\"query-version\",\"id\":\"a\"}\n{\"execute\":\"query-name\",\"id\":\"c\"}\n");
	CHECK(h.toClient().empty()); // b is ready but a is not
	CHECK(h.core.pendingForwarded() == 2);
	h.qemuSays(R"({"timestamp": {"seconds": 1, "microseconds": 2}, "event": "RESUME"})");
	CHECK(h.toClient() == "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"RESUME\"}\r\n");
	h.qemuSays(R"({"return": {"qemu": {}}, "id": "a"})");
	CHECK(h.toClient() == "{\"return\": {\"qemu\": {}}, \"id\": \"a\"}\r\n{\"return\":{\"cbitpos\":51},\"id\":\"b\"}\r\n");
	h.qemuSays(R"({"return": {}, "id": "c"})");
	CHECK(h.toClient() == "{\"return\": {}, \"id\": \"c\"}\r\n");
	CHECK(h.filter.seen == std::vector<std::string>{ "query-version", "query-sev-capabilities", "query-name" });
}

TEST_CASE("filter errors carry their QMP class, an empty answer is {}")
{
	Harness h;
	h.qemuSays(kGreeting);
	h.core.clientConnected();
	h.toClient();
	h.negotiate();
	h.clientSays(R"({"execute":"x-fail","id":1})");
	CHECK(h.toClient() == "{\"id\":1,\"error\":{\"class\":\"DeviceNotFound\",\"desc\":\"no such thing\"}}\r\n");
	h.clientSays(R"({'execute':'x-empty'})");
	CHECK(h.toClient() == "{\"return\":{}}\r\n");
	CHECK(h.toQemu().empty());
}

TEST_CASE("a client that reconnects finds QEMU negotiated; stale replies are dropped")
{
	Harness h;
	h.qemuSays(kGreeting);
	h.core.clientConnected();
	h.toClient();
	h.negotiate();
	h.clientSays(R"({"execute":"query-status","id":"old"})");
	h.toQemu();
	h.core.clientDisconnected();
	h.core.clientConnected();
	CHECK(h.toClient() == std::string(kGreeting) + "\r\n");
	// Before negotiating: QEMU's refusal, from the shim (QEMU's connection is past it).
	h.clientSays(R"({"execute":"query-status","id":1})");
	CHECK(h.toClient() ==
	      "{\"id\":1,\"error\":{\"class\":\"CommandNotFound\",\"desc\":\"Expecting capabilities negotiation with 'qmp_capabilities'\"}}\r\n");
	h.qemuSays(R"({"timestamp": {"seconds": 1, "microseconds": 2}, "event": "STOP"})");
	CHECK(h.toClient().empty()); // no events before negotiation
	h.clientSays(R"({"execute":"qmp_capabilities","id":2})");
	h.clientSays(R"({"execute":"query-name","id":3})");
	CHECK(h.toQemu() == "{\"execute\":\"query-name\",\"id\":3}\n");
	// The old client's reply comes first and goes nowhere.
	h.qemuSays(R"({"return": {"status": "paused"}, "id": "old"})");
	CHECK(h.toClient() == "{\"return\":{},\"id\":2}\r\n");
	h.qemuSays(R"({"return": {}, "id": 3})");
	CHECK(h.toClient() == "{\"return\": {}, \"id\": 3}\r\n");
}

TEST_CASE("malformed client input gets QEMU's errors without reaching QEMU")
{
	Harness h;
	h.qemuSays(kGreeting);
	h.core.clientConnected();
	h.toClient();
	h.negotiate();
	h.core.fromClient("\x01");
	CHECK(h.toClient() == "{\"error\":{\"class\":\"GenericError\",\"desc\":\"JSON parse error, stray '\\u0001'\"}}\r\n");
	h.clientSays(R"({"arguments":{}})");
	CHECK(h.toClient() == "{\"error\":{\"class\":\"GenericError\",\"desc\":\"QMP input lacks member 'execute'\"}}\r\n");
	h.clientSays(R"({"exec-oob":"query-status","id":9})");
	auto oob = h.toClient();
	CHECK(oob.find("\"id\":9") != std::string::npos);
	CHECK(oob.find("GenericError") != std::string::npos);
	h.clientSays("[1]");
	CHECK(h.toClient() == "{\"error\":{\"class\":\"GenericError\",\"desc\":\"QMP input must be a JSON object\"}}\r\n");
	CHECK(h.toQemu().empty());
	CHECK(h.filter.seen.empty());
}

TEST_CASE("a reply from QEMU that matches no command is ignored")
{
	Harness h;
	h.qemuSays(kGreeting);
	h.core.clientConnected();
	h.toClient();
	h.qemuSays(R"({"return": {}})");
	h.qemuSays("{nope}");
	CHECK(h.toClient().empty());
	h.negotiate();
}

namespace {

// A pipe whose write end is handed out: the read end sees EOF once every
// copy of the write end is closed.
struct PipeProbe {
	UniqueFd readEnd, writeEnd;
	PipeProbe()
	{
		int p[2];
		REQUIRE(::pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0);
		readEnd.reset(p[0]);
		writeEnd.reset(p[1]);
	}
	// The write end to pass on (ours is closed).
	UniqueFd give() { return std::move(writeEnd); }
	bool writeEndClosedEverywhere() const
	{
		char c;
		return ::read(readEnd.get(), &c, 1) == 0;
	}
};

std::vector<UniqueFd> one(UniqueFd fd)
{
	std::vector<UniqueFd> v;
	v.push_back(std::move(fd));
	return v;
}

} // namespace

TEST_CASE("descriptors the client passes go to QEMU with the command they came with")
{
	Harness h;
	h.core.clientConnected();
	h.qemuSays(kGreeting);
	(void)h.toClient();
	h.negotiate();

	PipeProbe a;
	h.core.fromClient("{\"execute\":\"getfd\",\"arguments\":{\"fdname\":\"x\"}}\n", one(a.give()));
	auto writes = h.core.takeToQemu();
	REQUIRE(writes.size() == 1);
	CHECK(writes[0].bytes == "{\"execute\":\"getfd\",\"arguments\":{\"fdname\":\"x\"}}\n");
	REQUIRE(writes[0].fds.size() == 1);
	CHECK(!a.writeEndClosedEverywhere());
	writes.clear(); // what MonitorLink does once sendmsg() took them
	CHECK(a.writeEndClosedEverywhere());

	// A command without descriptors after one with: separate writes, so the
	// descriptors start the second.
	PipeProbe b;
	h.clientSays(R"({"execute":"query-status"})");
	h.core.fromClient(R"({"execute":"add-fd"})" "\n", one(b.give()));
	writes = h.core.takeToQemu();
	REQUIRE(writes.size() == 2);
	CHECK(writes[0].fds.empty());
	CHECK(writes[1].bytes == "{\"execute\":\"add-fd\"}\n");
	CHECK(writes[1].fds.size() == 1);
}

TEST_CASE("passed descriptors: locally answered commands keep them, newer ones replace them")
{
	Harness h;
	h.core.clientConnected();
	h.qemuSays(kGreeting);
	(void)h.toClient();
	h.negotiate();
	PipeProbe a, b;
	// Answered by the filter: the descriptor waits, as in QEMU's chardev.
	h.core.fromClient("{\"execute\":\"query-sev-capabilities\"}\n", one(a.give()));
	CHECK(h.core.takeToQemu().empty());
	CHECK(!a.writeEndClosedEverywhere());
	// New descriptors replace it (QEMU closes the old ones too).
	h.core.fromClient("{\"execute\":\"getfd\",\"arguments\":{\"fdname\":\"y\"}}\n", one(b.give()));
	CHECK(a.writeEndClosedEverywhere());
	auto writes = h.core.takeToQemu();
	REQUIRE(writes.size() == 1);
	REQUIRE(writes[0].fds.size() == 1);
	writes.clear();
	CHECK(b.writeEndClosedEverywhere());
	// A client that leaves drops what it passed and no command took.
	PipeProbe c;
	h.core.fromClient("{\"execute\":\"query-sev-capabilities\"}\n", one(c.give()));
	h.core.clientDisconnected();
	CHECK(c.writeEndClosedEverywhere());
}

