// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <functional>

#include <sys/stat.h>

#include "cvm/common/file.h"
#include "cvm/plugin/hook_decision.h"

using namespace cvm;
using namespace cvm::plugin;

namespace {

LaunchRecord pending()
{
	LaunchRecord r;
	r.uuid = "00000000-0000-0000-0000-0000000000aa";
	r.domain = "web";
	r.server = "http://127.0.0.1:1";
	r.vmId = "web-1";
	r.launchId = "L-7";
	r.session = "c2Vzc2lvbg==";
	r.state = RecordState::Pending;
	r.created = 1000;
	r.expires = 1300;
	r.pid = 42;
	return r;
}

PrepareInput guarded(PlainStart plain = PlainStart::Refuse)
{
	PrepareInput in;
	in.name = "web";
	LaunchMetadata m;
	m.plainStart = plain;
	in.metadata = std::optional<LaunchMetadata>(m);
	in.session = "c2Vzc2lvbg==";
	in.record = std::optional<LaunchRecord>(pending());
	in.now = 1100;
	return in;
}

} // namespace

TEST_CASE("unguarded domains start")
{
	PrepareInput in;
	in.name = "plain";
	auto d = decidePrepare(in);
	CHECK(d.allow);
	CHECK_FALSE(d.consumeRecord);
}

TEST_CASE("the pending session starts once")
{
	auto d = decidePrepare(guarded());
	CHECK(d.allow);
	CHECK(d.consumeRecord);
	CHECK_FALSE(d.handOver);
}

TEST_CASE("refusals tell the admin what to run")
{
	struct Case {
		const char *what;
		std::function<void(PrepareInput &)> change;
		const char *why;
	};
	const Case cases[] = {
		{ "no record", [](PrepareInput &in) { in.record = std::optional<LaunchRecord>(); }, "no attested launch" },
		{ "other session", [](PrepareInput &in) { in.session = "b3RoZXI="; }, "not the one" },
		{ "no session", [](PrepareInput &in) { in.session.reset(); }, "not the one" },
		{ "used", [](PrepareInput &in) { (*in.record)->state = RecordState::Started; }, "already used" },
		{ "running", [](PrepareInput &in) { (*in.record)->state = RecordState::Running; }, "already used" },
		{ "expired", [](PrepareInput &in) { in.now = 1301; }, "expired" },
		{ "bad metadata",
		  [](PrepareInput &in) { in.metadata = Error(ErrorCode::InvalidArgument, "attribute 'x' is unknown"); },
		  "attribute 'x'" },
		{ "bad record",
		  [](PrepareInput &in) { in.record = Error(ErrorCode::InvalidData, "launch record: unknown state"); },
		  "unreadable" },
	};
	for (const auto &c : cases) {
		INFO(c.what);
		auto in = guarded();
		c.change(in);
		auto d = decidePrepare(in);
		CHECK_FALSE(d.allow);
		CHECK_FALSE(d.consumeRecord);
		CHECK(d.message.find("cvm-launch start web") != std::string::npos);
		CHECK(d.message.find(c.why) != std::string::npos);
		CHECK_FALSE(d.handOver);
	}
}

TEST_CASE("plain-start=attest hands a plain start over, never a refused cvm-launch")
{
	auto in = guarded(PlainStart::Attest);
	in.record = std::optional<LaunchRecord>();
	auto d = decidePrepare(in);
	CHECK_FALSE(d.allow);
	CHECK(d.handOver);
	CHECK(d.message.find("background") != std::string::npos);

	in = guarded(PlainStart::Attest);
	in.session = "b3RoZXI="; // a launch is in flight: its record exists
	d = decidePrepare(in);
	CHECK_FALSE(d.allow);
	CHECK_FALSE(d.handOver);
}

TEST_CASE("records round-trip through the state dir, 0600")
{
	auto dir = TempDir::create();
	REQUIRE(dir.ok());
	LaunchRecords records(dir->file("state"));
	auto none = records.read(pending().uuid);
	REQUIRE(none.ok());
	CHECK_FALSE(none->has_value());
	REQUIRE(records.write(pending()).ok());
	auto back = records.read(pending().uuid);
	REQUIRE(back.ok());
	REQUIRE(back->has_value());
	CHECK((*back)->launchId == "L-7");
	CHECK((*back)->session == "c2Vzc2lvbg==");
	CHECK((*back)->state == RecordState::Pending);
	CHECK((*back)->pid == 42);
	struct stat st;
	REQUIRE(stat(records.pathFor(pending().uuid).c_str(), &st) == 0);
	CHECK((st.st_mode & 0777) == 0600);
	REQUIRE(stat(records.dir().c_str(), &st) == 0);
	CHECK((st.st_mode & 0777) == 0700);

	// A bad uuid never becomes a path.
	CHECK_FALSE(records.read("../../etc/passwd")->has_value());
	LaunchRecord evil = pending();
	evil.uuid = "../x";
	CHECK_FALSE(records.write(evil).ok());

	REQUIRE(writeFileAtomic(records.pathFor("broken"), asBytes("{\"uuid\":1}"), 0600).ok());
	CHECK_FALSE(records.read("broken").ok());

	REQUIRE(records.remove(pending().uuid).ok());
	CHECK_FALSE(records.read(pending().uuid)->has_value());
	CHECK(records.remove(pending().uuid).ok());
}

TEST_CASE("the file journal writes pending, then running, and clears")
{
	auto dir = TempDir::create();
	REQUIRE(dir.ok());
	LaunchRecords records(dir->path());
	LaunchRecord base = pending();
	FileLaunchJournal j(records, base, 60);
	REQUIRE(j.recordPending("L-9", asBytes("session")).ok());
	auto r = records.read(base.uuid);
	REQUIRE(r.ok());
	REQUIRE(r->has_value());
	CHECK((*r)->launchId == "L-9");
	CHECK((*r)->session == toBase64(asBytes("session")));
	CHECK((*r)->expires - (*r)->created == 60);
	REQUIRE(j.recordRunning("L-9").ok());
	CHECK((*records.read(base.uuid))->state == RecordState::Running);
	j.clear();
	CHECK_FALSE(records.read(base.uuid)->has_value());
}

TEST_CASE("one launch lock per domain: a second holder is refused until the first lets go")
{
	auto dir = TempDir::create();
	REQUIRE(dir.ok());
	LaunchRecords records(dir->file("state"));
	const std::string uuid = pending().uuid;
	auto first = records.lock(uuid);
	REQUIRE(first.ok());
	auto second = records.lock(uuid);
	REQUIRE_FALSE(second.ok());
	CHECK(second.error().code() == ErrorCode::Conflict);
	CHECK(second.error().message().find("another cvm-launch") != std::string::npos);
	// Another domain is not held up.
	CHECK(records.lock("00000000-0000-0000-0000-0000000000bb").ok());
	struct stat st;
	REQUIRE(stat((records.dir() + "/" + uuid + ".lock").c_str(), &st) == 0);
	CHECK((st.st_mode & 0777) == 0600);
	first->reset();
	CHECK(records.lock(uuid).ok());
	CHECK_FALSE(records.lock("../x").ok());
}
