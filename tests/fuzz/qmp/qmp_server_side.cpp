// SPDX-License-Identifier: Apache-2.0
//
// What a QMP server (the replay server, the simulator) does with client
// bytes: frame them QEMU-style (single quotes allowed, resynchronisation
// after garbage), check each request the way QEMU does (parseCommand), and
// build the replies (buildCommand checked against json-glib's own output),
// redact as the recorder does; plus the transcript parser on the same bytes
// read as a .jsonl text. The first byte picks the chunk size and whether OOB is on.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cvm/common/json.h"
#include "cvm/qmp/json_splitter.h"
#include "cvm/qmp/transcript.h"
#include "cvm/qmp/wire.h"

using namespace cvm;
using namespace cvm::qmp;

namespace {

void serve(const Frame &frame, bool oob)
{
	if (frame.isError()) {
		(void)frame.error.message();
		(void)frame.error.qemuStray();
		return;
	}
	(void)toAsciiJson(frame.text);
	auto node = json::parse(frame.text);
	if (!node)
		return;
	auto command = parseCommand(node->get(), oob);
	if (!command) {
		(void)frameServerMessage(buildErrorReply("GenericError", command.error().message(), nullptr));
		return;
	}
	JsonObject *args = command->arguments ? json_node_get_object(command->arguments.get()) : nullptr;
	bool sensitive = isSensitiveCommand(command->name, args);
	(void)loggableCommand(command->name, args, command->id.get(), sensitive);
	// Oracle: buildCommand's direct writing is byte for byte json-glib's.
	std::string built = buildCommand(command->name, args, command->id.get(), command->oob);
	JsonObjectPtr reference(json_object_new());
	json_object_set_string_member(reference.get(), command->oob ? "exec-oob" : "execute", command->name.c_str());
	if (args)
		json_object_set_object_member(reference.get(), "arguments", json_object_ref(args));
	if (command->id)
		json_object_set_member(reference.get(), "id", json_node_copy(command->id.get()));
	if (built != json::serialize(reference.get()))
		abort();
	// The recorder's redaction of what a client sent.
	if (JsonNodePtr redacted = redactSensitiveArguments(json_node_get_object(node->get())))
		(void)json::serialize(redacted.get());
	if (command->id)
		(void)idKey(command->id.get());
	(void)frameServerMessage(buildReturn(command->arguments.get(), command->id.get()));
	(void)classify(json_node_get_object(node->get()));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	size_t chunk = 1 + (data[0] & 0x7f);
	bool oob = data[0] & 0x80;
	std::string_view input(reinterpret_cast<const char *>(data) + 1, size - 1);

	JsonSplitter splitter(SplitterLimits{ 1u << 20, 256, true });
	for (size_t at = 0; at < input.size(); at += chunk)
		for (const Frame &frame : splitter.feed(input.substr(at, chunk)))
			serve(frame, oob);
	if (auto last = splitter.finish())
		serve(*last, oob);

	if (auto transcript = Transcript::parse(input, "fuzz.jsonl")) {
		(void)transcript->serialize();
		(void)transcript->withoutRawInput().clientMessages();
	}
	return 0;
}
