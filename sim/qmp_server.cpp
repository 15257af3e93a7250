// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-sim"

#include "cvm/sim/qmp_server.h"

#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib-unix.h>

#include "cvm/qmp/wire.h"

namespace cvm::sim {

namespace {

constexpr int kWriteTimeoutMs = 5000;

void destroySource(GSource *&source)
{
	if (source) {
		g_source_destroy(source);
		g_source_unref(source);
		source = nullptr;
	}
}

} // namespace

struct QmpServer::Client {
	Client(UniqueFd f, const QmpDispatcher &d, const QmpSessionOptions &o) : fd(std::move(f)), session(d, o) {}
	~Client()
	{
		destroySource(source);
		destroySource(delay);
	}
	UniqueFd fd;
	QmpSession session;
	GSource *source = nullptr;
	GSource *delay = nullptr;
	bool delayDone = false;
	bool dropPending = false;
};

QmpServer::QmpServer(const QmpDispatcher &dispatcher, QmpSessionOptions options, const Faults &faults,
		     GMainContext *context)
	: dispatcher_(dispatcher), options_(std::move(options)), faults_(faults), context_(context)
{
}

QmpServer::~QmpServer()
{
	client_.reset();
	destroySource(listenSource_);
	if (!path_.empty())
		unlink(path_.c_str());
}

Status QmpServer::listen(const std::string &path)
{
	sockaddr_un addr{};
	if (path.size() >= sizeof(addr.sun_path))
		return Error(ErrorCode::InvalidArgument, "QMP socket path too long: " + path);
	UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
	if (!fd.isValid())
		return Error(ErrorCode::Io, std::string("socket: ") + strerror(errno));
	addr.sun_family = AF_UNIX;
	memcpy(addr.sun_path, path.c_str(), path.size() + 1);
	if (bind(fd.get(), reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) != 0)
		return Error(ErrorCode::Io, "Failed to bind socket to " + path + ": " + strerror(errno));
	path_ = path;
	return adoptListener(std::move(fd));
}

Status QmpServer::adoptListener(UniqueFd fd)
{
	if (::listen(fd.get(), 1) != 0)
		return Error(ErrorCode::Io, std::string("listen: ") + strerror(errno));
	listener_ = std::move(fd);
	watchListener();
	return {};
}

void QmpServer::watchListener()
{
	destroySource(listenSource_);
	listenSource_ = g_unix_fd_source_new(listener_.get(), G_IO_IN);
	g_source_set_callback(listenSource_, G_SOURCE_FUNC(onAcceptReady),
			      this, nullptr);
	g_source_attach(listenSource_, context_);
}

gboolean QmpServer::onAcceptReady(gint, GIOCondition, gpointer self)
{
	static_cast<QmpServer *>(self)->accept();
	return G_SOURCE_CONTINUE;
}

void QmpServer::accept()
{
	UniqueFd fd(accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
	if (!fd.isValid())
		return;
	// One client at a time, as a QEMU socket chardev: the next one waits.
	destroySource(listenSource_);
	client_ = std::make_unique<Client>(std::move(fd), dispatcher_, options_);
	Client &c = *client_;
	c.session.beforeCommand = [this](const std::string &name) { return beforeCommand(name); };
	c.session.rewriteReply = [this](const std::string &name, std::string &reply) {
		bool byName = faults_.malformedReplyCommand && *faults_.malformedReplyCommand == name;
		bool byIndex = faults_.malformedReplyIndex && *faults_.malformedReplyIndex == totalCommands_;
		if (byName || byIndex) {
			g_warning("fault knob: malformed reply to %s", name.c_str());
			reply.resize(reply.size() / 2);
		}
	};
	c.source = g_unix_fd_source_new(c.fd.get(), static_cast<GIOCondition>(G_IO_IN | G_IO_HUP | G_IO_ERR));
	g_source_set_callback(c.source, G_SOURCE_FUNC(onClientReady),
			      this, nullptr);
	g_source_attach(c.source, context_);
	g_debug("QMP client connected");
	std::string greeting = c.session.greeting();
	if (::write(c.fd.get(), greeting.data(), greeting.size()) < 0)
		dropClient("write failed");
}

bool QmpServer::beforeCommand(const std::string &name)
{
	++totalCommands_;
	if (faults_.exitsAt(name) && onFatalFault) {
		onFatalFault(name);
		return false;
	}
	if (faults_.dropAfter && totalCommands_ > *faults_.dropAfter) {
		g_warning("fault knob: dropping the connection at command %u (%s)", totalCommands_, name.c_str());
		client_->dropPending = true;
		return false;
	}
	return true;
}

gboolean QmpServer::onClientReady(gint fd, GIOCondition cond, gpointer self)
{
	auto *server = static_cast<QmpServer *>(self);
	char buf[65536];
	ssize_t n = (cond & G_IO_IN) ? ::read(fd, buf, sizeof(buf)) : 0;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return G_SOURCE_CONTINUE;
	if (n <= 0) {
		// The source is destroyed with the client: return without touching it.
		server->dropClient("client closed the connection");
		return G_SOURCE_CONTINUE;
	}
	server->client_->session.receive(std::string_view(buf, static_cast<size_t>(n)));
	server->processInput();
	return G_SOURCE_CONTINUE;
}

gboolean QmpServer::onResume(gpointer self)
{
	auto *server = static_cast<QmpServer *>(self);
	if (server->client_) {
		destroySource(server->client_->delay);
		server->client_->delayDone = true;
		server->processInput();
	}
	return G_SOURCE_REMOVE;
}

void QmpServer::processInput()
{
	while (client_ && !client_->delay) {
		if (faults_.delayMs && !client_->delayDone) {
			if (!client_->session.hasInput())
				return;
			client_->delay = g_timeout_source_new(faults_.delayMs);
			g_source_set_callback(client_->delay, onResume, this, nullptr);
			g_source_attach(client_->delay, context_);
			return;
		}
		client_->delayDone = false;
		if (!client_->session.processOne())
			return;
		writeOutput(true);
		if (!client_)
			return;
		if (client_->dropPending) {
			dropClient("fault knob drop-after");
			return;
		}
		if (shutdownAfterReply_) {
			shutdownAfterReply_ = false;
			dropClient("quit");
			if (onShutdown)
				onShutdown();
			return;
		}
	}
}

void QmpServer::writeOutput(bool)
{
	if (!client_)
		return;
	std::string out = client_->session.takeOutput();
	size_t done = 0;
	while (done < out.size()) {
		ssize_t n = ::write(client_->fd.get(), out.data() + done, out.size() - done);
		if (n > 0) {
			done += static_cast<size_t>(n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			pollfd p{ client_->fd.get(), POLLOUT, 0 };
			if (poll(&p, 1, kWriteTimeoutMs) > 0)
				continue;
		}
		dropClient("the client does not read its replies");
		return;
	}
}

void QmpServer::flush()
{
	writeOutput(true);
}

void QmpServer::emitEvent(std::string_view name, JsonNode *data)
{
	if (!client_)
		return;
	client_->session.queueEvent(qmp::frameServerMessage(qmp::buildEvent(name, data)));
	writeOutput(true);
}

bool QmpServer::clientConnected() const
{
	return client_ != nullptr;
}

void QmpServer::dropClient(const char *why)
{
	if (!client_)
		return;
	g_debug("QMP client gone (%s)", why);
	client_.reset();
	if (listener_.isValid())
		watchListener();
}

} // namespace cvm::sim
