// SPDX-License-Identifier: Apache-2.0
//
// ProxyCore: the protocol logic of one QMP monitor that the shim sits on,
// between one client at a time (libvirtd) and one persistent connection to
// the real QEMU. No I/O: bytes go in, bytes to write come out.
//
//  - QEMU's greeting is kept and sent to every client that connects, so a
//    client may come and go (libvirtd restarts) while QEMU's monitor stays
//    connected; a later client's qmp_capabilities is answered by the shim.
//  - Each command is either forwarded or answered by the CommandFilter (the
//    SEV commands). Replies go out in command order: a local answer waits
//    behind the forwarded commands before it, as if QEMU had answered it.
//  - Replies to a client that has gone are dropped; events reach a client
//    only after its capabilities negotiation (as with QEMU).
//  - Descriptors the client passes (SCM_RIGHTS: libvirt's getfd, add-fd)
//    travel with the next command forwarded to QEMU, sent with its first
//    byte. Like QEMU's socket chardev, newer descriptors replace ones not
//    yet passed on (those are closed).
// Commands are in-band only (exec-oob is refused as QEMU refuses it without
// the oob capability): reply order is what makes the matching work.
#pragma once

#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "cvm/common/error.h"
#include "cvm/common/file.h"
#include "cvm/common/gptr.h"
#include "cvm/qmp/json_splitter.h"
#include "cvm/qmp/wire.h"

namespace cvm::shim {

// What to do with a client's command. Answer: the "return" value, or an
// Error whose tag is the QMP error class (GenericError when empty).
struct Disposition {
	enum class Action { Forward, Answer };
	Action action = Action::Forward;
	Result<JsonNodePtr> answer = JsonNodePtr();

	static Disposition forward() { return {}; }
	static Disposition reply(Result<JsonNodePtr> r) { return { Action::Answer, std::move(r) }; }
};

class CommandFilter
{
public:
	virtual ~CommandFilter() = default;
	// Called for each well-formed command of a negotiated client, in order.
	// May act before forwarding (cont: LAUNCH_FINISH first).
	virtual Disposition filter(const qmp::Command &command) = 0;
};

// Forwards everything.
class PassThroughFilter : public CommandFilter
{
public:
	Disposition filter(const qmp::Command &) override { return Disposition::forward(); }
};

// Bytes for QEMU, with the descriptors to send along with their first byte.
struct QemuWrite {
	std::string bytes;
	std::vector<UniqueFd> fds;
};

class ProxyCore
{
public:
	explicit ProxyCore(CommandFilter &filter);

	// QEMU's side.
	void fromQemu(std::string_view bytes);
	std::vector<QemuWrite> takeToQemu() { return std::exchange(toQemu_, {}); }
	bool greeted() const { return !greeting_.empty(); }

	// The client's side. `fds`: descriptors received with `bytes`.
	void clientConnected();
	void clientDisconnected();
	bool clientActive() const { return clientActive_; }
	void fromClient(std::string_view bytes, std::vector<UniqueFd> fds = {});
	std::string takeToClient() { return std::exchange(toClient_, {}); }

	// Commands waiting for QEMU's reply.
	size_t pendingForwarded() const;

private:
	struct Pending {
		unsigned generation = 0;
		bool forwarded = false;
		bool capabilities = false; // a forwarded qmp_capabilities
		bool ready = false;
		std::string reply; // unframed JSON
	};

	void qemuMessage(const std::string &text);
	void clientMessage(const std::string &text);
	void command(qmp::Command cmd);
	void answer(const std::string &json);
	void forward(const qmp::Command &cmd, bool capabilities);
	void flush();
	void sendToClient(const std::string &json);

	CommandFilter &filter_;
	qmp::JsonSplitter qemuSplitter_;
	qmp::JsonSplitter clientSplitter_;
	std::string greeting_;
	std::vector<QemuWrite> toQemu_;
	std::string toClient_;
	std::vector<UniqueFd> clientFds_; // received, not yet passed to QEMU
	std::deque<Pending> pending_;
	unsigned generation_ = 0;
	bool clientActive_ = false;
	bool clientNegotiated_ = false;
	bool qemuNegotiated_ = false;
};

} // namespace cvm::shim
