// SPDX-License-Identifier: Apache-2.0
//
// With debug logging on, the client logs every command and reply in full,
// except the arguments of commands that carry secrets: a launch secret sent
// through the client never appears in the log. (Its own program: it installs
// the process-wide log writer.)
#include <catch2/catch.hpp>

#include <mutex>

#include "cvm/common/json.h"
#include "cvm/qmp/replay.h"
#include "cvm/qmp/sync_client.h"
#include "test_support.h"

using namespace cvm;
using namespace cvm::qmp;
using namespace std::chrono_literals;

namespace {

std::mutex logMutex;
std::string logged;

GLogWriterOutput capture(GLogLevelFlags, const GLogField *fields, gsize n, gpointer)
{
	std::string domain, message;
	for (gsize i = 0; i < n; ++i) {
		std::string key = fields[i].key;
		const char *value = static_cast<const char *>(fields[i].value);
		if (key == "GLIB_DOMAIN" && value)
			domain = value;
		else if (key == "MESSAGE" && value)
			message = fields[i].length < 0 ? value : std::string(value, size_t(fields[i].length));
	}
	std::lock_guard<std::mutex> lock(logMutex);
	logged += "[" + domain + "] " + message + "\n";
	return G_LOG_WRITER_HANDLED;
}

const int installed = [] {
	g_setenv("G_MESSAGES_DEBUG", "all", TRUE);
	g_log_set_writer_func(capture, nullptr, nullptr);
	return 0;
}();

constexpr const char *kSecret = "c2VjcmV0LWxhdW5jaC1ibG9iLTQyNDI0Mg==";
constexpr const char *kHeader = "aGVhZGVyLWJ5dGVzLTk5OTk5";

} // namespace

TEST_CASE("sev-inject-launch-secret is logged with its arguments redacted")
{
	std::string text =
		R"({"s2c": {"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": ""}, "capabilities": ["oob"]}}}
{"c2s": {"execute": "qmp_capabilities"}}
{"s2c": {"return": {}}}
{"c2s": {"execute": "query-status", "id": 1}}
{"s2c": {"return": {"status": "prelaunch", "singlestep": false, "running": false}, "id": 1}}
{"c2s": {"execute": "sev-inject-launch-secret", "arguments": {"packet-header": ")" +
		std::string(kHeader) + R"(", "secret": ")" + kSecret + R"("}, "id": 2}}
{"s2c": {"id": 2, "error": {"class": "GenericError", "desc": "SEV not enabled for guest"}}}
)";
	auto t = Transcript::parse(text, "secret.jsonl");
	REQUIRE(t.ok());
	auto server = ReplayServer::start(std::move(*t));
	REQUIRE(server.ok());
	{
		auto qmp = SyncClient::connect((*server)->socketPath(), 5s);
		REQUIRE(qmp.ok());
		REQUIRE((*qmp)->execute("query-status").ok());
		JsonObjectPtr args(json_object_new());
		json_object_set_string_member(args.get(), "packet-header", kHeader);
		json_object_set_string_member(args.get(), "secret", kSecret);
		auto r = (*qmp)->execute("sev-inject-launch-secret", args.get());
		REQUIRE_FALSE(r.ok());
		CHECK(r.error().message() == "sev-inject-launch-secret: SEV not enabled for guest");
	}
	// The replay received the real secret: the redaction is only in the log.
	CHECK((*server)->finish().ok());
	std::lock_guard<std::mutex> lock(logMutex);
	INFO(logged);
	CHECK_THAT(logged, Catch::Contains("query-status"));
	CHECK_THAT(logged, Catch::Contains("prelaunch"));            // replies in full
	CHECK_THAT(logged, Catch::Contains("sev-inject-launch-secret"));
	CHECK_THAT(logged, Catch::Contains("<redacted>"));
	CHECK_THAT(logged, !Catch::Contains(kSecret));
	CHECK_THAT(logged, !Catch::Contains(kHeader));
}
