// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-qmp"

#include "cvm/qmp/recorder.h"

#include <cerrno>
#include <cstring>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cvm/common/json.h"
#include "cvm/common/secure_buffer.h"
#include "cvm/common/scope_exit.h"
#include "cvm/qmp/json_splitter.h"
#include "cvm/qmp/unix_socket.h"
#include "cvm/qmp/wire.h"

namespace cvm::qmp {

namespace {

JsonNodePtr objectNode(JsonObjectPtr object)
{
	JsonNodePtr node(json_node_new(JSON_NODE_OBJECT));
	json_node_take_object(node.get(), object.release());
	return node;
}

// Frames one direction of the conversation into transcript lines.
class Direction
{
public:
	Direction(Transcript &transcript, bool fromClient)
		: transcript_(transcript), fromClient_(fromClient),
		  splitter_(SplitterLimits{ kDefaultMaxMessageSize, kDefaultMaxNesting, fromClient })
	{
	}

	void add(std::string_view bytes)
	{
		pending_.append(bytes.data(), bytes.size());
		for (Frame &frame : splitter_.feed(bytes)) {
			auto node = frame.isError() ? Result<JsonNodePtr>(Error(ErrorCode::Protocol, "framing"))
						    : parseMessage(frame.text);
			if (node)
				frames_.push_back(std::move(*node));
			else
				malformed_ = true;
		}
		if (!splitter_.midValue())
			flush();
	}

	// What is left at the end of the stream.
	void finish()
	{
		if (auto last = splitter_.finish(); last && last->isError())
			malformed_ = true;
		if (pending_.find_first_not_of(" \t\r\n") != std::string::npos && frames_.empty())
			malformed_ = true;
		flush();
	}

private:
	void flush()
	{
		if (fromClient_ && malformed_) {
			// Raw bytes cannot be redacted member by member: bytes that
			// may hold a secret are left out (the recording will not
			// replay past them, but a secret never reaches the file).
			if (mayCarrySecret(pending_))
				transcript_.addNote("raw client input of " + std::to_string(pending_.size()) +
						    " bytes left out: it may carry a secret");
			else
				transcript_.addClientRaw(pending_);
		} else {
			for (auto &node : frames_) {
				if (!fromClient_) {
					transcript_.addServerMessage(node.get());
				} else if (JsonNodePtr redacted =
						   redactSensitiveArguments(json_node_get_object(node.get()))) {
					transcript_.addClientMessage(redacted.get());
				} else {
					transcript_.addClientMessage(node.get());
				}
			}
			if (!fromClient_ && malformed_)
				transcript_.addNote("the server sent bytes that are not a JSON object: " +
						    pending_.substr(0, 200));
		}
		frames_.clear();
		secureWipe(pending_.data(), pending_.size());
		pending_.clear();
		malformed_ = false;
	}

	static bool mayCarrySecret(std::string_view bytes)
	{
		return bytes.find("secret") != std::string_view::npos;
	}

	Transcript &transcript_;
	bool fromClient_;
	JsonSplitter splitter_;
	std::string pending_;
	std::vector<JsonNodePtr> frames_;
	bool malformed_ = false;
};

bool writeAll(int fd, std::string_view bytes)
{
	while (!bytes.empty()) {
		ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		bytes.remove_prefix(static_cast<size_t>(n));
	}
	return true;
}

Result<GObjectPtr<GSocket>> acceptOne(GSocket *listener, Milliseconds timeout)
{
	GError *raw = nullptr;
	if (timeout.count() > 0 &&
	    !g_socket_condition_timed_wait(listener, G_IO_IN, timeout.count() * 1000, nullptr, &raw)) {
		GErrorPtr error(raw);
		return Error(ErrorCode::Timeout, "no client connected within " + formatDuration(timeout.count() * 1000));
	}
	GObjectPtr<GSocket> socket(g_socket_accept(listener, nullptr, &raw));
	GErrorPtr error(raw);
	if (!socket)
		return Error::fromGError(error.get(), "accepting the client failed");
	g_socket_set_blocking(socket.get(), TRUE);
	return socket;
}

// Relays until one side closes; returns how it ended.
std::string relay(int client, int upstream, Direction &fromClient, Direction &fromServer, Transcript &t)
{
	char buf[64 * 1024];
	for (;;) {
		pollfd fds[2] = { { client, POLLIN, 0 }, { upstream, POLLIN, 0 } };
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return std::string("poll failed: ") + strerror(errno);
		}
		for (int i = 0; i < 2; ++i) {
			if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t n = ::recv(fds[i].fd, buf, sizeof(buf), 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				if (i == 1)
					t.addNote("server closed connection (EOF)");
				return i == 0 ? "the client closed the connection" : "QEMU closed the connection";
			}
			std::string_view bytes(buf, static_cast<size_t>(n));
			(i == 0 ? fromClient : fromServer).add(bytes);
			bool written = writeAll(i == 0 ? upstream : client, bytes);
			// A client's bytes may be a launch secret.
			secureWipe(buf, static_cast<size_t>(n));
			if (!written)
				return i == 0 ? "writing to QEMU failed" : "writing to the client failed";
		}
	}
}

} // namespace

Result<Transcript> Recorder::run(const RecorderOptions &options)
{
	auto listener = CVM_TRY(listenUnixSocket(options.listenPath, 1));
	ScopeExit removeSocket([&] { unlink(options.listenPath.c_str()); });
	if (options.listening)
		options.listening();
	auto client = CVM_TRY(acceptOne(listener.get(), options.acceptTimeout));
	auto upstream = connectUnixSocket(options.upstreamPath);
	if (!upstream)
		return upstream.error().withContext("cannot connect to the QEMU monitor");
	GSocket *upstreamSocket = g_socket_connection_get_socket(upstream->get());
	g_socket_set_blocking(upstreamSocket, TRUE);

	Transcript t(options.upstreamPath);
	JsonObjectPtr meta(json_object_new());
	json_object_set_string_member(meta.get(), "recorder", "cvm-launch qmp record " CVM_VERSION);
	json_object_set_string_member(meta.get(), "upstream", options.upstreamPath.c_str());
	t.addMeta(objectNode(std::move(meta)).get());

	Direction fromClient(t, true), fromServer(t, false);
	std::string end = relay(g_socket_get_fd(client.get()), g_socket_get_fd(upstreamSocket), fromClient,
				fromServer, t);
	fromClient.finish();
	fromServer.finish();
	JsonObjectPtr last(json_object_new());
	json_object_set_string_member(last.get(), "end", end.c_str());
	t.addMeta(objectNode(std::move(last)).get());
	return t;
}

} // namespace cvm::qmp
