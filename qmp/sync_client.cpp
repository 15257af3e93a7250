// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-qmp"

#include "cvm/qmp/sync_client.h"

namespace cvm::qmp {

SyncClient::SyncClient(ClientOptions options) : context_(g_main_context_new())
{
	options.context = context_.get();
	client_ = std::make_unique<Client>(std::move(options));
	client_->subscribe("", [this](const Event &event) { keepEvent(event); });
	client_->setClosedCallback([this](const Error &) { closed_ = true; });
}

// --- the event buffer -----------------------------------------------------

void SyncClient::dropEvent(const std::string &name, size_t bytes, const char *why)
{
	// The name is the peer's: only its start goes to the log.
	std::string shown = name.substr(0, 64);
	// Loud once per connection, then quiet: a flood must not flood the log.
	if (dropped_++ == 0)
		g_warning("%s: dropping unconsumed QMP event %s (%zu bytes): %s (limits: %zu events, %zu bytes); "
			  "further drops are logged at debug level",
			  client_->name().c_str(), shown.c_str(), bytes, why, limits_.maxEvents, limits_.maxBytes);
	else
		g_debug("%s: dropping unconsumed QMP event %s (%zu bytes): %s", client_->name().c_str(),
			shown.c_str(), bytes, why);
}

// Drops the oldest events until `events` more, of `bytes` on the wire, fit.
void SyncClient::makeRoom(size_t events, size_t bytes)
{
	while (!events_.empty() && (events_.size() + events > limits_.maxEvents ||
				    bufferedBytes_ + bytes > limits_.maxBytes)) {
		Event &oldest = events_.front();
		bufferedBytes_ -= oldest.wireSize;
		dropEvent(oldest.name, oldest.wireSize, "the event buffer is full");
		events_.pop_front();
	}
}

void SyncClient::keepEvent(const Event &event)
{
	if (event.wireSize > limits_.maxBytes || limits_.maxEvents == 0) {
		dropEvent(event.name, event.wireSize,
			  limits_.maxEvents == 0 ? "the event buffer keeps none" : "larger than the whole event buffer");
		return;
	}
	makeRoom(1, event.wireSize);
	events_.push_back(event.clone());
	bufferedBytes_ += event.wireSize;
}

void SyncClient::setEventBufferLimits(EventBufferLimits limits)
{
	limits_ = limits;
	makeRoom(0, 0);
}

SyncClient::~SyncClient()
{
	client_.reset();
	// Let sources released by the client finalize on their own context.
	while (g_main_context_iteration(context_.get(), FALSE)) {
	}
}

Result<std::unique_ptr<SyncClient>> SyncClient::start(
	Milliseconds timeout, ClientOptions options,
	const std::function<void(Client &, Client::ReadyCallback)> &begin)
{
	options.startupTimeout = timeout;
	std::unique_ptr<SyncClient> self(new SyncClient(std::move(options)));
	bool done = false;
	Status status;
	begin(*self->client_, [&](const Status &s) {
		status = s;
		done = true;
	});
	while (!done)
		g_main_context_iteration(self->context_.get(), TRUE);
	if (!status)
		return status.error();
	return self;
}

Result<std::unique_ptr<SyncClient>> SyncClient::connect(const std::string &socketPath, Milliseconds timeout,
							ClientOptions options)
{
	return start(timeout, std::move(options), [&](Client &client, Client::ReadyCallback ready) {
		client.connect(socketPath, std::move(ready));
	});
}

Result<std::unique_ptr<SyncClient>> SyncClient::adoptFd(UniqueFd fd, Milliseconds timeout, ClientOptions options)
{
	return start(timeout, std::move(options), [&](Client &client, Client::ReadyCallback ready) {
		client.adoptFd(std::move(fd), std::move(ready));
	});
}

Result<JsonNodePtr> SyncClient::waitReply(const std::function<void(Client::ReplyCallback)> &send)
{
	bool done = false;
	std::optional<Result<JsonNodePtr>> result;
	send([&](Result<JsonNodePtr> reply) {
		result.emplace(std::move(reply));
		done = true;
	});
	while (!done)
		g_main_context_iteration(context_.get(), TRUE);
	return std::move(*result);
}

Result<JsonNodePtr> SyncClient::execute(std::string_view command, JsonObject *arguments, Milliseconds timeout)
{
	return waitReply([&](Client::ReplyCallback reply) {
		client_->execute(command, arguments, std::move(reply), timeout);
	});
}

Result<JsonNodePtr> SyncClient::executeMessage(JsonObject *message, Milliseconds timeout)
{
	return waitReply([&](Client::ReplyCallback reply) {
		client_->executeMessage(message, std::move(reply), timeout);
	});
}

std::optional<Event> SyncClient::takeEvent(std::string_view name)
{
	for (auto it = events_.begin(); it != events_.end(); ++it) {
		if (it->name == name) {
			Event e = std::move(*it);
			events_.erase(it);
			bufferedBytes_ -= e.wireSize;
			return e;
		}
	}
	return std::nullopt;
}

Result<Event> SyncClient::waitForEvent(std::string_view name, Milliseconds timeout)
{
	// No wait: what has arrived is processed, and that is all.
	bool expired = timeout.count() <= 0;
	if (expired)
		poll();
	GSourcePtr timer;
	if (!expired) {
		timer.reset(g_timeout_source_new(static_cast<guint>(timeout.count())));
		g_source_set_callback(timer.get(), [](gpointer data) -> gboolean {
			*static_cast<bool *>(data) = true;
			return G_SOURCE_REMOVE;
		}, &expired, nullptr);
		g_source_attach(timer.get(), context_.get());
	}
	for (;;) {
		if (auto e = takeEvent(name))
			return std::move(*e);
		if (closed_ || client_->state() == ConnectionState::Closed) {
			const auto &why = client_->closeError();
			std::string reason = why ? why->message() : "the connection is closed";
			return Error(ErrorCode::Disconnected,
				     "no " + std::string(name) + " event before the connection ended: " + reason);
		}
		if (expired)
			return Error(ErrorCode::Timeout,
				     timeout.count() <= 0
					     ? "no " + std::string(name) + " event has arrived"
					     : "no " + std::string(name) + " event within " +
						       formatDuration(timeout.count() * 1000));
		g_main_context_iteration(context_.get(), TRUE);
	}
}

std::vector<Event> SyncClient::takeEvents()
{
	poll();
	std::vector<Event> out;
	for (auto &e : events_)
		out.push_back(std::move(e));
	events_.clear();
	bufferedBytes_ = 0;
	return out;
}

void SyncClient::poll()
{
	while (g_main_context_iteration(context_.get(), FALSE)) {
	}
}

} // namespace cvm::qmp
