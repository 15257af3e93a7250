// SPDX-License-Identifier: Apache-2.0
#include "conversation.h"

#include <memory>

#include "cvm/common/json.h"
#include "cvm/qmp/wire.h"

namespace cvm::test {

using namespace cvm::qmp;

namespace {

std::string commandName(JsonObject *message)
{
	for (const char *key : { "execute", "exec-oob" }) {
		JsonNode *n = json_object_get_member(message, key);
		if (n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING)
			return json_node_get_string(n);
	}
	return "(message)";
}

JsonObjectPtr withoutId(JsonObject *message)
{
	JsonObjectPtr copy(json_object_new());
	GList *members = json_object_get_members(message);
	for (GList *l = members; l; l = l->next) {
		const char *key = static_cast<const char *>(l->data);
		if (!g_str_equal(key, "id"))
			json_object_set_member(copy.get(), key, json_node_copy(json_object_get_member(message, key)));
	}
	g_list_free(members);
	return copy;
}

std::string dataText(JsonNode *data)
{
	return data ? json::serialize(data) : "null";
}

// The state of one conversation, shared with the client's callbacks.
struct Driver {
	Client *client = nullptr;
	std::vector<const TranscriptEntry *> messages;
	size_t next = 0;
	ConversationResult result;
	bool closed = false;

	void sendNext(bool all)
	{
		while (next < messages.size()) {
			JsonObject *recorded = messages[next++]->object();
			std::string name = commandName(recorded);
			JsonObjectPtr message = withoutId(recorded);
			client->executeMessage(message.get(), [this, name, all](Result<JsonNodePtr> reply) {
				result.log.push_back(describeReply(name, reply));
				if (!all && (reply || reply.error().code() != ErrorCode::Cancelled))
					sendNext(false);
			});
			if (!all)
				return;
		}
	}
};

} // namespace

std::string describeReply(const std::string &command, const Result<JsonNodePtr> &reply)
{
	if (reply)
		return "return " + dataText(reply->get());
	const Error &e = reply.error();
	if (e.code() == ErrorCode::Remote)
		return "error " + e.tag() + ": " + std::string(remoteErrorDesc(e, command));
	return std::string("failed ") + errorCodeName(e.code()) + ": " + e.message();
}

std::string describeEvent(const Event &event)
{
	return "event " + event.name + " " + dataText(event.data.get());
}

std::vector<std::string> expectedLog(const Transcript &transcript, bool skipNegotiation)
{
	std::vector<std::string> log;
	bool skipReply = false;
	bool seenClient = false;
	for (const auto &e : transcript.entries()) {
		if (e.kind == TranscriptKind::ClientMessage || e.kind == TranscriptKind::ClientRaw) {
			skipReply = skipNegotiation && !seenClient;
			seenClient = true;
			continue;
		}
		if (e.kind != TranscriptKind::ServerMessage)
			continue;
		JsonObject *o = e.object();
		switch (classify(o)) {
		case MessageKind::Event: {
			auto event = parseEvent(o);
			log.push_back(event ? describeEvent(*event) : "unparsable event");
			break;
		}
		case MessageKind::Return:
		case MessageKind::Error: {
			if (skipReply) {
				skipReply = false;
				break;
			}
			auto reply = parseReply(o);
			if (!reply)
				log.push_back("unparsable reply");
			else if (reply->ok)
				log.push_back("return " + dataText(reply->value.get()));
			else
				log.push_back("error " + reply->errorClass + ": " + reply->errorDesc);
			break;
		}
		default:
			break;
		}
	}
	return log;
}

ConversationResult runConversation(const std::string &socketPath, const Transcript &transcript,
				   ConversationOptions options)
{
	GMainContextPtr context(g_main_context_new());
	g_main_context_push_thread_default(context.get());
	auto driver = std::make_unique<Driver>();
	bool first = true;
	for (const auto &e : transcript.entries()) {
		if (e.kind != TranscriptKind::ClientMessage)
			continue;
		if (!(first && options.negotiate))
			driver->messages.push_back(&e);
		first = false;
	}
	{
		ClientOptions copts;
		copts.context = context.get();
		copts.negotiate = options.negotiate;
		copts.startupTimeout = options.timeout;
		Client client(copts);
		driver->client = &client;
		client.subscribe("", [d = driver.get()](const Event &e) { d->result.log.push_back(describeEvent(e)); });
		client.setClosedCallback([d = driver.get()](const Error &e) {
			d->result.closeError = e;
			d->closed = true;
		});
		client.connect(socketPath, [d = driver.get(), &options](const Status &s) {
			if (!s) {
				d->result.readyError = s.error();
				return;
			}
			d->sendNext(options.pipelined);
		});
		bool expired = false;
		GSourcePtr timer(g_timeout_source_new(static_cast<guint>(options.timeout.count())));
		g_source_set_callback(timer.get(), [](gpointer flag) {
			*static_cast<bool *>(flag) = true;
			return G_SOURCE_REMOVE;
		}, &expired, nullptr);
		g_source_attach(timer.get(), context.get());
		while (!driver->closed && !expired)
			g_main_context_iteration(context.get(), TRUE);
	}
	g_main_context_pop_thread_default(context.get());
	return std::move(driver->result);
}

} // namespace cvm::test
