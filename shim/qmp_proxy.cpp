// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-shim"

#include "cvm/shim/qmp_proxy.h"

#include <algorithm>

#include <glib.h>

#include "cvm/common/json.h"

namespace cvm::shim {

namespace {

qmp::SplitterLimits clientLimits()
{
	qmp::SplitterLimits l;
	l.singleQuotes = true; // QEMU's extension, accepted from clients
	return l;
}

std::string errorJson(const Error &e, JsonNode *id)
{
	std::string cls = e.tag().empty() ? "GenericError" : e.tag();
	return qmp::buildErrorReply(cls, e.message(), id);
}

} // namespace

ProxyCore::ProxyCore(CommandFilter &filter) : filter_(filter), clientSplitter_(clientLimits()) {}

size_t ProxyCore::pendingForwarded() const
{
	return static_cast<size_t>(std::count_if(pending_.begin(), pending_.end(),
						 [](const Pending &p) { return p.forwarded && !p.ready; }));
}

void ProxyCore::fromQemu(std::string_view bytes)
{
	for (auto &f : qemuSplitter_.feed(bytes)) {
		if (f.isError()) {
			g_warning("QEMU's monitor sent bad JSON (%s): ignored", f.error.message().c_str());
			continue;
		}
		qemuMessage(f.text);
	}
}

void ProxyCore::qemuMessage(const std::string &text)
{
	auto msg = qmp::parseMessage(text);
	if (!msg) {
		g_warning("QEMU's monitor sent %s: ignored", msg.error().message().c_str());
		return;
	}
	JsonObject *o = json_node_get_object(msg->get());
	switch (qmp::classify(o)) {
	case qmp::MessageKind::Greeting:
		if (greeting_.empty()) {
			greeting_ = text;
			if (clientActive_)
				sendToClient(greeting_);
		}
		return;
	case qmp::MessageKind::Event:
		if (clientActive_ && clientNegotiated_)
			sendToClient(text);
		return;
	case qmp::MessageKind::Return:
	case qmp::MessageKind::Error: {
		auto it = std::find_if(pending_.begin(), pending_.end(),
				       [](const Pending &p) { return p.forwarded && !p.ready; });
		if (it == pending_.end()) {
			g_warning("QEMU's monitor sent a reply to no command: ignored");
			return;
		}
		it->ready = true;
		it->reply = text;
		if (it->capabilities && qmp::classify(o) == qmp::MessageKind::Return) {
			qemuNegotiated_ = true;
			if (it->generation == generation_)
				clientNegotiated_ = true;
		}
		flush();
		return;
	}
	default:
		g_warning("QEMU's monitor sent an unknown message: ignored");
	}
}

void ProxyCore::clientConnected()
{
	++generation_;
	clientActive_ = true;
	clientNegotiated_ = false;
	clientSplitter_ = qmp::JsonSplitter(clientLimits());
	if (!greeting_.empty())
		sendToClient(greeting_);
}

void ProxyCore::clientDisconnected()
{
	clientActive_ = false;
	clientNegotiated_ = false;
	toClient_.clear();
	clientFds_.clear(); // QEMU closes a gone client's descriptors too
	// Local answers for the old client are dropped; forwarded ones stay
	// queued until QEMU answers them (then they are dropped too).
	flush();
}

void ProxyCore::fromClient(std::string_view bytes, std::vector<UniqueFd> fds)
{
	if (!clientActive_)
		return;
	if (!fds.empty()) {
		if (!clientFds_.empty())
			g_debug("%zu passed descriptor(s) replaced before any command took them", clientFds_.size());
		clientFds_ = std::move(fds);
	}
	for (auto &f : clientSplitter_.feed(bytes)) {
		if (f.isError()) {
			answer(qmp::buildErrorReply("GenericError",
						    "JSON parse error, stray '" + f.error.qemuStray() + "'",
						    nullptr));
			continue;
		}
		clientMessage(f.text);
	}
}

void ProxyCore::clientMessage(const std::string &text)
{
	auto node = json::parse(text);
	if (!node) {
		answer(qmp::buildErrorReply("GenericError", "JSON parse error, " + node.error().message(),
					    nullptr));
		return;
	}
	JsonNode *id = JSON_NODE_HOLDS_OBJECT(node->get()) ? qmp::messageId(json_node_get_object(node->get()))
							    : nullptr;
	auto cmd = qmp::parseCommand(node->get(), false);
	if (!cmd) {
		answer(errorJson(cmd.error(), id));
		return;
	}
	command(std::move(cmd).value());
}

void ProxyCore::command(qmp::Command cmd)
{
	const bool caps = cmd.name == "qmp_capabilities";
	if (!clientNegotiated_) {
		if (caps && qemuNegotiated_) {
			// QEMU's connection is negotiated already (an earlier client).
			clientNegotiated_ = true;
			answer(qmp::buildReturn(json::ObjectBuilder().build().get(), cmd.id.get()));
			return;
		}
		if (!caps && qemuNegotiated_) {
			answer(qmp::buildErrorReply("CommandNotFound",
						    "Expecting capabilities negotiation with 'qmp_capabilities'",
						    cmd.id.get()));
			return;
		}
		forward(cmd, caps);
		return;
	}
	Disposition d = filter_.filter(cmd);
	if (d.action == Disposition::Action::Forward) {
		forward(cmd, false);
		return;
	}
	if (!d.answer)
		answer(errorJson(d.answer.error(), cmd.id.get()));
	else if (*d.answer)
		answer(qmp::buildReturn(d.answer->get(), cmd.id.get()));
	else
		answer(qmp::buildReturn(json::ObjectBuilder().build().get(), cmd.id.get()));
}

void ProxyCore::forward(const qmp::Command &cmd, bool capabilities)
{
	JsonObject *args = cmd.arguments ? json_node_get_object(cmd.arguments.get()) : nullptr;
	std::string bytes = qmp::frameClientMessage(qmp::buildCommand(cmd.name, args, cmd.id.get()));
	if (toQemu_.empty() || !clientFds_.empty())
		toQemu_.push_back(QemuWrite{ std::move(bytes), std::exchange(clientFds_, {}) });
	else
		toQemu_.back().bytes += bytes;
	pending_.push_back(Pending{ generation_, true, capabilities, false, {} });
}

void ProxyCore::answer(const std::string &json)
{
	pending_.push_back(Pending{ generation_, false, false, true, json });
	flush();
}

// Replies go out in command order within one client's connection; entries
// of a client that has gone wait only for QEMU's reply, which is dropped.
void ProxyCore::flush()
{
	std::deque<Pending> keep;
	bool blocked = false;
	for (auto &p : pending_) {
		bool current = clientActive_ && p.generation == generation_;
		if (!current) {
			if (!p.ready)
				keep.push_back(std::move(p));
		} else if (!blocked && p.ready) {
			sendToClient(p.reply);
		} else {
			blocked = blocked || !p.ready;
			keep.push_back(std::move(p));
		}
	}
	pending_ = std::move(keep);
}

void ProxyCore::sendToClient(const std::string &json)
{
	toClient_ += qmp::frameServerMessage(json);
}

} // namespace cvm::shim
