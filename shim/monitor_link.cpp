// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-shim"

#include "cvm/shim/monitor_link.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <glib-unix.h>
#include <sys/socket.h>
#include <unistd.h>

namespace cvm::shim {

namespace {

constexpr size_t kReadChunk = 64 * 1024;
// As many descriptors as QEMU takes in one message (SOCKET_MAX_FDS).
constexpr size_t kMaxPassedFds = 16;

Status setNonBlocking(int fd)
{
	if (!g_unix_set_fd_nonblocking(fd, TRUE, nullptr))
		return Error(ErrorCode::Io, std::string("cannot make a socket non-blocking: ") +
						    std::strerror(errno));
	return {};
}

// Reads what is there: data, "" at EOF/error, nullopt when it would block.
std::optional<std::string> readAvailable(int fd)
{
	std::string buf(kReadChunk, '\0');
	for (;;) {
		ssize_t n = ::read(fd, buf.data(), buf.size());
		if (n > 0) {
			buf.resize(static_cast<size_t>(n));
			return buf;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return std::nullopt;
		return std::string();
	}
}

// readAvailable for the client's end: also takes the descriptors passed
// with the bytes (SCM_RIGHTS), close-on-exec.
std::optional<std::string> receiveAvailable(int fd, std::vector<UniqueFd> &fds)
{
	std::string buf(kReadChunk, '\0');
	alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxPassedFds)];
	for (;;) {
		struct iovec iov = { buf.data(), buf.size() };
		struct msghdr msg = {};
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = control;
		msg.msg_controllen = sizeof(control);
		ssize_t n = ::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return std::nullopt;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); n >= 0 && c; c = CMSG_NXTHDR(&msg, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < count; ++i) {
				int passed;
				std::memcpy(&passed, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				fds.emplace_back(passed);
			}
		}
		if (msg.msg_flags & MSG_CTRUNC)
			g_warning("the monitor client passed more than %zu descriptors: the rest were dropped",
				  kMaxPassedFds);
		if (n > 0) {
			buf.resize(static_cast<size_t>(n));
			return buf;
		}
		return std::string();
	}
}

// send() of up to `len` bytes, with `fds` (may be empty) on the first byte.
ssize_t sendWithFds(int fd, const char *data, size_t len, const std::vector<UniqueFd> &fds)
{
	if (fds.empty())
		return ::send(fd, data, len, MSG_NOSIGNAL);
	alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxPassedFds)] = {};
	size_t count = std::min(fds.size(), kMaxPassedFds);
	struct iovec iov = { const_cast<char *>(data), len };
	struct msghdr msg = {};
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = control;
	msg.msg_controllen = CMSG_SPACE(sizeof(int) * count);
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * count);
	for (size_t i = 0; i < count; ++i) {
		int v = fds[i].get();
		std::memcpy(CMSG_DATA(c) + i * sizeof(int), &v, sizeof(int));
	}
	return ::sendmsg(fd, &msg, MSG_NOSIGNAL);
}

} // namespace

Result<bool> isListeningSocket(int fd)
{
	int v = 0;
	socklen_t len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) != 0)
		return Error(ErrorCode::InvalidArgument, "fd " + std::to_string(fd) +
								 " is not a socket: " + std::strerror(errno));
	return v != 0;
}

MonitorLink::MonitorLink(UniqueFd qemuEnd, UniqueFd clientSide, bool listening, CommandFilter &filter)
	: core_(filter)
{
	qemu_.fd = std::move(qemuEnd);
	if (listening)
		listener_ = std::move(clientSide);
	else
		client_.fd = std::move(clientSide);
}

MonitorLink::~MonitorLink()
{
	stopChannel(qemu_);
	stopChannel(client_);
	if (acceptWatch_)
		g_source_remove(acceptWatch_);
}

Status MonitorLink::start()
{
	CVM_CHECK(setNonBlocking(qemu_.fd.get()));
	qemu_.inWatch = g_unix_fd_add(qemu_.fd.get(), G_IO_IN, onQemuReadable, this);
	if (listener_.isValid()) {
		CVM_CHECK(setNonBlocking(listener_.get()));
		acceptWatch_ = g_unix_fd_add(listener_.get(), G_IO_IN, onAccept, this);
	} else {
		UniqueFd fd = std::move(client_.fd);
		attachClient(std::move(fd));
	}
	return {};
}

void MonitorLink::attachClient(UniqueFd fd)
{
	if (!setNonBlocking(fd.get()))
		return;
	client_.fd = std::move(fd);
	client_.inWatch = g_unix_fd_add(client_.fd.get(), G_IO_IN, onClientReadable, this);
	core_.clientConnected();
	pump();
}

void MonitorLink::dropClient()
{
	stopChannel(client_);
	client_.fd.reset();
	client_.out.clear();
	core_.clientDisconnected();
	if (listener_.isValid() && !acceptWatch_)
		acceptWatch_ = g_unix_fd_add(listener_.get(), G_IO_IN, onAccept, this);
	pump();
}

void MonitorLink::closeQemu()
{
	stopChannel(qemu_);
	qemu_.fd.reset();
	qemu_.out.clear();
	qemu_.fdsAt.clear();
	if (onQemuClosed)
		onQemuClosed();
}

void MonitorLink::stopChannel(Channel &ch)
{
	if (ch.inWatch)
		g_source_remove(ch.inWatch);
	if (ch.outWatch)
		g_source_remove(ch.outWatch);
	ch.inWatch = ch.outWatch = 0;
}

gboolean MonitorLink::onAccept(gint fd, GIOCondition, gpointer p)
{
	auto *self = static_cast<MonitorLink *>(p);
	int c = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
	if (c < 0)
		return G_SOURCE_CONTINUE; // EAGAIN, a client that went away
	// One client at a time: the next waits in the backlog, as with QEMU.
	self->acceptWatch_ = 0;
	self->attachClient(UniqueFd(c));
	return G_SOURCE_REMOVE;
}

gboolean MonitorLink::onQemuReadable(gint fd, GIOCondition, gpointer p)
{
	auto *self = static_cast<MonitorLink *>(p);
	auto data = readAvailable(fd);
	if (!data)
		return G_SOURCE_CONTINUE;
	if (data->empty()) {
		self->qemu_.inWatch = 0;
		self->closeQemu();
		return G_SOURCE_REMOVE;
	}
	self->core_.fromQemu(*data);
	self->pump();
	return G_SOURCE_CONTINUE;
}

gboolean MonitorLink::onClientReadable(gint fd, GIOCondition, gpointer p)
{
	auto *self = static_cast<MonitorLink *>(p);
	std::vector<UniqueFd> fds;
	auto data = receiveAvailable(fd, fds);
	if (!data)
		return G_SOURCE_CONTINUE;
	if (data->empty()) {
		self->client_.inWatch = 0;
		self->dropClient();
		return G_SOURCE_REMOVE;
	}
	self->core_.fromClient(*data, std::move(fds));
	self->pump();
	return G_SOURCE_CONTINUE;
}

void MonitorLink::pump()
{
	if (!greetingSeen_ && core_.greeted()) {
		greetingSeen_ = true;
		if (onGreeting)
			onGreeting();
	}
	if (qemu_.fd.isValid())
		queueToQemu(core_.takeToQemu());
	if (client_.fd.isValid())
		queue(client_, core_.takeToClient());
}

void MonitorLink::queue(Channel &ch, std::string bytes)
{
	if (bytes.empty())
		return;
	ch.out += bytes;
	if (!ch.outWatch && writeSome(ch) && !ch.out.empty())
		ch.outWatch = g_unix_fd_add(ch.fd.get(), G_IO_OUT, onWritable, this);
}

void MonitorLink::queueToQemu(std::vector<QemuWrite> writes)
{
	for (auto &w : writes) {
		if (!w.fds.empty())
			qemu_.fdsAt.emplace_back(qemu_.out.size(), std::move(w.fds));
		queue(qemu_, std::move(w.bytes));
	}
}

// Sends what is queued; descriptors go with the byte they belong to (a
// send stops short of the next such byte so that it starts the next message).
bool MonitorLink::writeSome(Channel &ch)
{
	static const std::vector<UniqueFd> none;
	while (!ch.out.empty()) {
		bool withFds = !ch.fdsAt.empty() && ch.fdsAt.front().first == 0;
		size_t len = ch.out.size();
		if (withFds && ch.fdsAt.size() > 1)
			len = std::min(len, ch.fdsAt[1].first);
		else if (!withFds && !ch.fdsAt.empty())
			len = std::min(len, ch.fdsAt.front().first);
		ssize_t n = sendWithFds(ch.fd.get(), ch.out.data(), len, withFds ? ch.fdsAt.front().second : none);
		if (n > 0) {
			ch.out.erase(0, static_cast<size_t>(n));
			if (withFds)
				ch.fdsAt.pop_front(); // the kernel holds its own references now
			for (auto &a : ch.fdsAt)
				a.first -= static_cast<size_t>(n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		ch.out.clear(); // the peer is gone; its read side reports EOF
		ch.fdsAt.clear();
		return false;
	}
	return true;
}

gboolean MonitorLink::onWritable(gint fd, GIOCondition, gpointer p)
{
	auto *self = static_cast<MonitorLink *>(p);
	Channel &ch = fd == self->qemu_.fd.get() ? self->qemu_ : self->client_;
	if (!self->writeSome(ch) || ch.out.empty()) {
		ch.outWatch = 0;
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

} // namespace cvm::shim
