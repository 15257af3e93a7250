// SPDX-License-Identifier: Apache-2.0
//
// Connection (internal to qmp/): a byte pipe over a pollable GIOStream on a
// GMainContext, used by the client and by the recorder (sockets themselves:
// unix_socket.h). Reading is driven by a
// pollable source; write() sends what the socket takes at once and keeps the
// rest for when it becomes writable. Everything written is wiped from memory
// once sent (a command may carry a launch secret).
//
// No GTask/async calls: every callback comes from a GSource the Connection
// owns, so destroying the Connection (even from within one of its handler
// calls) guarantees that no further callback arrives.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <gio/gio.h>

#include "cvm/common/error.h"
#include "cvm/common/gptr.h"

namespace cvm::qmp {

class Connection
{
public:
	// Called from the Connection's sources. A handler may destroy the
	// Connection; the Connection touches nothing of itself afterwards.
	class Handler
	{
	public:
		virtual void connectionData(std::string_view bytes) = 0;
		// The peer closed (EOF, or a reset while reading). Reading stops.
		virtual void connectionEof() = 0;
		// A read error, or a write error (EPIPE, ...; reported after what
		// can still be read has been). Reading stops.
		virtual void connectionError(const Error &error) = 0;

	protected:
		~Handler() = default;
	};

	// Fails (Unsupported) when either half of the stream is not pollable.
	static Result<std::unique_ptr<Connection>> create(GIOStream *stream, GMainContext *context,
							  Handler &handler);
	~Connection();
	Connection(const Connection &) = delete;
	Connection &operator=(const Connection &) = delete;

	// Queues bytes; writes as much as the socket takes now. After a write
	// error further writes are dropped (the error was reported once).
	void write(std::string_view bytes);
	size_t pendingWrite() const { return out_.size() - outOffset_; }

	// Stops or resumes reading (back-pressure in the recorder).
	void setReading(bool on);
	// Shuts the write half down once everything queued has been written.
	void shutdownWrite();

	GIOStream *stream() const { return stream_.get(); }

private:
	Connection(GIOStream *stream, GMainContext *context, Handler &handler);

	static gboolean onReadable(GObject *stream, gpointer data);
	static gboolean onSocketReadable(gpointer data);
	gboolean readOnce();
	static gboolean onWritable(GObject *stream, gpointer data);
	static gboolean onWriteFailed(gpointer data);
	bool flush();
	void armWrite();
	void releaseWritten();
	void doShutdownWrite();

	GObjectPtr<GIOStream> stream_;
	GPollableInputStream *in_;
	GPollableOutputStream *out_stream_;
	GMainContext *context_;
	Handler &handler_;
	int socketFd_ = -1;  // a socket's fd: read through its own source
	GSourcePtr readSource_;
	GSourcePtr writeSource_;
	std::string out_;
	size_t outOffset_ = 0;
	bool writeFailed_ = false;
	std::optional<Error> writeError_;
	bool shutdownPending_ = false;
	char buffer_[64 * 1024];
};

} // namespace cvm::qmp
