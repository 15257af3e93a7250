// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-shim"

#include "cvm/shim/monitor_link.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <glib-unix.h>
#include <sys/socket.h>
#include <unistd.h>

namespace cvm::shim {

namespace {

constexpr size_t kReadChunk = 64 * 1024;

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
	auto data = readAvailable(fd);
	if (!data)
		return G_SOURCE_CONTINUE;
	if (data->empty()) {
		self->client_.inWatch = 0;
		self->dropClient();
		return G_SOURCE_REMOVE;
	}
	self->core_.fromClient(*data);
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
		queue(qemu_, core_.takeToQemu());
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

bool MonitorLink::writeSome(Channel &ch)
{
	while (!ch.out.empty()) {
		ssize_t n = ::send(ch.fd.get(), ch.out.data(), ch.out.size(), MSG_NOSIGNAL);
		if (n > 0) {
			ch.out.erase(0, static_cast<size_t>(n));
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		ch.out.clear(); // the peer is gone; its read side reports EOF
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
