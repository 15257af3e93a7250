// SPDX-License-Identifier: Apache-2.0
//
// The client's whole read path without sockets: the input is what "QEMU"
// sends, fed to a Session in chunks (the first byte picks the chunk size and
// whether to negotiate), with commands queued before the greeting, commands
// issued from callbacks, time passing (timeouts) and the EOF at the end.
// Framing, message classification, greeting/reply/event parsing, id matching
// and the state machine all run on untrusted bytes here.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cvm/common/json.h"
#include "cvm/qmp/session.h"

using namespace cvm;
using namespace cvm::qmp;

namespace {

class Listener final : public SessionListener
{
public:
	Session *session = nullptr;
	int budget = 16;

	void sessionReady(const Greeting &g) override
	{
		(void)g.version.toString();
		(void)g.hasCapability("oob");
		more();
	}
	void sessionEvent(const Event &e) override
	{
		Event copy = e.clone();
		(void)copy.dataString("reason");
		if (copy.name == "SHUTDOWN")
			more();
	}
	void sessionReply(CommandToken, Result<JsonNodePtr> reply) override
	{
		if (reply && reply->get())
			(void)json::serialize(reply->get());
		else if (!reply)
			(void)reply.error().message();
		more();
	}
	void sessionClosed(const Error &error) override { (void)error.message(); }

private:
	void more()
	{
		if (budget-- > 0 && session->state() != ConnectionState::Closed)
			(void)session->submit("query-status", nullptr, Deadline::after(0, 5000));
	}
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	size_t chunk = 1 + (data[0] & 0x3f);
	SessionOptions options;
	options.negotiate = !(data[0] & 0x40);
	options.maxMessageSize = 1u << 20;
	Listener listener;
	Session session(listener, options);
	listener.session = &session;
	session.setStartupDeadline(Deadline::after(0, 1000000));

	// Queued until negotiation completes; the secret's arguments are redacted in logs.
	auto args = json::parseObject(R"({"packet-header": "AAAA", "secret": "AAAA"})");
	(void)session.submit("sev-inject-launch-secret", json_node_get_object(args->get()));
	(void)session.submit("query-sev-launch-measure", nullptr, Deadline::after(0, 200));

	std::string_view input(reinterpret_cast<const char *>(data) + 1, size - 1);
	int64_t now = 0;
	while (!input.empty() && session.state() != ConnectionState::Closed) {
		size_t n = std::min(chunk, input.size());
		session.receive(input.substr(0, n));
		input.remove_prefix(n);
		// Whatever the session wants to send is "written" at once.
		session.consumeOutput(session.pendingOutput().size());
		now += 100;
		session.expire(now);
	}
	session.receiveEof((data[0] & 0x80) ? "killed by signal 6 (Aborted)" : "");
	return 0;
}
