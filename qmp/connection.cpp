// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-qmp"

#include "connection.h"

#include "cvm/common/secure_buffer.h"

namespace cvm::qmp {

namespace {

bool pollable(GIOStream *stream)
{
	GInputStream *in = g_io_stream_get_input_stream(stream);
	GOutputStream *out = g_io_stream_get_output_stream(stream);
	return G_IS_POLLABLE_INPUT_STREAM(in) &&
	       g_pollable_input_stream_can_poll(G_POLLABLE_INPUT_STREAM(in)) &&
	       G_IS_POLLABLE_OUTPUT_STREAM(out) &&
	       g_pollable_output_stream_can_poll(G_POLLABLE_OUTPUT_STREAM(out));
}

Error lostConnection(const GError *error)
{
	Error e = Error::fromGError(error, "connection lost");
	return Error(ErrorCode::Disconnected, e.message());
}

// The read source of a socket: its fd, with no child source, and allowed to
// recurse. GLib "blocks" a non-recursive source while it dispatches: it
// removes its fds from the context and adds them back, and each of those
// wakes the context up (an eventfd write and a poll that returns at once);
// the pollable stream source, which wraps a socket source, did that twice:
// four syscalls per message. Recursion itself is refused here: a nested
// main loop run from within our callback finds the fd set aside until the
// outer dispatch returns (no busy loop on a readable fd).
struct SocketReadSource {
	GSource source;
	int fd;
	gpointer tag;
	bool dispatching;
	bool setAside;
};

gboolean socketReadDispatch(GSource *source, GSourceFunc callback, gpointer data)
{
	auto *s = reinterpret_cast<SocketReadSource *>(source);
	if (s->dispatching) {
		g_source_remove_unix_fd(source, s->tag);
		s->tag = nullptr;
		s->setAside = true;
		return G_SOURCE_CONTINUE;
	}
	s->dispatching = true;
	// May destroy the source (GLib keeps it alive until we return).
	gboolean keep = callback ? callback(data) : G_SOURCE_REMOVE;
	s->dispatching = false;
	if (s->setAside && !g_source_is_destroyed(source)) {
		s->tag = g_source_add_unix_fd(source, s->fd, G_IO_IN);
		s->setAside = false;
	}
	return keep;
}

GSourceFuncs socketReadFuncs = { nullptr, nullptr, socketReadDispatch, nullptr, nullptr, nullptr };

GSource *newSocketReadSource(int fd)
{
	GSource *source = g_source_new(&socketReadFuncs, sizeof(SocketReadSource));
	auto *s = reinterpret_cast<SocketReadSource *>(source);
	s->fd = fd;
	s->tag = g_source_add_unix_fd(source, fd, G_IO_IN);
	s->dispatching = false;
	s->setAside = false;
	g_source_set_can_recurse(source, TRUE);
	return source;
}

} // namespace

Connection::Connection(GIOStream *stream, GMainContext *context, Handler &handler)
	: stream_(gobjectRef(stream)),
	  in_(G_POLLABLE_INPUT_STREAM(g_io_stream_get_input_stream(stream))),
	  out_stream_(G_POLLABLE_OUTPUT_STREAM(g_io_stream_get_output_stream(stream))),
	  context_(context), handler_(handler)
{
	if (G_IS_SOCKET_CONNECTION(stream))
		socketFd_ = g_socket_get_fd(g_socket_connection_get_socket(G_SOCKET_CONNECTION(stream)));
}

Result<std::unique_ptr<Connection>> Connection::create(GIOStream *stream, GMainContext *context,
						       Handler &handler)
{
	if (!stream || !pollable(stream))
		return Error(ErrorCode::Unsupported, "the QMP stream must be pollable (a socket)");
	std::unique_ptr<Connection> c(new Connection(stream, context, handler));
	c->setReading(true);
	return c;
}

Connection::~Connection()
{
	readSource_.reset();
	writeSource_.reset();
	releaseWritten();
	secureWipe(out_.data(), out_.size());
	// Closing the stream closes the socket now, not whenever the last
	// reference goes: the peer sees EOF at once.
	g_io_stream_close(stream_.get(), nullptr, nullptr);
}

void Connection::setReading(bool on)
{
	if (!on) {
		readSource_.reset();
		return;
	}
	if (readSource_)
		return;
	if (socketFd_ >= 0) {
		readSource_.reset(newSocketReadSource(socketFd_));
		g_source_set_callback(readSource_.get(), onSocketReadable, this, nullptr);
	} else {
		readSource_.reset(g_pollable_input_stream_create_source(in_, nullptr));
		g_source_set_callback(readSource_.get(), G_SOURCE_FUNC(onReadable), this, nullptr);
	}
	g_source_attach(readSource_.get(), context_);
}

gboolean Connection::onReadable(GObject *, gpointer data)
{
	return static_cast<Connection *>(data)->readOnce();
}

gboolean Connection::onSocketReadable(gpointer data)
{
	return static_cast<Connection *>(data)->readOnce();
}

gboolean Connection::readOnce()
{
	Connection *self = this;
	GError *raw = nullptr;
	gssize n = g_pollable_input_stream_read_nonblocking(self->in_, self->buffer_,
							     sizeof(self->buffer_), nullptr, &raw);
	GErrorPtr error(raw);
	if (n > 0) {
		// May destroy *self: nothing of it is touched afterwards.
		self->handler_.connectionData(std::string_view(self->buffer_, static_cast<size_t>(n)));
		return G_SOURCE_CONTINUE;
	}
	if (n < 0 && g_error_matches(error.get(), G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
		return G_SOURCE_CONTINUE;
	self->readSource_.reset();
	// A peer that exits with our unread bytes in its buffer resets the
	// connection: for us that is the same end as an EOF.
	if (n == 0 || g_error_matches(error.get(), G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED) ||
	    g_error_matches(error.get(), G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE))
		self->handler_.connectionEof();
	else
		self->handler_.connectionError(lostConnection(error.get()));
	return G_SOURCE_REMOVE;
}

void Connection::write(std::string_view bytes)
{
	if (writeFailed_ || bytes.empty())
		return;
	out_.append(bytes);
	if (!writeSource_)
		flush();
}

bool Connection::flush()
{
	while (outOffset_ < out_.size()) {
		GError *raw = nullptr;
		gssize n = g_pollable_output_stream_write_nonblocking(
			out_stream_, out_.data() + outOffset_, out_.size() - outOffset_, nullptr, &raw);
		GErrorPtr error(raw);
		if (n > 0) {
			outOffset_ += static_cast<size_t>(n);
			continue;
		}
		if (g_error_matches(error.get(), G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
			releaseWritten();
			armWrite();
			return true;
		}
		// Reported from a source, never from within write().
		writeFailed_ = true;
		writeError_ = lostConnection(error.get());
		secureWipe(out_.data(), out_.size());
		out_.clear();
		outOffset_ = 0;
		writeSource_.reset(g_idle_source_new());
		// Below the read source: what the peer sent before it went away (the
		// SHUTDOWN event, quit's reply, its EOF) is read first.
		g_source_set_priority(writeSource_.get(), G_PRIORITY_LOW);
		g_source_set_callback(writeSource_.get(), onWriteFailed, this, nullptr);
		g_source_attach(writeSource_.get(), context_);
		return false;
	}
	releaseWritten();
	if (shutdownPending_)
		doShutdownWrite();
	return true;
}

gboolean Connection::onWriteFailed(gpointer data)
{
	auto *self = static_cast<Connection *>(data);
	Error error = *self->writeError_;
	self->writeSource_.reset();
	self->readSource_.reset();
	self->handler_.connectionError(error);
	return G_SOURCE_REMOVE;
}

void Connection::releaseWritten()
{
	if (outOffset_ == 0)
		return;
	secureWipe(out_.data(), outOffset_);
	out_.erase(0, outOffset_);
	outOffset_ = 0;
}

void Connection::armWrite()
{
	if (writeSource_)
		return;
	writeSource_.reset(g_pollable_output_stream_create_source(out_stream_, nullptr));
	g_source_set_callback(writeSource_.get(), G_SOURCE_FUNC(onWritable), this, nullptr);
	g_source_attach(writeSource_.get(), context_);
}

gboolean Connection::onWritable(GObject *, gpointer data)
{
	auto *self = static_cast<Connection *>(data);
	// Drop our source first: flush() re-arms it when the socket is still full.
	GSourcePtr keep = std::move(self->writeSource_);
	g_source_destroy(keep.get());
	self->flush();
	return G_SOURCE_REMOVE;
}

void Connection::shutdownWrite()
{
	shutdownPending_ = true;
	if (pendingWrite() == 0 && !writeFailed_)
		doShutdownWrite();
}

void Connection::doShutdownWrite()
{
	shutdownPending_ = false;
	if (G_IS_SOCKET_CONNECTION(stream_.get())) {
		GSocket *socket = g_socket_connection_get_socket(G_SOCKET_CONNECTION(stream_.get()));
		g_socket_shutdown(socket, FALSE, TRUE, nullptr);
	} else {
		g_output_stream_close(G_OUTPUT_STREAM(out_stream_), nullptr, nullptr);
	}
}

} // namespace cvm::qmp
