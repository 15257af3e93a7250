// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-qmp"

#include "cvm/qmp/session.h"

#include <cstdio>
#include <cstdlib>
#include <utility>

#include "cvm/common/json.h"
#include "cvm/common/log.h"
#include "cvm/common/secure_buffer.h"

namespace cvm::qmp {

namespace {

constexpr std::string_view kIdPrefix = "cvm-";

bool debugOn()
{
	return debugLogEnabled(G_LOG_DOMAIN);
}

void wipe(std::string &s)
{
	secureWipe(s.data(), s.size());
	s.clear();
}

// The command name of an arbitrary message, for logs and error context.
std::string messageCommandName(JsonObject *message)
{
	for (const char *key : { "execute", "exec-oob" }) {
		JsonNode *n = json_object_get_member(message, key);
		if (n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING)
			return json_node_get_string(n);
	}
	return "(message)";
}

// A copy of `message` without its "id" (and with "arguments" redacted when asked).
JsonObjectPtr copyWithoutId(JsonObject *message, bool redactArguments)
{
	JsonObjectPtr copy(json_object_new());
	GList *members = json_object_get_members(message);
	for (GList *l = members; l; l = l->next) {
		const char *key = static_cast<const char *>(l->data);
		if (g_str_equal(key, "id"))
			continue;
		if (redactArguments && g_str_equal(key, "arguments"))
			json_object_set_string_member(copy.get(), key, std::string(kRedacted).c_str());
		else
			json_object_set_member(copy.get(), key,
					       json_node_copy(json_object_get_member(message, key)));
	}
	g_list_free(members);
	return copy;
}

} // namespace

const char *connectionStateName(ConnectionState state)
{
	switch (state) {
	case ConnectionState::Connecting: return "connecting";
	case ConnectionState::AwaitingGreeting: return "awaiting greeting";
	case ConnectionState::Negotiating: return "negotiating";
	case ConnectionState::Running: return "running";
	case ConnectionState::Closed: return "closed";
	}
	return "unknown";
}

std::string formatDuration(int64_t us)
{
	if (us < G_USEC_PER_SEC)
		return std::to_string((us + 500) / 1000) + " ms";
	if (us % G_USEC_PER_SEC == 0)
		return std::to_string(us / G_USEC_PER_SEC) + " s";
	char buf[32];
	snprintf(buf, sizeof(buf), "%.1f s", static_cast<double>(us) / G_USEC_PER_SEC);
	return buf;
}

Error startupExitError(std::string_view detail)
{
	return Error(ErrorCode::Disconnected, "QEMU exited during start-up (" + std::string(detail) + ")");
}

Session::Session(SessionListener &listener, SessionOptions options)
	: listener_(listener), options_(std::move(options)),
	  splitter_(SplitterLimits{ options_.maxMessageSize, kDefaultMaxNesting, false })
{
}

Session::~Session()
{
	for (auto &q : queue_)
		wipe(q.text);
	wipe(output_);
}

// --- commands -------------------------------------------------------------

std::string Session::idFor(CommandToken token) const
{
	return std::string(kIdPrefix) + std::to_string(token);
}

std::optional<CommandToken> Session::tokenOf(JsonNode *id) const
{
	if (!id || !JSON_NODE_HOLDS_VALUE(id) || json_node_get_value_type(id) != G_TYPE_STRING)
		return std::nullopt;
	std::string_view s = json_node_get_string(id);
	if (s.substr(0, kIdPrefix.size()) != kIdPrefix || s.size() == kIdPrefix.size() ||
	    s.size() > kIdPrefix.size() + 20)
		return std::nullopt;
	CommandToken token = 0;
	for (char c : s.substr(kIdPrefix.size())) {
		if (c < '0' || c > '9')
			return std::nullopt;
		token = token * 10 + static_cast<CommandToken>(c - '0');
	}
	if (!pending_.count(token))
		return std::nullopt;
	return token;
}

Result<CommandToken> Session::submit(std::string_view command, JsonObject *arguments, Deadline deadline)
{
	if (state_ == ConnectionState::Closed)
		return closeError_->withContext(command);
	CommandToken token = nextToken_;
	JsonNodePtr id = json::stringNode(idFor(token));
	bool sensitive = isSensitiveCommand(command, arguments);
	std::string text = buildCommand(command, arguments, id.get());
	std::string logText;
	if (sensitive && debugOn())
		logText = loggableCommand(command, arguments, id.get(), true);
	return enqueue(command, sensitive, std::move(text), std::move(logText), deadline);
}

Result<CommandToken> Session::submitMessage(JsonObject *message, Deadline deadline)
{
	std::string name = messageCommandName(message);
	if (state_ == ConnectionState::Closed)
		return closeError_->withContext(name);
	JsonNode *args = json_object_get_member(message, "arguments");
	bool sensitive = isSensitiveCommand(name, args && JSON_NODE_HOLDS_OBJECT(args)
							  ? json_node_get_object(args) : nullptr);
	JsonObjectPtr copy = copyWithoutId(message, false);
	json_object_set_string_member(copy.get(), "id", idFor(nextToken_).c_str());
	std::string text = json::serialize(copy.get());
	std::string logText;
	if (sensitive && debugOn()) {
		JsonObjectPtr redacted = copyWithoutId(message, true);
		json_object_set_string_member(redacted.get(), "id", idFor(nextToken_).c_str());
		logText = json::serialize(redacted.get());
	}
	return enqueue(name, sensitive, std::move(text), std::move(logText), deadline);
}

Result<CommandToken> Session::enqueue(std::string_view name, bool sensitive, std::string text,
				      std::string logText, Deadline deadline)
{
	CommandToken token = nextToken_++;
	Pending p;
	p.name = std::string(name);
	p.sensitive = sensitive;
	p.deadline = deadline;
	Outgoing out{ token, std::move(text), std::move(logText) };
	if (state_ == ConnectionState::Running) {
		p.sent = true;
		appendOutput(out);
	} else {
		queue_.push_back(std::move(out));
	}
	pending_.emplace(token, std::move(p));
	if (!deadline.none())
		deadlines_.emplace(deadline.at, token);
	return token;
}

void Session::appendOutput(Outgoing &message)
{
	if (debugOn())
		g_debug("%s: >>> %s", options_.name.c_str(),
			(message.logText.empty() ? message.text : message.logText).c_str());
	output_.append(message.text);
	output_.push_back('\n');
	wipe(message.text);
}

void Session::flushQueue()
{
	while (!queue_.empty() && state_ == ConnectionState::Running) {
		Outgoing out = std::move(queue_.front());
		queue_.pop_front();
		auto it = pending_.find(out.token);
		if (it == pending_.end()) { // timed out while queued
			wipe(out.text);
			continue;
		}
		it->second.sent = true;
		appendOutput(out);
	}
}

std::string_view Session::pendingOutput() const
{
	return std::string_view(output_).substr(outputOffset_);
}

void Session::consumeOutput(size_t n)
{
	outputOffset_ = std::min(output_.size(), outputOffset_ + n);
	if (outputOffset_ == output_.size()) {
		wipe(output_);
		outputOffset_ = 0;
	} else if (outputOffset_ > (64u << 10) && outputOffset_ * 2 > output_.size()) {
		secureWipe(output_.data(), outputOffset_);
		output_.erase(0, outputOffset_);
		outputOffset_ = 0;
	}
}

// --- input ----------------------------------------------------------------

void Session::receive(std::string_view bytes)
{
	while (!bytes.empty() && state_ != ConnectionState::Closed) {
		std::optional<Frame> frame;
		size_t used = splitter_.consume(bytes, frame);
		bytes.remove_prefix(used);
		if (frame)
			handleFrame(*frame);
		else if (used == 0)
			break;
	}
}

void Session::handleFrame(const Frame &frame)
{
	if (frame.isError()) {
		const SplitError &e = frame.error;
		ErrorCode code = e.kind == SplitErrorKind::TooLarge || e.kind == SplitErrorKind::TooDeep
					 ? ErrorCode::LimitExceeded : ErrorCode::Protocol;
		fail(Error(code, "invalid QMP stream from QEMU: " + e.message()));
		return;
	}
	auto node = parseMessage(frame.text);
	if (!node) {
		fail(Error(ErrorCode::Protocol, "invalid QMP stream from QEMU: " + node.error().message() +
					       " (message at offset " + std::to_string(frame.offset) + ")"));
		return;
	}
	handleMessage(json_node_get_object(node->get()), frame.text);
}

void Session::handleMessage(JsonObject *message, std::string_view text)
{
	MessageKind kind = classify(message);
	if (state_ == ConnectionState::AwaitingGreeting && kind != MessageKind::Greeting) {
		fail(Error(ErrorCode::Protocol, std::string("invalid QMP stream from QEMU: expected the "
							    "greeting, got ") + messageKindName(kind)));
		return;
	}
	switch (kind) {
	case MessageKind::Greeting:
		if (debugOn())
			g_debug("%s: <<< %.*s", options_.name.c_str(), static_cast<int>(text.size()), text.data());
		if (state_ != ConnectionState::AwaitingGreeting) {
			fail(Error(ErrorCode::Protocol, "invalid QMP stream from QEMU: a second greeting"));
			return;
		}
		handleGreeting(message);
		return;
	case MessageKind::Return:
	case MessageKind::Error:
		handleReply(message, text);
		return;
	case MessageKind::Event:
		handleEvent(message, text);
		return;
	case MessageKind::Command:
	case MessageKind::Unknown:
		g_warning("%s: ignoring a QMP message of unknown kind: %.*s", options_.name.c_str(),
			  static_cast<int>(std::min<size_t>(text.size(), 200)), text.data());
		return;
	}
}

void Session::handleGreeting(JsonObject *message)
{
	auto greeting = parseGreeting(message);
	if (!greeting) {
		fail(greeting.error());
		return;
	}
	greeting_ = std::move(greeting).value();
	g_debug("%s: QEMU %s, capabilities [%s]", options_.name.c_str(),
		greeting_->version.toString().c_str(),
		[&] {
			std::string s;
			for (const auto &c : greeting_->capabilities)
				s += (s.empty() ? "" : ", ") + c;
			return s;
		}().c_str());
	if (!options_.negotiate) {
		becomeRunning();
		return;
	}
	// Negotiation goes out before anything queued.
	CommandToken token = nextToken_++;
	JsonNodePtr id = json::stringNode(idFor(token));
	Pending p;
	p.name = "qmp_capabilities";
	p.negotiation = true;
	p.sent = true;
	pending_.emplace(token, std::move(p));
	Outgoing out{ token, buildCommand("qmp_capabilities", nullptr, id.get()), {} };
	appendOutput(out);
	state_ = ConnectionState::Negotiating;
}

void Session::becomeRunning()
{
	state_ = ConnectionState::Running;
	startupDeadline_ = {};
	flushQueue();
	listener_.sessionReady(*greeting_);
}

void Session::handleReply(JsonObject *message, std::string_view text)
{
	auto reply = parseReply(message);
	if (!reply) {
		fail(reply.error());
		return;
	}
	std::optional<CommandToken> token;
	if (reply->id) {
		token = tokenOf(reply->id.get());
	} else if (!reply->ok) {
		// QEMU could not read the command, so it could not echo the id; it
		// answers in order, so this is the oldest command on the wire.
		for (const auto &[t, p] : pending_)
			if (p.sent) {
				token = t;
				break;
			}
	}
	if (!token) {
		if (debugOn())
			g_debug("%s: <<< %.*s (dropped: %s)", options_.name.c_str(),
				static_cast<int>(text.size()), text.data(),
				reply->id ? "no command with this id is pending" : "no id");
		return;
	}
	Pending &p = pending_.at(*token);
	if (debugOn()) {
		if (p.sensitive)
			g_debug("%s: <<< reply to %s (%s, redacted)", options_.name.c_str(), p.name.c_str(),
				reply->ok ? "return" : "error");
		else
			g_debug("%s: <<< %.*s", options_.name.c_str(), static_cast<int>(text.size()), text.data());
	}
	if (!reply->id)
		g_warning("%s: QEMU answered %s with an error without id: %s", options_.name.c_str(),
			  p.name.c_str(), reply->errorDesc.c_str());
	if (p.negotiation) {
		forget(*token);
		finishNegotiation(*reply);
		return;
	}
	if (reply->ok)
		complete(*token, std::move(reply->value));
	else
		complete(*token, remoteError(p.name, reply->errorClass, reply->errorDesc));
}

void Session::finishNegotiation(const Reply &reply)
{
	if (!reply.ok) {
		fail(Error(ErrorCode::Remote, "QMP capabilities negotiation failed: " + reply.errorDesc,
			   reply.errorClass));
		return;
	}
	becomeRunning();
}

void Session::handleEvent(JsonObject *message, std::string_view text)
{
	if (debugOn())
		g_debug("%s: <<< %.*s", options_.name.c_str(), static_cast<int>(text.size()), text.data());
	auto event = parseEvent(message);
	if (!event) {
		g_warning("%s: ignoring a malformed QMP event: %s", options_.name.c_str(),
			  event.error().message().c_str());
		return;
	}
	event->wireSize = text.size();
	listener_.sessionEvent(*event);
}

void Session::forget(CommandToken token)
{
	auto it = pending_.find(token);
	if (it == pending_.end())
		return;
	if (!it->second.deadline.none())
		deadlines_.erase({ it->second.deadline.at, token });
	pending_.erase(it);
}

void Session::complete(CommandToken token, Result<JsonNodePtr> result)
{
	forget(token);
	listener_.sessionReply(token, std::move(result));
}

// --- end of the connection ------------------------------------------------

void Session::receiveEof(std::string_view startupDetail)
{
	if (state_ == ConnectionState::Closed)
		return;
	bool truncated = false;
	if (auto frame = splitter_.finish())
		truncated = true;
	if (state_ != ConnectionState::Running) {
		std::string detail(startupDetail);
		if (detail.empty())
			detail = state_ == ConnectionState::AwaitingGreeting
					 ? "the monitor closed the connection before the QMP greeting"
					 : "the monitor closed the connection during capabilities negotiation";
		fail(startupExitError(detail));
		return;
	}
	fail(Error(ErrorCode::Disconnected, truncated
			   ? "QEMU closed the monitor connection in the middle of a message"
			   : "QEMU closed the monitor connection"));
}

void Session::setStartupDeadline(Deadline deadline)
{
	if (state_ == ConnectionState::AwaitingGreeting || state_ == ConnectionState::Negotiating)
		startupDeadline_ = deadline;
}

int64_t Session::nextDeadline() const
{
	int64_t next = startupDeadline_.at;
	if (!deadlines_.empty() && (next < 0 || deadlines_.begin()->first < next))
		next = deadlines_.begin()->first;
	return next;
}

void Session::expire(int64_t now)
{
	if (!startupDeadline_.none() && now >= startupDeadline_.at &&
	    state_ != ConnectionState::Running && state_ != ConnectionState::Closed) {
		std::string within = formatDuration(startupDeadline_.timeout);
		fail(Error(ErrorCode::Timeout,
			   state_ == ConnectionState::AwaitingGreeting
				   ? "no QMP greeting from QEMU within " + within
				   : "QMP capabilities negotiation did not complete within " + within));
		return;
	}
	while (!deadlines_.empty() && deadlines_.begin()->first <= now && state_ != ConnectionState::Closed) {
		CommandToken token = deadlines_.begin()->second;
		const Pending &p = pending_.at(token);
		Error e(ErrorCode::Timeout, p.name + ": no reply from QEMU within " +
						    formatDuration(p.deadline.timeout));
		g_debug("%s: %s (a late reply will be dropped)", options_.name.c_str(), e.message().c_str());
		complete(token, std::move(e));
	}
}

void Session::close(const Error &error)
{
	fail(error);
}

void Session::fail(const Error &error)
{
	if (state_ == ConnectionState::Closed)
		return;
	g_debug("%s: session closed in state %s: %s", options_.name.c_str(), connectionStateName(state_),
		error.message().c_str());
	state_ = ConnectionState::Closed;
	closeError_ = error;
	startupDeadline_ = {};
	for (auto &q : queue_)
		wipe(q.text);
	queue_.clear();
	wipe(output_);
	outputOffset_ = 0;
	// Fail in submission order; the listener may abort() us meanwhile.
	auto pending = std::move(pending_);
	pending_.clear();
	deadlines_.clear();
	for (auto &[token, p] : pending) {
		if (p.negotiation)
			continue;
		listener_.sessionReply(token, error.withContext(p.name));
		if (aborted_)
			return;
	}
	listener_.sessionClosed(error);
}

void Session::abort()
{
	aborted_ = true;
	if (state_ == ConnectionState::Closed)
		return;
	state_ = ConnectionState::Closed;
	closeError_ = Error(ErrorCode::Cancelled, "the QMP connection was closed");
	for (auto &q : queue_)
		wipe(q.text);
	queue_.clear();
	pending_.clear();
	deadlines_.clear();
	wipe(output_);
	outputOffset_ = 0;
}

} // namespace cvm::qmp
