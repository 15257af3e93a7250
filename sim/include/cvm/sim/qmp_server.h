// SPDX-License-Identifier: Apache-2.0
//
// QmpServer: QmpSession over a unix stream socket on a GMainContext, like a
// QEMU socket chardev with server=on,wait=off: it listens on a path (which it
// creates and removes) or on a listening descriptor handed over (libvirt's
// fd=N), serves one client at a time (the next waits in the backlog), greets
// each new client and delivers events to the current one.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <glib.h>

#include "cvm/common/error.h"
#include "cvm/common/file.h"
#include "cvm/sim/faults.h"
#include "cvm/sim/qmp_dispatch.h"

namespace cvm::sim {

class QmpServer
{
public:
	QmpServer(const QmpDispatcher &dispatcher, QmpSessionOptions options, const Faults &faults,
		  GMainContext *context = nullptr);
	~QmpServer();
	QmpServer(const QmpServer &) = delete;
	QmpServer &operator=(const QmpServer &) = delete;

	// Creates and listens on `path` (removed again on destruction).
	Status listen(const std::string &path);
	// Takes over a socket that is already bound and listening.
	Status adoptListener(UniqueFd fd);

	// Sends an event (timestamped now) to the connected, negotiated client.
	void emitEvent(std::string_view name, JsonNode *data = nullptr);
	// After the reply being built: flush, close the client, call onShutdown.
	void requestShutdownAfterReply() { shutdownAfterReply_ = true; }
	// Writes what is pending, blocking briefly (before the process exits).
	void flush();

	// Called once the reply to a shutdown request (quit) went out.
	std::function<void()> onShutdown;
	// Called when a fault knob says the process must die now (exit-at).
	std::function<void(const std::string &command)> onFatalFault;

	bool clientConnected() const;

private:
	struct Client;
	static gboolean onAcceptReady(gint fd, GIOCondition cond, gpointer self);
	static gboolean onClientReady(gint fd, GIOCondition cond, gpointer self);
	static gboolean onResume(gpointer self);
	void watchListener();
	void accept();
	void processInput();
	void writeOutput(bool block);
	void dropClient(const char *why);
	bool beforeCommand(const std::string &name);

	const QmpDispatcher &dispatcher_;
	QmpSessionOptions options_;
	const Faults &faults_;
	GMainContext *context_;
	std::string path_;
	UniqueFd listener_;
	GSource *listenSource_ = nullptr;
	std::unique_ptr<Client> client_;
	unsigned totalCommands_ = 0;
	bool shutdownAfterReply_ = false;
};

} // namespace cvm::sim
