// SPDX-License-Identifier: Apache-2.0
//
// Recorder: a proxy between one QMP client and a real QEMU monitor that writes
// down the conversation as a transcript (transcript.h), so the replay suite
// can grow from real QEMU. Used by `cvm-launch qmp record` (docs/qmp.md).
//
//   RecorderOptions o{ .listenPath = "/tmp/rec.sock", .upstreamPath = "/run/vm.qmp" };
//   auto transcript = Recorder::run(o);        // blocks until either side closes
//   if (transcript) transcript->save("new.jsonl");
//
// Bytes are forwarded unchanged in both directions. What the client sent is
// recorded as c2s when it framed into JSON objects, and as c2s_raw (the exact
// bytes, up to the point where the stream was back between values) when it
// did not; each server message becomes one s2c line. Lines are in the order
// the proxy saw them, so events land between the commands they came between.
// The first line is a meta line (upstream, recorder); when QEMU closes the
// connection a note says so; the last line is a meta line with how it ended.
//
// Secrets are never written down: the arguments of commands that carry one
// (wire.h isSensitiveCommand: sev-inject-launch-secret, object-add of a
// secret) are recorded as "<redacted>", which the replay server accepts as
// any value, and raw client input that may hold one is left out (a note says
// so). Transcript::save writes the file 0600.
#pragma once

#include <string>

#include "cvm/common/error.h"
#include "cvm/qmp/client.h"
#include "cvm/qmp/transcript.h"

namespace cvm::qmp {

struct RecorderOptions {
	// Where the client connects (must not exist yet; removed at the end).
	std::string listenPath;
	// QEMU's monitor socket.
	std::string upstreamPath;
	// Waiting for the client to connect; 0 = no limit.
	Milliseconds acceptTimeout{ 0 };
	// Called once the listening socket exists (e.g. to print its path).
	std::function<void()> listening;
};

class Recorder
{
public:
	// Listens, accepts one client, connects upstream and relays until either
	// side closes; returns what was recorded.
	static Result<Transcript> run(const RecorderOptions &options);
};

} // namespace cvm::qmp
