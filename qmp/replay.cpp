// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-qmp-replay"

#include "cvm/qmp/replay.h"

#include <deque>
#include <map>

#include <unistd.h>

#include "cvm/common/json.h"
#include "cvm/qmp/json_splitter.h"
#include "cvm/qmp/unix_socket.h"
#include "cvm/qmp/wire.h"

namespace cvm::qmp {

namespace {

JsonNodePtr ref(JsonNode *node)
{
	return JsonNodePtr(node ? json_node_ref(node) : nullptr);
}

bool isWildcard(JsonNode *node)
{
	return JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == G_TYPE_STRING &&
	       kRedacted == json_node_get_string(node);
}

bool matches(JsonNode *expected, JsonNode *actual);

// Same members, each matching; `skip` (if any) left out on both sides.
bool objectsMatch(JsonObject *expected, JsonObject *actual, const char *skip)
{
	auto size = [skip](JsonObject *o) {
		return json_object_get_size(o) - (skip && json_object_has_member(o, skip) ? 1 : 0);
	};
	if (size(expected) != size(actual))
		return false;
	GList *members = json_object_get_members(expected);
	bool same = true;
	for (GList *l = members; l && same; l = l->next) {
		const char *key = static_cast<const char *>(l->data);
		if (skip && g_str_equal(key, skip))
			continue;
		JsonNode *a = json_object_get_member(actual, key);
		same = a && matches(json_object_get_member(expected, key), a);
	}
	g_list_free(members);
	return same;
}

// Equal as JSON, except that "<redacted>" (a recorded secret) stands for any
// value.
bool matches(JsonNode *expected, JsonNode *actual)
{
	if (isWildcard(expected))
		return true;
	if (JSON_NODE_HOLDS_OBJECT(expected) && JSON_NODE_HOLDS_OBJECT(actual))
		return objectsMatch(json_node_get_object(expected), json_node_get_object(actual), nullptr);
	if (JSON_NODE_HOLDS_ARRAY(expected) && JSON_NODE_HOLDS_ARRAY(actual)) {
		JsonArray *e = json_node_get_array(expected), *a = json_node_get_array(actual);
		guint n = json_array_get_length(e);
		if (n != json_array_get_length(a))
			return false;
		for (guint i = 0; i < n; ++i)
			if (!matches(json_array_get_element(e, i), json_array_get_element(a, i)))
				return false;
		return true;
	}
	return json_node_equal(expected, actual);
}

// The top-level "id" left out on both sides.
bool sameIgnoringId(JsonObject *expected, JsonObject *actual)
{
	return objectsMatch(expected, actual, "id");
}

std::string printable(std::string_view bytes)
{
	std::string out;
	for (unsigned char c : bytes) {
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			out.push_back(static_cast<char>(c));
		} else {
			char buf[8];
			snprintf(buf, sizeof(buf), "\\x%02x", c);
			out += buf;
		}
	}
	return out;
}

bool isBlank(std::string_view s)
{
	return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

} // namespace

// One connection's walk through the transcript (on the server thread).
class ReplayServer::Player
{
public:
	Player(ReplayServer &server, GObjectPtr<GSocket> socket)
		: server_(server), transcript_(server.transcript_), socket_(std::move(socket)),
		  splitter_(SplitterLimits{ kDefaultMaxMessageSize, kDefaultMaxNesting, true })
	{
	}

	Status play();

private:
	Status send(const TranscriptEntry &entry);
	Status expectMessage(const TranscriptEntry &entry);
	Status expectRaw(const TranscriptEntry &entry);
	Status finishConversation();
	// Reads more bytes into buffer_; false at EOF.
	Result<bool> readMore(const std::string &waitingFor);
	Result<std::optional<std::string>> nextValue(const std::string &waitingFor);
	Status writeAll(std::string_view bytes);
	void rejectWithError(JsonNode *clientId, const std::string &why);
	Error unusedExpectations(size_t from, const std::string &why) const;

	ReplayServer &server_;
	const Transcript &transcript_;
	GObjectPtr<GSocket> socket_;
	JsonSplitter splitter_;
	std::string buffer_;
	size_t index_ = 0;
	bool clientGone_ = false;
	// Recorded id (idKey) -> the id the client used; client ids of recorded
	// commands that had none, oldest first.
	std::map<std::string, JsonNodePtr> ids_;
	std::deque<JsonNodePtr> idless_;
};

Status ReplayServer::Player::play()
{
	const auto &entries = transcript_.entries();
	for (index_ = 0; index_ < entries.size(); ++index_) {
		const TranscriptEntry &e = entries[index_];
		switch (e.kind) {
		case TranscriptKind::ServerMessage:
			CVM_CHECK(send(e));
			break;
		case TranscriptKind::ClientMessage:
			CVM_CHECK(expectMessage(e));
			break;
		case TranscriptKind::ClientRaw:
			CVM_CHECK(expectRaw(e));
			break;
		case TranscriptKind::Meta:
		case TranscriptKind::Note:
			break;
		}
	}
	return finishConversation();
}

Status ReplayServer::Player::writeAll(std::string_view bytes)
{
	while (!bytes.empty() && !clientGone_) {
		GError *raw = nullptr;
		gssize n = g_socket_send_with_blocking(socket_.get(), bytes.data(), bytes.size(), TRUE,
						       server_.cancellable_.get(), &raw);
		GErrorPtr error(raw);
		if (n < 0) {
			if (g_error_matches(error.get(), G_IO_ERROR, G_IO_ERROR_CANCELLED))
				return Error(ErrorCode::Cancelled, "the replay was stopped");
			// The client went away; the next expectation reports it.
			clientGone_ = true;
			break;
		}
		bytes.remove_prefix(static_cast<size_t>(n));
	}
	return {};
}

Status ReplayServer::Player::send(const TranscriptEntry &entry)
{
	JsonObject *recorded = entry.object();
	MessageKind kind = classify(recorded);
	JsonObjectPtr out(json_object_new());
	GList *members = json_object_get_members(recorded);
	for (GList *l = members; l; l = l->next) {
		const char *key = static_cast<const char *>(l->data);
		if (!g_str_equal(key, "id"))
			json_object_set_member(out.get(), key, json_node_copy(json_object_get_member(recorded, key)));
	}
	g_list_free(members);
	if (kind == MessageKind::Return || kind == MessageKind::Error) {
		JsonNodePtr id;
		if (JsonNode *recordedId = messageId(recorded)) {
			auto it = ids_.find(idKey(recordedId));
			// An id we never saw (e.g. sent in raw input): as recorded.
			id = it != ids_.end() ? ref(it->second.get()) : ref(recordedId);
		} else if (!idless_.empty()) {
			id = std::move(idless_.front());
			idless_.pop_front();
		}
		if (id)
			json_object_set_member(out.get(), "id", json_node_ref(id.get()));
	}
	return writeAll(frameServerMessage(json::serialize(out.get())));
}

Result<bool> ReplayServer::Player::readMore(const std::string &waitingFor)
{
	if (clientGone_)
		return false;
	GError *raw = nullptr;
	gint64 timeoutUs = server_.waitUs();
	if (!g_socket_condition_timed_wait(socket_.get(), G_IO_IN, timeoutUs, server_.cancellable_.get(), &raw)) {
		GErrorPtr error(raw);
		if (g_error_matches(error.get(), G_IO_ERROR, G_IO_ERROR_CANCELLED))
			return Error(ErrorCode::Cancelled, "the replay was stopped");
		return Error(ErrorCode::Timeout, "the client sent nothing within " +
							 formatDuration(timeoutUs) + " (expected " + waitingFor + ")");
	}
	char chunk[64 * 1024];
	gssize n = g_socket_receive_with_blocking(socket_.get(), chunk, sizeof(chunk), FALSE, nullptr, &raw);
	GErrorPtr error(raw);
	if (n < 0 && g_error_matches(error.get(), G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
		return true;
	if (n <= 0) {
		clientGone_ = true;
		return false;
	}
	buffer_.append(chunk, static_cast<size_t>(n));
	return true;
}

Result<std::optional<std::string>> ReplayServer::Player::nextValue(const std::string &waitingFor)
{
	for (;;) {
		while (!buffer_.empty()) {
			std::optional<Frame> frame;
			size_t used = splitter_.consume(buffer_, frame);
			buffer_.erase(0, used);
			if (frame && frame->isError())
				return Error(ErrorCode::Protocol, "the client sent invalid JSON (" +
									  frame->error.message() + ")");
			if (frame)
				return std::optional<std::string>(std::move(frame->text));
			if (used == 0)
				break;
		}
		if (!CVM_TRY(readMore(waitingFor)))
			return std::optional<std::string>();
	}
}

Error ReplayServer::Player::unusedExpectations(size_t from, const std::string &why) const
{
	const auto &entries = transcript_.entries();
	size_t count = 0;
	const TranscriptEntry *first = nullptr;
	for (size_t i = from; i < entries.size(); ++i) {
		if (entries[i].kind == TranscriptKind::ClientMessage || entries[i].kind == TranscriptKind::ClientRaw) {
			if (!first)
				first = &entries[i];
			++count;
		}
	}
	std::string what = first->kind == TranscriptKind::ClientRaw ? "raw bytes \"" + printable(first->text) + "\""
								      : json::serialize(first->object());
	return Error(ErrorCode::Protocol, transcript_.location(*first) + ": " + why + ": " +
						  std::to_string(count) + " recorded client message" +
						  (count == 1 ? " was" : "s were") + " never sent, the first: " + what);
}

void ReplayServer::Player::rejectWithError(JsonNode *clientId, const std::string &why)
{
	(void)writeAll(frameServerMessage(buildErrorReply("GenericError", "replay mismatch: " + why, clientId)));
}

Status ReplayServer::Player::expectMessage(const TranscriptEntry &entry)
{
	std::string expected = json::serialize(entry.object());
	auto text = nextValue(expected);
	if (!text)
		return text.error().withContext(transcript_.location(entry));
	if (!*text)
		return unusedExpectations(index_, "the client closed the connection");
	auto node = json::parse(**text);
	if (!node || !JSON_NODE_HOLDS_OBJECT(node->get())) {
		std::string why = transcript_.location(entry) + ": expected " + expected +
				  ", the client sent " + **text + " (not a JSON object)";
		rejectWithError(nullptr, why);
		return Error(ErrorCode::Protocol, why);
	}
	JsonObject *actual = json_node_get_object(node->get());
	JsonNode *clientId = messageId(actual);
	if (!sameIgnoringId(entry.object(), actual)) {
		std::string why = transcript_.location(entry) + ": expected " + expected +
				  ", the client sent " + **text;
		rejectWithError(clientId, why);
		return Error(ErrorCode::Protocol, why);
	}
	if (JsonNode *recordedId = messageId(entry.object()))
		ids_[idKey(recordedId)] = ref(clientId);
	else
		idless_.push_back(ref(clientId));
	++server_.matched_;
	return {};
}

Status ReplayServer::Player::expectRaw(const TranscriptEntry &entry)
{
	const std::string &raw = entry.text;
	std::string expected = "raw bytes \"" + printable(raw) + "\"";
	// What separated the previous message from this one is not part of it.
	if (!raw.empty() && !isBlank(raw.substr(0, 1))) {
		while (!buffer_.empty() && isBlank(buffer_.substr(0, 1)))
			buffer_.erase(0, 1);
	}
	while (buffer_.size() < raw.size()) {
		auto more = readMore(expected);
		if (!more)
			return more.error().withContext(transcript_.location(entry));
		if (!*more) {
			if (buffer_.empty())
				return unusedExpectations(index_, "the client closed the connection");
			break;
		}
		if (buffer_.compare(0, std::min(buffer_.size(), raw.size()), raw, 0,
				    std::min(buffer_.size(), raw.size())) != 0)
			break;
	}
	if (buffer_.compare(0, raw.size(), raw) != 0) {
		std::string why = transcript_.location(entry) + ": expected " + expected +
				  ", the client sent \"" + printable(buffer_.substr(0, raw.size() + 16)) + "\"";
		rejectWithError(nullptr, why);
		return Error(ErrorCode::Protocol, why);
	}
	buffer_.erase(0, raw.size());
	// Raw input may leave the stream anywhere: start framing afresh.
	splitter_.reset();
	++server_.matched_;
	return {};
}

Status ReplayServer::Player::finishConversation()
{
	auto extra = [&](std::string_view what) {
		return Error(ErrorCode::Protocol, transcript_.name() + ": after the end of the transcript the client sent " +
							  std::string(what));
	};
	if (!isBlank(buffer_))
		return extra(buffer_.substr(0, 200));
	if (server_.options_.closeAtEnd)
		return {};
	auto text = nextValue("the client to close the connection");
	if (!text)
		return text.error().withContext(transcript_.name());
	if (*text)
		return extra(**text);
	return {};
}

// --- the server -----------------------------------------------------------

ReplayServer::ReplayServer(Transcript transcript, ReplayOptions options)
	: transcript_(std::move(transcript)), options_(std::move(options)), cancellable_(g_cancellable_new())
{
}

Result<std::unique_ptr<ReplayServer>> ReplayServer::start(Transcript transcript, ReplayOptions options)
{
	std::unique_ptr<ReplayServer> server(new ReplayServer(std::move(transcript), std::move(options)));
	server->path_ = server->options_.socketPath;
	if (server->path_.empty()) {
		server->dir_.emplace(CVM_TRY(TempDir::create("cvm-qmp-replay-")));
		server->path_ = server->dir_->file("qmp.sock");
	}
	server->listener_ = CVM_TRY(listenUnixSocket(server->path_, 1));
	server->thread_ = std::thread([s = server.get()] { s->run(); });
	return server;
}

void ReplayServer::run()
{
	auto play = [this]() -> Status {
		GError *raw = nullptr;
		gint64 timeoutUs = waitUs();
		if (!g_socket_condition_timed_wait(listener_.get(), G_IO_IN, timeoutUs, cancellable_.get(), &raw)) {
			GErrorPtr error(raw);
			return Error(ErrorCode::Timeout, transcript_.name() + ": no client connected within " +
								 formatDuration(timeoutUs));
		}
		GObjectPtr<GSocket> socket(g_socket_accept(listener_.get(), cancellable_.get(), &raw));
		if (!socket) {
			GErrorPtr error(raw);
			return Error::fromGError(error.get(), transcript_.name() + ": accept failed");
		}
		g_debug("replaying %s on %s", transcript_.name().c_str(), path_.c_str());
		Player player(*this, std::move(socket));
		return player.play();
	};
	Status verdict = play();
	{
		std::lock_guard<std::mutex> lock(mutex_);
		if (!verdict)
			failure_ = verdict.error();
		done_ = true;
	}
	finished_.notify_all();
}

Status ReplayServer::finish(Milliseconds timeout)
{
	std::unique_lock<std::mutex> lock(mutex_);
	if (!finished_.wait_for(lock, timeout, [this] { return done_; })) {
		lock.unlock();
		g_cancellable_cancel(cancellable_.get());
		if (thread_.joinable())
			thread_.join();
		return Error(ErrorCode::Timeout, transcript_.name() + ": the replay did not finish within " +
							 formatDuration(timeout.count() * 1000));
	}
	lock.unlock();
	if (thread_.joinable())
		thread_.join();
	if (failure_)
		return *failure_;
	return {};
}

ReplayServer::~ReplayServer()
{
	g_cancellable_cancel(cancellable_.get());
	if (thread_.joinable())
		thread_.join();
	if (listener_)
		g_socket_close(listener_.get(), nullptr);
	if (!dir_ && !path_.empty())
		unlink(path_.c_str());
}

} // namespace cvm::qmp
