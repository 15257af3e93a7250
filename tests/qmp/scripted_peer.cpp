// SPDX-License-Identifier: Apache-2.0
#include "scripted_peer.h"

#include <cstdio>
#include <cstdlib>
#include <optional>

#include <sys/socket.h>
#include <unistd.h>

#include "cvm/common/json.h"
#include "cvm/qmp/wire.h"

namespace cvm::test {

const std::string kGreeting =
	R"({"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "test"}, "capabilities": ["oob"]}})"
	"\r\n";

Peer::Peer(Script script)
{
	int fds[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
		perror("socketpair");
		abort();
	}
	fd_ = fds[0];
	clientFd_ = UniqueFd(fds[1]);
	thread_ = std::thread([this, script = std::move(script)] {
		script(*this);
		::shutdown(fd_, SHUT_RDWR);
	});
}

Peer::~Peer()
{
	stop_ = true;
	::shutdown(fd_, SHUT_RDWR);
	thread_.join();
	::close(fd_);
}

void Peer::send(std::string_view bytes)
{
	while (!bytes.empty()) {
		ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
		if (n <= 0)
			return;
		bytes.remove_prefix(static_cast<size_t>(n));
	}
}

void Peer::drip(std::string_view bytes, std::chrono::microseconds pause)
{
	for (char c : bytes) {
		if (stop_)
			return;
		send(std::string_view(&c, 1));
		std::this_thread::sleep_for(pause);
	}
}

JsonNodePtr Peer::receive()
{
	for (;;) {
		std::optional<qmp::Frame> frame;
		size_t used = buffer_.empty() ? 0 : splitter_.consume(buffer_, frame);
		buffer_.erase(0, used);
		if (frame && !frame->isError()) {
			auto node = json::parse(frame->text);
			return node ? std::move(node).value() : nullptr;
		}
		if (used > 0)
			continue;
		char chunk[4096];
		ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
		if (n <= 0)
			return nullptr;
		buffer_.append(chunk, static_cast<size_t>(n));
	}
}

std::string Peer::receiveId()
{
	JsonNodePtr m = receive();
	if (!m || !JSON_NODE_HOLDS_OBJECT(m.get()))
		return {};
	JsonNode *id = qmp::messageId(json_node_get_object(m.get()));
	return id && JSON_NODE_HOLDS_VALUE(id) && json_node_get_value_type(id) == G_TYPE_STRING
		       ? json_node_get_string(id) : "";
}

void Peer::reply(const std::string &id, const std::string &value)
{
	send("{\"return\": " + value + ", \"id\": \"" + id + "\"}\r\n");
}

void Peer::handshake()
{
	send(kGreeting);
	reply(receiveId());
}

void Peer::waitForEof()
{
	while (receive()) {
	}
}

} // namespace cvm::test
