// SPDX-License-Identifier: Apache-2.0
//
// Unix stream sockets through GIO, for both ends of a QMP connection: what
// the client connects to, and what QMP servers (the replay server, the
// recorder, simulators) listen on. Errors name the path and the reason.
#pragma once

#include <string>

#include <gio/gio.h>

#include "cvm/common/error.h"
#include "cvm/common/file.h"
#include "cvm/common/gptr.h"

namespace cvm::qmp {

// Longest path that fits sockaddr_un (107 bytes and the terminating NUL).
constexpr size_t kMaxUnixSocketPath = 107;

// Connects to the socket at `path` (a non-blocking connect: a unix socket
// connects at once or fails). Codes: NotFound (no such socket),
// Disconnected (refused: nobody listens yet, or the backlog is full),
// PermissionDenied, InvalidArgument (path too long), Io.
Result<GObjectPtr<GSocketConnection>> connectUnixSocket(const std::string &path);

// Binds and listens at `path` (which must not exist). Blocking socket.
Result<GObjectPtr<GSocket>> listenUnixSocket(const std::string &path, int backlog = 4);

// Wraps an already-connected stream socket.
Result<GObjectPtr<GSocketConnection>> socketConnectionFromFd(UniqueFd fd);

} // namespace cvm::qmp
