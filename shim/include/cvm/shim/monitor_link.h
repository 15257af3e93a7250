// SPDX-License-Identifier: Apache-2.0
//
// MonitorLink: one proxied QMP monitor on the GLib main loop — ProxyCore's
// bytes moved between QEMU's end (a connected socket the shim made with
// socketpair()) and the client's end, which is either a listening socket
// (the shim accepts one client at a time, like QEMU) or an already
// connected socket handed over by libvirt. Descriptors the client passes
// with its commands (SCM_RIGHTS, as libvirt's getfd and add-fd do) reach
// QEMU with the same command.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <glib.h>

#include "cvm/common/error.h"
#include "cvm/common/file.h"
#include "cvm/shim/qmp_proxy.h"

namespace cvm::shim {

class MonitorLink
{
public:
	// `listening`: clientSide is a listening socket; otherwise a connection.
	MonitorLink(UniqueFd qemuEnd, UniqueFd clientSide, bool listening, CommandFilter &filter);
	~MonitorLink();
	MonitorLink(const MonitorLink &) = delete;
	MonitorLink &operator=(const MonitorLink &) = delete;

	// Starts watching both ends on the thread-default main context.
	Status start();

	bool greeted() const { return core_.greeted(); }
	// Called once when QEMU's greeting arrives (QEMU finished its start-up).
	std::function<void()> onGreeting;
	// Called when QEMU's end closes (QEMU exited or closed the monitor).
	std::function<void()> onQemuClosed;

private:
	struct Channel {
		UniqueFd fd;
		std::string out;
		// Descriptors to send with the byte at `offset` of `out` (QEMU's end only).
		std::deque<std::pair<size_t, std::vector<UniqueFd>>> fdsAt;
		guint inWatch = 0;
		guint outWatch = 0;
	};

	static gboolean onQemuReadable(gint fd, GIOCondition cond, gpointer self);
	static gboolean onClientReadable(gint fd, GIOCondition cond, gpointer self);
	static gboolean onAccept(gint fd, GIOCondition cond, gpointer self);
	static gboolean onWritable(gint fd, GIOCondition cond, gpointer self);

	void pump();
	void queue(Channel &ch, std::string bytes);
	void queueToQemu(std::vector<QemuWrite> writes);
	bool writeSome(Channel &ch);
	void attachClient(UniqueFd fd);
	void dropClient();
	void closeQemu();
	void stopChannel(Channel &ch);

	ProxyCore core_;
	Channel qemu_;
	Channel client_;
	UniqueFd listener_;
	guint acceptWatch_ = 0;
	bool greetingSeen_ = false;
};

// Whether `fd` is a listening socket (SO_ACCEPTCONN).
Result<bool> isListeningSocket(int fd);

} // namespace cvm::shim
