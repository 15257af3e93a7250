// SPDX-License-Identifier: Apache-2.0
//
// The recorder never writes a secret down: recording a client that passes a
// launch secret and a secret object through the relay (upstream: a replay
// server standing in for QEMU) gives a transcript with "<redacted>" where the
// secrets were, saved 0600, that still replays against the same client.
#include <catch2/catch.hpp>

#include <thread>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "cvm/common/file.h"
#include "cvm/common/json.h"
#include "cvm/qmp/recorder.h"
#include "cvm/qmp/replay.h"
#include "cvm/qmp/sync_client.h"
#include "cvm/qmp/unix_socket.h"
#include "test_support.h"

using namespace cvm;
using namespace cvm::qmp;
using namespace std::chrono_literals;

namespace {

constexpr const char *kSecret = "c2VjcmV0LWxhdW5jaC1ibG9iLTQyNDI0Mg==";
constexpr const char *kHeader = "aGVhZGVyLWJ5dGVzLTk5OTk5";
constexpr const char *kPassword = "aHVudGVyMi1wYXNzd29yZA==";

const std::string kGreeting =
	R"({"s2c": {"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": ""}, "capabilities": ["oob"]}}}
{"c2s": {"execute": "qmp_capabilities"}}
{"s2c": {"return": {}}}
)";

// What QEMU would have said to the client below ("<redacted>" matches anything).
const std::string kUpstream = kGreeting +
	R"({"c2s": {"execute": "object-add", "arguments": {"qom-type": "secret", "id": "sec0", "data": "<redacted>", "format": "<redacted>"}}}
{"s2c": {"return": {}}}
{"c2s": {"execute": "sev-inject-launch-secret", "arguments": {"packet-header": "<redacted>", "secret": "<redacted>"}}}
{"s2c": {"error": {"class": "GenericError", "desc": "SEV not enabled for guest"}}}
{"c2s": {"execute": "query-status"}}
{"s2c": {"return": {"status": "prelaunch", "singlestep": false, "running": false}}}
)";

std::unique_ptr<ReplayServer> serve(const std::string &text, const std::string &name)
{
	auto t = Transcript::parse(text, name);
	REQUIRE(t.ok());
	auto server = ReplayServer::start(std::move(*t));
	REQUIRE(server.ok());
	return std::move(server).value();
}

// The client under record: a secret object, a launch secret, a status query.
void secretConversation(const std::string &socket)
{
	ClientOptions options;
	options.waitForSocket = true;
	auto qmp = SyncClient::connect(socket, 10s, options);
	REQUIRE(qmp.ok());
	JsonObjectPtr object(json_object_new());
	json_object_set_string_member(object.get(), "qom-type", "secret");
	json_object_set_string_member(object.get(), "id", "sec0");
	json_object_set_string_member(object.get(), "data", kPassword);
	json_object_set_string_member(object.get(), "format", "base64");
	CHECK((*qmp)->execute("object-add", object.get()).ok());
	JsonObjectPtr inject(json_object_new());
	json_object_set_string_member(inject.get(), "packet-header", kHeader);
	json_object_set_string_member(inject.get(), "secret", kSecret);
	auto r = (*qmp)->execute("sev-inject-launch-secret", inject.get());
	REQUIRE_FALSE(r.ok());
	CHECK(r.error().tag() == "GenericError");
	CHECK((*qmp)->execute("query-status").ok());
}

Result<Transcript> record(const std::string &upstream, const std::string &relay,
			  const std::function<void()> &client)
{
	Result<Transcript> recorded = Error(ErrorCode::Io, "not run");
	std::thread recorder([&] {
		RecorderOptions options;
		options.listenPath = relay;
		options.upstreamPath = upstream;
		options.acceptTimeout = 10s;
		recorded = Recorder::run(options);
	});
	try {
		client();
	} catch (...) { // a failed REQUIRE: the recorder ends once the client is gone
		recorder.join();
		throw;
	}
	recorder.join();
	return recorded;
}

mode_t modeOf(const std::string &path)
{
	struct stat st;
	REQUIRE(stat(path.c_str(), &st) == 0);
	return st.st_mode & 0777;
}

} // namespace

TEST_CASE("recorded secrets are redacted, the file is 0600, and the recording replays")
{
	auto dir = TempDir::create("cvmt-qmp-recsec-");
	REQUIRE(dir.ok());
	auto upstream = serve(kUpstream, "upstream.jsonl");
	std::string relay = dir->file("relay.sock");
	auto recorded = record(upstream->socketPath(), relay, [&] { secretConversation(relay); });
	CHECK(upstream->finish().ok());
	REQUIRE(recorded.ok());

	std::string text = recorded->serialize();
	INFO(text);
	for (const char *secret : { kSecret, kHeader, kPassword })
		CHECK_THAT(text, !Catch::Contains(secret));
	CHECK_THAT(text, Catch::Contains(R"("qom-type":"secret")") && Catch::Contains(R"("id":"sec0")"));
	CHECK_THAT(text, Catch::Contains(R"("data":"<redacted>")"));
	CHECK_THAT(text, Catch::Contains(R"("secret":"<redacted>")"));
	// Commands without secrets are as sent; replies as QEMU sent them.
	CHECK_THAT(text, Catch::Contains(R"({"c2s":{"execute":"query-status","id":"cvm-)"));
	CHECK_THAT(text, Catch::Contains("SEV not enabled for guest"));

	std::string file = dir->file("secret.jsonl");
	REQUIRE(recorded->save(file).ok());
	CHECK(modeOf(file) == 0600);
	auto saved = readTextFile(file);
	REQUIRE(saved.ok());
	CHECK_THAT(*saved, !Catch::Contains(kSecret) && !Catch::Contains(kPassword));

	// The recording replays: the client sends the real secrets again.
	auto loaded = Transcript::load(file);
	REQUIRE(loaded.ok());
	auto replay = ReplayServer::start(std::move(*loaded));
	REQUIRE(replay.ok());
	secretConversation((*replay)->socketPath());
	CHECK((*replay)->finish().ok());
}

TEST_CASE("a redacted value matches anything, but the rest of the command still has to match")
{
	auto server = serve(kGreeting + R"({"c2s": {"execute": "object-add", "arguments": {"qom-type": "secret", "id": "sec0", "data": "<redacted>"}}}
{"s2c": {"return": {}}}
)", "wildcard.jsonl");
	auto qmp = SyncClient::connect(server->socketPath(), 5s);
	REQUIRE(qmp.ok());
	JsonObjectPtr object(json_object_new());
	json_object_set_string_member(object.get(), "qom-type", "secret");
	json_object_set_string_member(object.get(), "id", "other-id");
	json_object_set_string_member(object.get(), "data", kPassword);
	auto r = (*qmp)->execute("object-add", object.get());
	REQUIRE_FALSE(r.ok());
	CHECK_THAT(r.error().message(), Catch::Contains("replay mismatch"));
	Status verdict = server->finish();
	REQUIRE_FALSE(verdict.ok());
	CHECK_THAT(verdict.error().message(), Catch::Contains("wildcard.jsonl:4: expected"));
}

TEST_CASE("raw client input that may carry a secret is left out of the recording")
{
	auto dir = TempDir::create("cvmt-qmp-recsec-");
	REQUIRE(dir.ok());
	// Not valid JSON (one closing brace too many), with a password in it.
	std::string raw = std::string(R"({"execute": "object-add", "arguments": {"qom-type": "secret", "id": "s", "data": ")") +
			  kPassword + "\"}}}\n";
	JsonObjectPtr rawLine(json_object_new());
	json_object_set_string_member(rawLine.get(), "c2s_raw", raw.c_str());
	auto upstream = serve(R"({"s2c": {"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": ""}, "capabilities": []}}}
)" + json::serialize(rawLine.get()) + "\n" +
			      R"({"s2c": {"error": {"class": "GenericError", "desc": "JSON parse error, expecting value"}}}
)", "raw-upstream.jsonl");
	std::string relay = dir->file("relay.sock");
	auto recorded = record(upstream->socketPath(), relay, [&] {
		for (int i = 0; i < 250 && !g_file_test(relay.c_str(), G_FILE_TEST_EXISTS); ++i)
			g_usleep(20000);
		auto c = connectUnixSocket(relay);
		REQUIRE(c.ok());
		// Plain blocking I/O on the fd (GSocket keeps it O_NONBLOCK).
		int fd = g_socket_get_fd(g_socket_connection_get_socket(c->get()));
		REQUIRE(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == 0);
		REQUIRE(::send(fd, raw.data(), raw.size(), MSG_NOSIGNAL) == ssize_t(raw.size()));
		// Greeting and the error reply, then the replay closes.
		char buf[4096];
		while (::recv(fd, buf, sizeof(buf), 0) > 0) {
		}
	});
	CHECK(upstream->finish().ok());
	REQUIRE(recorded.ok());
	std::string text = recorded->serialize();
	INFO(text);
	CHECK_THAT(text, !Catch::Contains(kPassword));
	CHECK_THAT(text, !Catch::Contains("c2s_raw"));
	CHECK_THAT(text, Catch::Contains("left out: it may carry a secret"));
	CHECK_THAT(text, Catch::Contains("JSON parse error"));
}
