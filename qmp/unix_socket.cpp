// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-qmp"

#include "cvm/qmp/unix_socket.h"

#include <gio/gunixsocketaddress.h>

namespace cvm::qmp {

namespace {

Status checkPath(const std::string &path)
{
	if (path.empty())
		return Error(ErrorCode::InvalidArgument, "no socket path given");
	if (path.size() > kMaxUnixSocketPath)
		return Error(ErrorCode::InvalidArgument,
			     "socket path " + path + " is too long (" + std::to_string(path.size()) +
				     " bytes, at most " + std::to_string(kMaxUnixSocketPath) + ")");
	return {};
}

Result<GObjectPtr<GSocket>> newSocket(const std::string &what)
{
	GError *raw = nullptr;
	GObjectPtr<GSocket> socket(g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM,
						G_SOCKET_PROTOCOL_DEFAULT, &raw));
	if (!socket) {
		GErrorPtr error(raw);
		return Error::fromGError(error.get(), what);
	}
	return socket;
}

} // namespace

Result<GObjectPtr<GSocketConnection>> connectUnixSocket(const std::string &path)
{
	CVM_CHECK(checkPath(path));
	std::string what = "cannot connect to the QMP socket " + path;
	GObjectPtr<GSocket> socket = CVM_TRY(newSocket(what));
	g_socket_set_blocking(socket.get(), FALSE);
	GObjectPtr<GSocketAddress> address(g_unix_socket_address_new(path.c_str()));
	GError *raw = nullptr;
	if (!g_socket_connect(socket.get(), address.get(), nullptr, &raw)) {
		GErrorPtr error(raw);
		Error e = Error::fromGError(error.get(), what);
		// Refused (nobody listens yet) and a full backlog (EAGAIN) pass
		// while QEMU starts up: callers may retry on Disconnected.
		if (g_error_matches(error.get(), G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED) ||
		    g_error_matches(error.get(), G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK) ||
		    g_error_matches(error.get(), G_IO_ERROR, G_IO_ERROR_PENDING))
			e = Error(ErrorCode::Disconnected, e.message());
		return e;
	}
	return GObjectPtr<GSocketConnection>(g_socket_connection_factory_create_connection(socket.get()));
}

Result<GObjectPtr<GSocket>> listenUnixSocket(const std::string &path, int backlog)
{
	CVM_CHECK(checkPath(path));
	std::string what = "cannot listen on " + path;
	GObjectPtr<GSocket> socket = CVM_TRY(newSocket(what));
	GObjectPtr<GSocketAddress> address(g_unix_socket_address_new(path.c_str()));
	GError *raw = nullptr;
	if (!g_socket_bind(socket.get(), address.get(), FALSE, &raw)) {
		GErrorPtr error(raw);
		return Error::fromGError(error.get(), what);
	}
	g_socket_set_listen_backlog(socket.get(), backlog);
	if (!g_socket_listen(socket.get(), &raw)) {
		GErrorPtr error(raw);
		return Error::fromGError(error.get(), what);
	}
	return socket;
}

Result<GObjectPtr<GSocketConnection>> socketConnectionFromFd(UniqueFd fd)
{
	GError *raw = nullptr;
	GObjectPtr<GSocket> socket(g_socket_new_from_fd(fd.get(), &raw));
	if (!socket) {
		GErrorPtr error(raw);
		return Error::fromGError(error.get(), "cannot use file descriptor " + std::to_string(fd.get()) +
							      " as a QMP connection");
	}
	(void)fd.release(); // the GSocket owns it now
	if (g_socket_get_socket_type(socket.get()) != G_SOCKET_TYPE_STREAM)
		return Error(ErrorCode::InvalidArgument, "a QMP connection needs a stream socket");
	g_socket_set_blocking(socket.get(), FALSE);
	return GObjectPtr<GSocketConnection>(g_socket_connection_factory_create_connection(socket.get()));
}

} // namespace cvm::qmp
