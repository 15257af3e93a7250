// SPDX-License-Identifier: Apache-2.0
//
// The hook as libvirt runs it (cvm-launch-hook NAME OP SUB-OP EXTRA, XML on
// stdin), with its state dir and config in a temp dir: the fast path, the
// refusal, the one-time pending session, and the detached end-of-launch
// report reaching a real HTTP peer.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include <sys/stat.h>

#include "cvm/common/file.h"
#include "cvm/plugin/launch_records.h"
#include "test_http.h"
#include "test_support.h"

using namespace cvm;
using namespace cvm::plugin;

namespace {

const char *kUuid = "4d2e0c1a-9b7f-4e11-a3c5-00000000c0de";

std::string domainXml(const std::string &extra, const std::string &session = {})
{
	std::string xml = "<domain type='qemu'>\n  <name>cvmt-plugin-hook</name>\n  <uuid>" + std::string(kUuid) +
			  "</uuid>\n" + extra;
	if (!session.empty())
		xml += "  <launchSecurity type='sev'>\n    <policy>0x0001</policy>\n    <session>" + session +
		       "</session>\n  </launchSecurity>\n";
	return xml + "</domain>\n";
}

const std::string kGuarded = "  <metadata>\n    <cvm:launch xmlns:cvm=\"https://cvm-launch.org/xmlns/1\" "
			     "server=\"http://127.0.0.1:9\" vm=\"web-1\"/>\n  </metadata>\n";

struct HookRig {
	TempDir dir = std::move(TempDir::create("cvm-hook-test-").value());
	std::string config = dir.file("cvm-launch.conf");
	LaunchRecords records{ dir.file("state") };
	HookRig()
	{
		std::string text = "[cvm-launch]\nstate-dir=" + records.dir() + "\nend-timeout=3\n";
		REQUIRE(writeFileAtomic(config, asBytes(text)).ok());
	}
	test::CommandResult hook(const std::string &op, const std::string &sub, const std::string &xml)
	{
		return test::run({ test::buildPath("plugin/cvm-launch-hook"), "cvmt-plugin-hook", op, sub, "-" }, xml,
				 { "CVM_LAUNCH_CONFIG=" + config }, 30);
	}
	LaunchRecord record(RecordState state, const std::string &server = "http://127.0.0.1:9")
	{
		LaunchRecord r;
		r.uuid = kUuid;
		r.domain = "cvmt-plugin-hook";
		r.server = server;
		r.vmId = "web-1";
		r.launchId = "L-42";
		r.session = "c2Vzc2lvbi1ibG9i";
		r.state = state;
		r.created = g_get_real_time() / G_USEC_PER_SEC;
		r.expires = r.created + 60;
		r.pid = 1;
		return r;
	}
};

} // namespace

TEST_CASE("domains without our metadata pass at once, whatever the operation")
{
	HookRig rig;
	for (auto [op, sub] : { std::pair{ "prepare", "begin" }, { "start", "begin" }, { "release", "end" },
				{ "migrate", "begin" } }) {
		auto r = rig.hook(op, sub, domainXml("  <metadata><app:x xmlns:app='http://a'/></metadata>\n"));
		INFO(op << " " << sub << ": " << r.err);
		CHECK(r.exitStatus == 0);
		CHECK(r.err.empty());
		CHECK(r.out.empty());
	}
}

TEST_CASE("a guarded domain without a pending launch is refused with what to run")
{
	HookRig rig;
	auto r = rig.hook("prepare", "begin", domainXml(kGuarded, "c2Vzc2lvbi1ibG9i"));
	CHECK(r.exitStatus == 1);
	CHECK(r.err.find("cvm-launch start cvmt-plugin-hook") != std::string::npos);
	// Broken metadata is refused too, never waved through.
	auto bad = rig.hook("prepare", "begin",
			    domainXml("  <metadata><cvm:launch xmlns:cvm='https://cvm-launch.org/xmlns/1' srever='x'/>"
				      "</metadata>\n"));
	CHECK(bad.exitStatus == 1);
	CHECK(bad.err.find("srever") != std::string::npos);
	auto garbage = rig.hook("prepare", "begin", "<domain><name>x</name><cvm:launch xmlns:cvm='https://cvm-launch.org/xmlns/1'>");
	CHECK(garbage.exitStatus == 1);
	CHECK(garbage.err.find("not well-formed") != std::string::npos);
}

TEST_CASE("the pending session starts exactly once; another session never")
{
	HookRig rig;
	REQUIRE(rig.records.write(rig.record(RecordState::Pending)).ok());
	auto other = rig.hook("prepare", "begin", domainXml(kGuarded, "b3RoZXItc2Vzc2lvbg=="));
	CHECK(other.exitStatus == 1);
	CHECK(other.err.find("not the one cvm-launch obtained for launch L-42") != std::string::npos);

	auto first = rig.hook("prepare", "begin", domainXml(kGuarded, "c2Vzc2lvbi1ibG9i"));
	INFO(first.err);
	CHECK(first.exitStatus == 0);
	auto rec = rig.records.read(kUuid);
	REQUIRE(rec.ok());
	REQUIRE(rec->has_value());
	CHECK((*rec)->state == RecordState::Started);

	auto again = rig.hook("prepare", "begin", domainXml(kGuarded, "c2Vzc2lvbi1ibG9i"));
	CHECK(again.exitStatus == 1);
	CHECK(again.err.find("already used") != std::string::npos);
}

TEST_CASE("an expired pending launch is refused")
{
	HookRig rig;
	auto r = rig.record(RecordState::Pending);
	r.expires = r.created - 1;
	REQUIRE(rig.records.write(r).ok());
	auto res = rig.hook("prepare", "begin", domainXml(kGuarded, r.session));
	CHECK(res.exitStatus == 1);
	CHECK(res.err.find("expired") != std::string::npos);
}

TEST_CASE("release end reports the end to the AS, detached, and clears the record")
{
	std::mutex m;
	std::vector<std::string> seen;
	test::StubServer as([&](SoupServer *, SoupServerMessage *msg, const std::string &path) {
		{
			std::lock_guard<std::mutex> lock(m);
			seen.push_back(std::string(soup_server_message_get_method(msg)) + " " + path + " " +
				       test::requestBody(msg));
		}
		soup_server_message_set_status(msg, 204, nullptr);
	});
	HookRig rig;
	REQUIRE(rig.records.write(rig.record(RecordState::Running, as.url())).ok());
	auto begin = std::chrono::steady_clock::now();
	auto r = rig.hook("release", "end", domainXml(kGuarded, "c2Vzc2lvbi1ibG9i"));
	CHECK(r.exitStatus == 0);
	// The hook itself does not wait for the AS.
	CHECK(std::chrono::steady_clock::now() - begin < std::chrono::seconds(5));
	CHECK_FALSE(rig.records.read(kUuid)->has_value());
	for (int i = 0; i < 100; ++i) {
		{
			std::lock_guard<std::mutex> lock(m);
			if (!seen.empty())
				break;
		}
		std::this_thread::sleep_for(std::chrono::milliseconds(100));
	}
	std::lock_guard<std::mutex> lock(m);
	REQUIRE(seen.size() == 1);
	CHECK(seen[0].rfind("POST /v1/vm/web-1/launch/L-42/end", 0) == 0);
	CHECK(seen[0].find("cvmt-plugin-hook stopped") != std::string::npos);
}

TEST_CASE("release end of a domain we have no record of does nothing")
{
	HookRig rig;
	auto r = rig.hook("release", "end", domainXml(kGuarded));
	CHECK(r.exitStatus == 0);
	CHECK(r.err.empty());
}

TEST_CASE("release end of a start that did not carry the record's session leaves the launch alone")
{
	// libvirt runs release end after a refused start too: a plain `virsh
	// start` refused while cvm-launch is mid-launch must not void that launch.
	std::atomic<int> requests{ 0 };
	test::StubServer as([&](SoupServer *, SoupServerMessage *msg, const std::string &) {
		++requests;
		soup_server_message_set_status(msg, 204, nullptr);
	});
	HookRig rig;
	for (RecordState state : { RecordState::Pending, RecordState::Started, RecordState::Running }) {
		INFO(recordStateName(state));
		REQUIRE(rig.records.write(rig.record(state, as.url())).ok());
		for (std::string session : { std::string(), std::string("b3RoZXItc2Vzc2lvbg==") }) {
			auto r = rig.hook("release", "end", domainXml(kGuarded, session));
			CHECK(r.exitStatus == 0);
			auto rec = rig.records.read(kUuid);
			REQUIRE(rec.ok());
			REQUIRE(rec->has_value());
			CHECK((*rec)->state == state);
		}
	}
	// The record's own guest ending still ends the launch.
	auto r = rig.hook("release", "end", domainXml(kGuarded, "c2Vzc2lvbi1ibG9i"));
	CHECK(r.exitStatus == 0);
	CHECK_FALSE(rig.records.read(kUuid)->has_value());
	for (int i = 0; i < 100 && requests == 0; ++i)
		std::this_thread::sleep_for(std::chrono::milliseconds(100));
	CHECK(requests == 1);
}

TEST_CASE("plain-start=attest: the refused start is handed over, its output in <state-dir>/<uuid>.start.log")
{
	HookRig rig;
	// The detached cvm-launch start inherits the config: libvirt's in-process
	// test driver, which has no such domain, so the launch fails quickly and
	// says so — in the log. (The whole hand-over: plugin/libvirt_handover.)
	std::string text = "[cvm-launch]\nstate-dir=" + rig.records.dir() + "\nconnect=test:///default\n";
	REQUIRE(writeFileAtomic(rig.config, asBytes(text)).ok());
	const std::string attest = "  <metadata>\n    <cvm:launch xmlns:cvm=\"https://cvm-launch.org/xmlns/1\" "
				   "server=\"http://127.0.0.1:9\" plain-start=\"attest\"/>\n  </metadata>\n";
	std::string log = rig.records.dir() + "/" + kUuid + ".start.log";
	auto r = rig.hook("prepare", "begin", domainXml(attest));
	INFO(r.err);
	CHECK(r.exitStatus == 1);
	CHECK(r.err.find("now runs in the background") != std::string::npos);
	CHECK(r.err.find("the background launch's output: " + log) != std::string::npos);
	struct stat st {};
	REQUIRE(::stat(log.c_str(), &st) == 0);
	CHECK((st.st_mode & 0777) == 0600);
	std::string text2;
	bool done = false;
	for (int i = 0; i < 150 && !done; ++i) {   // --delay 2, then the failed lookup
		std::this_thread::sleep_for(std::chrono::milliseconds(100));
		text2 = readTextFile(log).valueOr("");
		// The header line, then the failed launch's own message.
		done = std::count(text2.begin(), text2.end(), '\n') >= 2 &&
		       text2.find("cvm-launch start: domain 'cvmt-plugin-hook'") != std::string::npos;
	}
	INFO(text2);
	CHECK(text2.find("plain start of 'cvmt-plugin-hook' refused") != std::string::npos);
	CHECK(done);
	// Without plain-start="attest" nothing is handed over and no log is written.
	REQUIRE(::unlink(log.c_str()) == 0);
	auto refused = rig.hook("prepare", "begin", domainXml(kGuarded));
	CHECK(refused.exitStatus == 1);
	CHECK(refused.err.find("background") == std::string::npos);
	CHECK_FALSE(fileExists(log));
}
