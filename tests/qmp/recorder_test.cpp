// SPDX-License-Identifier: Apache-2.0
//
// Recording a conversation with a real QEMU/TCG through Recorder, then
// replaying the recording through our client: what the client saw live and
// in the replay is the same.
#include <catch2/catch.hpp>

#include <thread>

#include "conversation.h"
#include "cvm/common/file.h"
#include "cvm/common/json.h"
#include "cvm/qmp/recorder.h"
#include "cvm/qmp/replay.h"
#include "cvm/qmp/sync_client.h"
#include "test_support.h"

using namespace cvm;
using namespace cvm::qmp;
using namespace std::chrono_literals;

TEST_CASE("a recording of real QEMU replays through our client")
{
	const char *qemu = "/usr/bin/qemu-system-x86_64";
	test::requireExecutable(qemu);
	auto dir = TempDir::create("cvmt-qmp-rec-");
	REQUIRE(dir.ok());
	std::string monitor = dir->file("qemu.sock"), relay = dir->file("relay.sock");
	std::string spec = "unix:" + monitor + ",server=on,wait=off";
	const char *argv[] = { qemu, "-machine", "q35", "-accel", "tcg", "-S", "-display", "none", "-nodefaults",
			       "-m", "64", "-qmp", spec.c_str(), nullptr };
	GObjectPtr<GSubprocess> process(g_subprocess_newv(argv, G_SUBPROCESS_FLAGS_STDERR_SILENCE, nullptr));
	REQUIRE(process);
	// The relay connects upstream once a client came: wait for QEMU's socket first.
	for (int i = 0; i < 200 && !g_file_test(monitor.c_str(), G_FILE_TEST_EXISTS); ++i)
		g_usleep(50000);

	Result<Transcript> recorded = Error(ErrorCode::Io, "not run");
	std::thread recorder([&] {
		RecorderOptions options;
		options.listenPath = relay;
		options.upstreamPath = monitor;
		options.acceptTimeout = 20s;
		recorded = Recorder::run(options);
	});
	std::vector<std::string> live;
	{
		ClientOptions options;
		options.waitForSocket = true;
		auto qmp = SyncClient::connect(relay, 20s, options);
		REQUIRE(qmp.ok());
		for (const char *cmd : { "query-status", "cont", "query-status", "stop", "no-such-command", "quit" })
			live.push_back(test::describeReply(cmd, (*qmp)->execute(cmd)));
		(void)(*qmp)->waitForEvent("NEVER", 5s); // until QEMU's EOF
	}
	recorder.join();
	g_subprocess_wait(process.get(), nullptr, nullptr);
	REQUIRE(recorded.ok());
	const auto &entries = recorded->entries();
	REQUIRE(entries.size() > 4);
	CHECK(entries.front().kind == TranscriptKind::Meta);
	CHECK(entries.back().kind == TranscriptKind::Meta);
	CHECK(recorded->clientMessages() == 7); // qmp_capabilities + six
	CHECK(live[0] == R"(return {"status":"prelaunch","singlestep":false,"running":false})");
	CHECK(live[4] == "error CommandNotFound: The command no-such-command has not been found");

	// Saved and loaded back, it replays; events sit where they came.
	std::string file = dir->file("new.jsonl");
	REQUIRE(recorded->save(file).ok());
	auto loaded = Transcript::load(file);
	REQUIRE(loaded.ok());
	auto server = ReplayServer::start(loaded->clone());
	REQUIRE(server.ok());
	test::ConversationOptions options;
	options.negotiate = true;
	auto replayed = test::runConversation((*server)->socketPath(), *loaded, options);
	CHECK((*server)->finish().ok());
	auto expected = test::expectedLog(*loaded, true);
	CHECK(replayed.log == expected);
	std::vector<std::string> replies;
	for (const auto &l : replayed.log)
		if (l.rfind("event ", 0) != 0)
			replies.push_back(l);
	CHECK(replies == live);
	CHECK(std::count_if(expected.begin(), expected.end(),
			    [](const std::string &l) { return l.rfind("event RESUME", 0) == 0; }) == 1);
}
