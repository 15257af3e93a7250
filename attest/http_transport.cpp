// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-attest"

#include "cvm/attest/http_transport.h"


#include <libsoup/soup.h>

#include "cvm/common/gptr.h"
#include "cvm/common/scope_exit.h"

namespace cvm::attest {

struct HttpTransport::State {
	ClientOptions options;
	std::string base;
	GObjectPtr<GTlsDatabase> tlsDatabase;
	GObjectPtr<GTlsCertificate> clientCert;
	GMainContextPtr syncContext;
	GObjectPtr<SoupSession> syncSession;
	GMainContextPtr asyncContext;
	GObjectPtr<SoupSession> asyncSession;

	GObjectPtr<SoupSession> makeSession() const;
	Result<GObjectPtr<SoupMessage>> makeMessage(std::string_view method, const std::string &path,
						    SecureBuffer body, std::string_view contentType) const;
	void start(SoupSession *session, GMainContext *context, GObjectPtr<SoupMessage> msg,
		   GCancellable *cancellable, std::function<void(Result<HttpReply>)> done) const;
};

namespace {

constexpr gsize kChunk = 16 * 1024;

// One request in flight: the message, its deadline and the body read so far.
// Owns itself from start to completion.
struct Operation {
	GObjectPtr<SoupMessage> msg;
	GObjectPtr<GCancellable> cancel;
	GObjectPtr<GCancellable> userCancel;
	gulong userHandler = 0;
	GSourcePtr timer;
	GObjectPtr<GInputStream> stream;
	bool timedOut = false;
	unsigned timeoutSeconds = 0;
	size_t maxBytes = 0;
	std::string url;
	Bytes body;
	std::function<void(Result<HttpReply>)> done;

	~Operation()
	{
		if (userCancel && userHandler)
			g_cancellable_disconnect(userCancel.get(), userHandler);
	}
};

void finish(Operation *raw, Result<HttpReply> result)
{
	std::unique_ptr<Operation> op(raw);
	op->timer.reset();
	auto done = std::move(op->done);
	op.reset();
	done(std::move(result));
}

Error transportError(Operation *op, GError *error)
{
	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
		if (op->timedOut)
			return Error(ErrorCode::Timeout, op->url + ": no complete answer within " +
								 std::to_string(op->timeoutSeconds) + " s");
		return Error(ErrorCode::Cancelled, op->url + ": request cancelled");
	}
	return Error::fromGError(error, op->url);
}

void readMore(Operation *op);

void onRead(GObject *source, GAsyncResult *res, gpointer data)
{
	auto *op = static_cast<Operation *>(data);
	GError *raw = nullptr;
	GBytesPtr chunk(g_input_stream_read_bytes_finish(G_INPUT_STREAM(source), res, &raw));
	if (!chunk) {
		GErrorPtr err(raw);
		return finish(op, transportError(op, err.get()));
	}
	gsize size = 0;
	auto *bytes = static_cast<const uint8_t *>(g_bytes_get_data(chunk.get(), &size));
	if (size == 0) {
		HttpReply reply{ soup_message_get_status(op->msg.get()), std::move(op->body) };
		return finish(op, std::move(reply));
	}
	if (op->body.size() + size > op->maxBytes) {
		g_cancellable_cancel(op->cancel.get());
		return finish(op, Error(ErrorCode::Protocol, op->url + ": answer larger than " +
								     std::to_string(op->maxBytes) + " bytes"));
	}
	op->body.insert(op->body.end(), bytes, bytes + size);
	readMore(op);
}

void readMore(Operation *op)
{
	g_input_stream_read_bytes_async(op->stream.get(), kChunk, G_PRIORITY_DEFAULT, op->cancel.get(), onRead, op);
}

void onSent(GObject *source, GAsyncResult *res, gpointer data)
{
	auto *op = static_cast<Operation *>(data);
	GError *raw = nullptr;
	GInputStream *stream = soup_session_send_finish(SOUP_SESSION(source), res, &raw);
	if (!stream) {
		GErrorPtr err(raw);
		return finish(op, transportError(op, err.get()));
	}
	op->stream.reset(stream);
	goffset length = soup_message_headers_get_content_length(soup_message_get_response_headers(op->msg.get()));
	if (length > 0 && static_cast<uint64_t>(length) > op->maxBytes)
		return finish(op, Error(ErrorCode::Protocol, op->url + ": answer of " + std::to_string(length) +
								     " bytes is larger than " +
								     std::to_string(op->maxBytes)));
	readMore(op);
}

gboolean onTimeout(gpointer data)
{
	auto *op = static_cast<Operation *>(data);
	op->timedOut = true;
	g_cancellable_cancel(op->cancel.get());
	return G_SOURCE_CONTINUE; // removed with the operation
}

void onUserCancel(GCancellable *, gpointer data)
{
	g_cancellable_cancel(static_cast<GCancellable *>(data));
}

} // namespace

GObjectPtr<SoupSession> HttpTransport::State::makeSession() const
{
	GObjectPtr<SoupSession> session(soup_session_new());
	soup_session_set_user_agent(session.get(), options.userAgent.c_str());
	// Per-read/write inactivity timeout; the whole-request deadline is ours.
	soup_session_set_timeout(session.get(), options.timeoutSeconds);
	if (tlsDatabase)
		soup_session_set_tls_database(session.get(), tlsDatabase.get());
	return session;
}

Result<GObjectPtr<SoupMessage>> HttpTransport::State::makeMessage(std::string_view method, const std::string &path,
								  SecureBuffer body,
								  std::string_view contentType) const
{
	std::string url = base + path;
	std::string m(method);
	GObjectPtr<SoupMessage> msg(soup_message_new(m.c_str(), url.c_str()));
	if (!msg)
		return Error(ErrorCode::InvalidArgument, "cannot build a request for '" + url + "'");
	SoupMessageHeaders *headers = soup_message_get_request_headers(msg.get());
	soup_message_headers_replace(headers, "Accept", "application/json");
	if (!options.token.empty()) {
		std::string value = "Bearer " + std::string(asString(options.token.view()));
		soup_message_headers_replace(headers, "Authorization", value.c_str());
		secureWipe(value.data(), value.size());
	}
	if (clientCert)
		soup_message_set_tls_client_certificate(msg.get(), clientCert.get());
	if (!body.empty()) {
		auto holder = std::make_unique<SecureBuffer>(std::move(body));
		const uint8_t *data = holder->data();
		size_t size = holder->size();
		GBytesPtr bytes(g_bytes_new_with_free_func(
			data, size, [](gpointer p) { std::unique_ptr<SecureBuffer> owned(static_cast<SecureBuffer *>(p)); },
			holder.release()));
		std::string type(contentType);
		soup_message_set_request_body_from_bytes(msg.get(), type.c_str(), bytes.get());
	}
	return msg;
}

void HttpTransport::State::start(SoupSession *session, GMainContext *context, GObjectPtr<SoupMessage> msg,
				 GCancellable *cancellable, std::function<void(Result<HttpReply>)> done) const
{
	auto op = std::make_unique<Operation>();
	GCharPtr uri(g_uri_to_string(soup_message_get_uri(msg.get())));
	op->url = uri ? uri.get() : base;
	op->msg = std::move(msg);
	op->cancel.reset(g_cancellable_new());
	op->timeoutSeconds = options.timeoutSeconds;
	op->maxBytes = options.maxResponseBytes;
	op->done = std::move(done);
	if (cancellable) {
		op->userCancel = gobjectRef(cancellable);
		op->userHandler = g_cancellable_connect(cancellable, G_CALLBACK(onUserCancel), op->cancel.get(), nullptr);
	}
	op->timer.reset(g_timeout_source_new(options.timeoutSeconds * 1000));
	g_source_set_callback(op->timer.get(), onTimeout, op.get(), nullptr);
	g_source_attach(op->timer.get(), context);
	Operation *raw = op.release();
	soup_session_send_async(session, raw->msg.get(), G_PRIORITY_DEFAULT, raw->cancel.get(), onSent, raw);
}

HttpTransport::HttpTransport(std::unique_ptr<State> state) : s_(std::move(state)) {}
HttpTransport::HttpTransport(HttpTransport &&) noexcept = default;
HttpTransport &HttpTransport::operator=(HttpTransport &&) noexcept = default;
HttpTransport::~HttpTransport()
{
	if (s_ && s_->syncSession)
		soup_session_abort(s_->syncSession.get());
}

Result<HttpTransport> HttpTransport::create(ClientOptions options)
{
	auto s = std::make_unique<State>();
	std::string base = options.baseUrl;
	while (!base.empty() && base.back() == '/')
		base.pop_back();
	GUri *uri = g_uri_parse(base.c_str(), G_URI_FLAGS_NONE, nullptr);
	if (!uri)
		return Error(ErrorCode::InvalidArgument, "'" + options.baseUrl + "' is not a URL");
	std::string scheme = toString(g_uri_get_scheme(uri));
	bool hasHost = g_uri_get_host(uri) && *g_uri_get_host(uri);
	g_uri_unref(uri);
	if ((scheme != "https" && scheme != "http") || !hasHost)
		return Error(ErrorCode::InvalidArgument,
			     "'" + options.baseUrl + "' is not an http:// or https:// URL with a host");
	s->base = base;
	if (options.timeoutSeconds == 0)
		options.timeoutSeconds = 30;
	if (options.userAgent.empty())
		options.userAgent = "cvm-launch/" CVM_VERSION;

	GError *raw = nullptr;
	if (!options.caFile.empty()) {
		s->tlsDatabase.reset(g_tls_file_database_new(options.caFile.c_str(), &raw));
		if (!s->tlsDatabase) {
			GErrorPtr err(raw);
			return Error::fromGError(err.get(), "CA bundle " + options.caFile);
		}
	}
	if (!options.clientCertFile.empty()) {
		GTlsCertificate *cert =
			options.clientKeyFile.empty()
				? g_tls_certificate_new_from_file(options.clientCertFile.c_str(), &raw)
				: g_tls_certificate_new_from_files(options.clientCertFile.c_str(),
								   options.clientKeyFile.c_str(), &raw);
		if (!cert) {
			GErrorPtr err(raw);
			return Error::fromGError(err.get(), "client certificate " + options.clientCertFile);
		}
		s->clientCert.reset(cert);
	}
	s->options = std::move(options);

	s->syncContext.reset(g_main_context_new());
	g_main_context_push_thread_default(s->syncContext.get());
	s->syncSession = s->makeSession();
	g_main_context_pop_thread_default(s->syncContext.get());
	return HttpTransport(std::move(s));
}

const std::string &HttpTransport::baseUrl() const
{
	return s_->base;
}

Result<HttpReply> HttpTransport::send(std::string_view method, const std::string &path, SecureBuffer body,
				      std::string_view contentType)
{
	GObjectPtr<SoupMessage> msg = CVM_TRY(s_->makeMessage(method, path, std::move(body), contentType));
	GMainContext *context = s_->syncContext.get();
	g_main_context_push_thread_default(context);
	ScopeExit pop([&] { g_main_context_pop_thread_default(context); });
	// On the heap: gcc 12 misreads an optional<Result<>> here (-Wfree-nonheap-object).
	std::unique_ptr<Result<HttpReply>> out;
	s_->start(s_->syncSession.get(), context, std::move(msg), nullptr,
		  [&out](Result<HttpReply> r) { out = std::make_unique<Result<HttpReply>>(std::move(r)); });
	while (!out)
		g_main_context_iteration(context, TRUE);
	return std::move(*out);
}

void HttpTransport::sendAsync(std::string_view method, const std::string &path, SecureBuffer body,
			      GCancellable *cancellable, std::function<void(Result<HttpReply>)> done)
{
	GMainContextPtr current(g_main_context_ref_thread_default());
	if (!s_->asyncSession) {
		s_->asyncContext = std::move(current);
		s_->asyncSession = s_->makeSession();
	} else if (current.get() != s_->asyncContext.get()) {
		return done(Error(ErrorCode::Internal,
				  "asynchronous attestation requests must all run on one main context"));
	}
	auto msg = s_->makeMessage(method, path, std::move(body), "application/json");
	if (!msg)
		return done(std::move(msg).error());
	s_->start(s_->asyncSession.get(), s_->asyncContext.get(), std::move(*msg), cancellable, std::move(done));
}

} // namespace cvm::attest
