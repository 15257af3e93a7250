// SPDX-License-Identifier: Apache-2.0
//
// The transport half of the client: connecting (with the start-up retry
// loop), one timer for every deadline and the process watch; bytes move
// through a Connection (connection.h). The protocol is Session's; this file
// only moves bytes and time into it and results out.
//
// Lifetime: Impl is shared; every GSource callback takes a strong reference
// for the duration of its dispatch, so a user callback may destroy the Client
// (Impl::shutdown() then aborts the session and destroys the sources, and the
// dispatch unwinds without touching anything else).
#define G_LOG_DOMAIN "cvm-qmp"

#include "cvm/qmp/client.h"

#include <deque>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cvm/qmp/unix_socket.h"
#include "connection.h"
#include "process_watch.h"

namespace cvm::qmp {

namespace {

constexpr int64_t kRetryIntervalUs = 20 * 1000;
// After an EOF during start-up, how long to wait for the process to exit so
// that its status can be reported.
constexpr int64_t kExitGraceUs = 5 * G_USEC_PER_SEC;

int64_t toUs(Milliseconds ms)
{
	return static_cast<int64_t>(ms.count()) * 1000;
}

gboolean dispatchAtReadyTime(GSource *source, GSourceFunc callback, gpointer data)
{
	g_source_set_ready_time(source, -1);
	return callback ? callback(data) : G_SOURCE_CONTINUE;
}

GSourceFuncs timerFuncs = { nullptr, nullptr, dispatchAtReadyTime, nullptr, nullptr, nullptr };

// A source that fires at a settable monotonic time (one for all deadlines).
GSourcePtr newTimerSource(GMainContext *context, GSourceFunc callback, gpointer data)
{
	GSourcePtr source(g_source_new(&timerFuncs, sizeof(GSource)));
	g_source_set_callback(source.get(), callback, data, nullptr);
	g_source_set_ready_time(source.get(), -1);
	g_source_attach(source.get(), context);
	return source;
}

GSourcePtr attachSource(GSource *raw, GMainContext *context, GSourceFunc callback, gpointer data,
			int priority = G_PRIORITY_DEFAULT)
{
	GSourcePtr source(raw);
	g_source_set_callback(source.get(), callback, data, nullptr);
	g_source_set_priority(source.get(), priority);
	g_source_attach(source.get(), context);
	return source;
}

GMainContextPtr contextOf(GMainContext *context)
{
	return GMainContextPtr(context ? g_main_context_ref(context) : g_main_context_ref_thread_default());
}

} // namespace

class Client::Impl final : public std::enable_shared_from_this<Impl>,
		     private SessionListener,
		     private Connection::Handler
{
public:
	explicit Impl(ClientOptions options);

	void connect(const std::string &path, ReadyCallback ready);
	void adopt(GObjectPtr<GIOStream> stream, ReadyCallback ready, std::string name);
	void adoptFd(UniqueFd fd, ReadyCallback ready);
	void execute(Result<CommandToken> token, ReplyCallback reply);
	Deadline commandDeadline(std::optional<Milliseconds> timeout) const;
	Session &session() { return session_; }

	SubscriptionId subscribe(std::string_view event, EventCallback callback);
	void unsubscribe(SubscriptionId id);
	void setClosedCallback(ClosedCallback callback) { closed_ = std::move(callback); }

	ConnectionState state() const;
	const std::string &name() const { return name_; }
	void close();
	void shutdown();

private:
	struct Subscriber {
		SubscriptionId id;
		std::string event;
		std::shared_ptr<EventCallback> callback;
	};

	bool begin(ReadyCallback &ready, std::string defaultName);
	void tryConnect();
	void attach(GObjectPtr<GIOStream> stream);
	void onProcessExit();
	void handleEof();
	void finishStartupEof();
	void flushOutput();
	void afterActivity();
	void rearmTimer();
	void stopIo();
	void defer(std::function<void()> fn);

	static gboolean onTimer(gpointer data);
	static gboolean onRetry(gpointer data);
	static gboolean onExitGrace(gpointer data);
	static gboolean onDeferred(gpointer data);

	void sessionReady(const Greeting &greeting) override;
	void sessionEvent(const Event &event) override;
	void sessionReply(CommandToken token, Result<JsonNodePtr> reply) override;
	void sessionClosed(const Error &error) override;

	void connectionData(std::string_view bytes) override;
	void connectionEof() override;
	void connectionError(const Error &error) override;

	ClientOptions options_;
	GMainContextPtr context_;
	Session session_;
	ProcessWatch process_;
	std::string name_;
	std::string socketPath_;
	Deadline startup_;
	bool started_ = false;
	bool attached_ = false;
	bool shutdown_ = false;
	bool eofPending_ = false;

	std::unique_ptr<Connection> connection_;
	// A connection that ended is kept until the Impl goes: it may be ending
	// from within its own callback.
	std::unique_ptr<Connection> retired_;
	GSourcePtr timerSource_;
	GSourcePtr retrySource_;
	GSourcePtr graceSource_;
	GSourcePtr deferredSource_;
	std::deque<std::function<void()>> deferred_;

	ReadyCallback ready_;
	ClosedCallback closed_;
	std::unordered_map<CommandToken, ReplyCallback> replies_;
	std::vector<Subscriber> subscribers_;
	SubscriptionId nextSubscription_ = 1;
};

Client::Impl::Impl(ClientOptions options)
	: options_(std::move(options)), context_(contextOf(options_.context)),
	  session_(*this, SessionOptions{ options_.maxMessageSize, options_.negotiate,
					  options_.name.empty() ? "qmp" : options_.name }),
	  process_(context_.get(), options_.process, options_.pid), name_(options_.name)
{
	timerSource_ = newTimerSource(context_.get(), onTimer, this);
}

// --- starting -------------------------------------------------------------

bool Client::Impl::begin(ReadyCallback &ready, std::string defaultName)
{
	if (started_ || session_.state() == ConnectionState::Closed) {
		defer([ready = std::move(ready)] {
			if (ready)
				ready(Error(ErrorCode::InvalidArgument, "the QMP client was already started"));
		});
		return false;
	}
	started_ = true;
	ready_ = std::move(ready);
	if (name_.empty())
		name_ = std::move(defaultName);
	session_.setName(name_);
	startup_ = Deadline::after(g_get_monotonic_time(), toUs(options_.startupTimeout));
	if (process_.watching())
		process_.start([this] { onProcessExit(); });
	return true;
}

void Client::Impl::connect(const std::string &path, ReadyCallback ready)
{
	if (!begin(ready, "qmp " + path))
		return;
	socketPath_ = path;
	defer([this] { tryConnect(); });
}

void Client::Impl::adopt(GObjectPtr<GIOStream> stream, ReadyCallback ready, std::string name)
{
	if (!begin(ready, std::move(name)))
		return;
	auto shared = std::make_shared<GObjectPtr<GIOStream>>(std::move(stream));
	defer([this, shared] { attach(std::move(*shared)); });
}

void Client::Impl::adoptFd(UniqueFd fd, ReadyCallback ready)
{
	std::string name = "qmp fd " + std::to_string(fd.get());
	auto connection = socketConnectionFromFd(std::move(fd));
	if (!connection) {
		if (!begin(ready, name))
			return;
		Error e = connection.error();
		defer([this, e] { session_.close(e); });
		return;
	}
	adopt(GObjectPtr<GIOStream>(G_IO_STREAM(connection->release())), std::move(ready), name);
}

void Client::Impl::tryConnect()
{
	if (session_.state() == ConnectionState::Closed)
		return;
	retrySource_.reset();
	auto connection = connectUnixSocket(socketPath_);
	if (connection) {
		attach(GObjectPtr<GIOStream>(G_IO_STREAM(connection->release())));
		return;
	}
	Error error = connection.error();
	bool retryable = options_.waitForSocket &&
			 (error.code() == ErrorCode::NotFound || error.code() == ErrorCode::Disconnected);
	if (retryable && process_.exited()) {
		session_.close(startupExitError(process_.describe()));
		return;
	}
	int64_t now = g_get_monotonic_time();
	if (retryable && (startup_.none() || now + kRetryIntervalUs < startup_.at)) {
		retrySource_ = attachSource(g_timeout_source_new(kRetryIntervalUs / 1000), context_.get(),
					    onRetry, this);
		return;
	}
	if (retryable)
		error = Error(ErrorCode::Timeout,
			      error.message() + " (waited " + formatDuration(startup_.timeout) + ")");
	session_.close(error);
}

void Client::Impl::attach(GObjectPtr<GIOStream> stream)
{
	if (session_.state() == ConnectionState::Closed)
		return;
	auto connection = Connection::create(stream.get(), context_.get(), *this);
	if (!connection) {
		session_.close(connection.error());
		return;
	}
	connection_ = std::move(connection).value();
	attached_ = true;
	session_.setStartupDeadline(startup_);
	afterActivity();
}

void Client::Impl::onProcessExit()
{
	if (shutdown_)
		return;
	auto keep = shared_from_this();
	g_debug("%s: the QEMU process ended (%s)", name_.c_str(), process_.describe().c_str());
	if (eofPending_)
		finishStartupEof();
	else if (!attached_ && session_.state() != ConnectionState::Closed)
		session_.close(startupExitError(process_.describe()));
}

// --- reading --------------------------------------------------------------

void Client::Impl::connectionData(std::string_view bytes)
{
	auto keep = shared_from_this();
	session_.receive(bytes);
	afterActivity();
}

void Client::Impl::connectionEof()
{
	auto keep = shared_from_this();
	handleEof();
}

void Client::Impl::connectionError(const Error &error)
{
	// The peer went away while we wrote (EPIPE): what it sent before has
	// been read, so this ends like an EOF (during start-up, too).
	auto keep = shared_from_this();
	g_debug("%s: %s", name_.c_str(), error.message().c_str());
	if (connection_)
		connection_->setReading(false);
	handleEof();
}

void Client::Impl::handleEof()
{
	ConnectionState s = session_.state();
	if (s == ConnectionState::Running || s == ConnectionState::Closed || !process_.watching()) {
		session_.receiveEof();
		return;
	}
	if (process_.exited()) {
		session_.receiveEof(process_.describe());
		return;
	}
	// The monitor closed first; the exit status follows shortly.
	eofPending_ = true;
	graceSource_ = attachSource(g_timeout_source_new(kExitGraceUs / 1000), context_.get(), onExitGrace,
				    this);
}

void Client::Impl::finishStartupEof()
{
	eofPending_ = false;
	graceSource_.reset();
	std::string detail = process_.exited()
				     ? process_.describe()
				     : "its monitor closed the connection and the process still runs after " +
					       formatDuration(kExitGraceUs);
	session_.receiveEof(detail);
}

gboolean Client::Impl::onExitGrace(gpointer data)
{
	auto self = static_cast<Impl *>(data)->shared_from_this();
	self->finishStartupEof();
	return G_SOURCE_REMOVE;
}

// --- writing and time -----------------------------------------------------

void Client::Impl::flushOutput()
{
	if (!connection_ || shutdown_)
		return;
	while (session_.hasOutput()) {
		std::string_view pending = session_.pendingOutput();
		connection_->write(pending);
		session_.consumeOutput(pending.size());
	}
}

void Client::Impl::rearmTimer()
{
	if (!timerSource_)
		return;
	// The timer only ever moves earlier. Every change of a ready time wakes
	// the context up (an eventfd write, and a poll that returns at once):
	// re-arming for each command and disarming for each reply cost every
	// round trip that twice. Left armed for a deadline that has gone, it
	// fires early, finds nothing due and is armed for the next one.
	int64_t next = session_.nextDeadline();
	int64_t armed = g_source_get_ready_time(timerSource_.get());
	if (next >= 0 && (armed < 0 || next < armed))
		g_source_set_ready_time(timerSource_.get(), next);
}

void Client::Impl::afterActivity()
{
	if (shutdown_)
		return;
	flushOutput();
	rearmTimer();
}

gboolean Client::Impl::onTimer(gpointer data)
{
	auto self = static_cast<Impl *>(data)->shared_from_this();
	self->session_.expire(g_get_monotonic_time());
	self->afterActivity();
	return G_SOURCE_CONTINUE;
}

gboolean Client::Impl::onRetry(gpointer data)
{
	auto self = static_cast<Impl *>(data)->shared_from_this();
	self->tryConnect();
	return G_SOURCE_REMOVE;
}

void Client::Impl::defer(std::function<void()> fn)
{
	deferred_.push_back(std::move(fn));
	if (!deferredSource_)
		deferredSource_ = attachSource(g_idle_source_new(), context_.get(), onDeferred, this);
}

gboolean Client::Impl::onDeferred(gpointer data)
{
	auto self = static_cast<Impl *>(data)->shared_from_this();
	while (!self->deferred_.empty() && !self->shutdown_) {
		auto fn = std::move(self->deferred_.front());
		self->deferred_.pop_front();
		fn();
		self->afterActivity();
	}
	self->deferredSource_.reset();
	return G_SOURCE_REMOVE;
}

// --- commands and events --------------------------------------------------

Deadline Client::Impl::commandDeadline(std::optional<Milliseconds> timeout) const
{
	return Deadline::after(g_get_monotonic_time(), toUs(timeout.value_or(options_.commandTimeout)));
}

void Client::Impl::execute(Result<CommandToken> token, ReplyCallback reply)
{
	if (!token) {
		Error e = token.error();
		defer([reply = std::move(reply), e] {
			if (reply)
				reply(e);
		});
		return;
	}
	replies_.emplace(*token, std::move(reply));
	afterActivity();
}

Client::SubscriptionId Client::Impl::subscribe(std::string_view event, EventCallback callback)
{
	SubscriptionId id = nextSubscription_++;
	subscribers_.push_back({ id, std::string(event), std::make_shared<EventCallback>(std::move(callback)) });
	return id;
}

void Client::Impl::unsubscribe(SubscriptionId id)
{
	std::erase_if(subscribers_, [id](const Subscriber &s) { return s.id == id; });
}

void Client::Impl::sessionReady(const Greeting &)
{
	if (auto ready = std::exchange(ready_, nullptr))
		ready(Status());
}

void Client::Impl::sessionEvent(const Event &event)
{
	std::vector<std::pair<SubscriptionId, std::shared_ptr<EventCallback>>> targets;
	for (const auto &s : subscribers_)
		if (s.event.empty() || s.event == event.name)
			targets.emplace_back(s.id, s.callback);
	for (auto &[id, callback] : targets) {
		if (shutdown_)
			return;
		bool subscribed = std::any_of(subscribers_.begin(), subscribers_.end(),
					      [id = id](const Subscriber &s) { return s.id == id; });
		if (subscribed && *callback)
			(*callback)(event);
	}
}

void Client::Impl::sessionReply(CommandToken token, Result<JsonNodePtr> reply)
{
	auto it = replies_.find(token);
	if (it == replies_.end())
		return;
	ReplyCallback callback = std::move(it->second);
	replies_.erase(it);
	if (callback)
		callback(std::move(reply));
}

void Client::Impl::sessionClosed(const Error &error)
{
	stopIo();
	if (auto ready = std::exchange(ready_, nullptr))
		ready(error);
	if (shutdown_)
		return;
	if (auto closed = std::exchange(closed_, nullptr))
		closed(error);
}

// --- the end --------------------------------------------------------------

void Client::Impl::stopIo()
{
	retrySource_.reset();
	graceSource_.reset();
	if (timerSource_)
		g_source_set_ready_time(timerSource_.get(), -1);
	if (connection_) {
		connection_->setReading(false);
		// The peer sees EOF now.
		g_io_stream_close(connection_->stream(), nullptr, nullptr);
		retired_ = std::move(connection_);
	}
}

ConnectionState Client::Impl::state() const
{
	ConnectionState s = session_.state();
	if (s != ConnectionState::Closed && !attached_)
		return ConnectionState::Connecting;
	return s;
}

void Client::Impl::close()
{
	if (session_.state() == ConnectionState::Closed)
		return;
	auto keep = shared_from_this();
	session_.close(Error(ErrorCode::Cancelled, "the QMP connection was closed"));
}

void Client::Impl::shutdown()
{
	shutdown_ = true;
	session_.abort();
	stopIo();
	timerSource_.reset();
	deferredSource_.reset();
	deferred_.clear();
	replies_.clear();
	subscribers_.clear();
	ready_ = nullptr;
	closed_ = nullptr;
}

// --- Client ---------------------------------------------------------------

Client::Client(ClientOptions options) : impl_(std::make_shared<Impl>(std::move(options))) {}

Client::~Client()
{
	impl_->shutdown();
}

void Client::connect(const std::string &socketPath, ReadyCallback ready)
{
	impl_->connect(socketPath, std::move(ready));
}

void Client::adopt(GIOStream *stream, ReadyCallback ready)
{
	impl_->adopt(gobjectRef(stream), std::move(ready), "qmp");
}

void Client::adoptFd(UniqueFd fd, ReadyCallback ready)
{
	impl_->adoptFd(std::move(fd), std::move(ready));
}

void Client::execute(std::string_view command, JsonObject *arguments, ReplyCallback reply,
		     std::optional<Milliseconds> timeout)
{
	impl_->execute(impl_->session().submit(command, arguments, impl_->commandDeadline(timeout)),
		       std::move(reply));
}

void Client::executeMessage(JsonObject *message, ReplyCallback reply, std::optional<Milliseconds> timeout)
{
	impl_->execute(impl_->session().submitMessage(message, impl_->commandDeadline(timeout)),
		       std::move(reply));
}

Client::SubscriptionId Client::subscribe(std::string_view event, EventCallback callback)
{
	return impl_->subscribe(event, std::move(callback));
}

void Client::unsubscribe(SubscriptionId id)
{
	impl_->unsubscribe(id);
}

void Client::setClosedCallback(ClosedCallback callback)
{
	impl_->setClosedCallback(std::move(callback));
}

ConnectionState Client::state() const
{
	return impl_->state();
}

const Greeting *Client::greeting() const
{
	return impl_->session().greeting();
}

const std::optional<Error> &Client::closeError() const
{
	return impl_->session().closeError();
}

size_t Client::pendingCommands() const
{
	return impl_->session().pendingCommands();
}

const std::string &Client::name() const
{
	return impl_->name();
}

void Client::close()
{
	impl_->close();
}

} // namespace cvm::qmp
