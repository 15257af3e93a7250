// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-attestd"

#include "http_api.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "cvm/attest/errors.h"
#include "cvm/attest/protocol.h"
#include "cvm/common/json.h"
#include "metrics.h"
#include "service.h"
#include "service_tdx.h"
#include "worker_pool.h"

namespace cvm::server {

using namespace attest;

namespace {

// A request body, bounded by the configured maximum. Registrations carry the
// owner's secrets in clear: their bodies only ever live in locked, wiped
// memory. The other bodies (host reports, certificates) hold nothing secret
// and use plain memory.
class BodyBuffer
{
public:
	void setSecret(bool secret) { secret_ = secret; }
	void reserve(size_t n) { grow(n); }
	// false when the limit would be exceeded (the data is then dropped).
	bool append(const uint8_t *data, size_t n, size_t limit)
	{
		if (used_ + n > limit)
			return false;
		if (used_ + n > capacity())
			grow(std::max(used_ + n, std::min(limit, capacity() * 2 + 4096)));
		memcpy(bytes() + used_, data, n);
		used_ += n;
		return true;
	}
	std::string_view text() const
	{
		return std::string_view(reinterpret_cast<const char *>(secret_ ? secure_.data() : plain_.data()), used_);
	}

private:
	size_t capacity() const { return secret_ ? secure_.size() : plain_.size(); }
	uint8_t *bytes() { return secret_ ? secure_.data() : plain_.data(); }
	void grow(size_t n)
	{
		if (n <= capacity())
			return;
		if (!secret_)
			return plain_.resize(n);
		SecureBuffer bigger(n);
		if (used_)
			memcpy(bigger.data(), secure_.data(), used_);
		secure_ = std::move(bigger);
	}
	bool secret_ = true;
	SecureBuffer secure_;
	Bytes plain_;
	size_t used_ = 0;
};

} // namespace

struct HttpApi::Reply {
	unsigned status = 200;
	std::string body;             // may carry (encrypted) secrets: wiped
	const char *contentType = "application/json";
	std::vector<std::pair<const char *, std::string>> headers;

	Reply() = default;
	Reply(Reply &&) = default;
	Reply &operator=(Reply &&) = default;
	~Reply() { secureWipe(body.data(), body.size()); }
};

namespace {

using Reply = HttpApi::Reply;

Reply jsonReply(unsigned status, JsonNode *node)
{
	Reply r;
	r.status = status;
	if (node)
		r.body = json::serialize(node);
	return r;
}

Reply errorReply(const Error &error)
{
	ErrorBody body{ asCodeForError(error), error.message() };
	unsigned status = httpStatusForError(error);
	if (status >= 500)
		g_warning("internal error answered as HTTP %u: %s", status, error.message().c_str());
	JsonNodePtr node = errorBodyToJson(body);
	Reply r = jsonReply(status, node.get());
	if (status == 401)
		r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"cvm-attestd\"");
	return r;
}

Reply errorReply(std::string_view code, std::string message)
{
	return errorReply(asError(code, std::move(message)));
}

// Path segments of "/v1/vm/ID/launch/LID/validate" → {"v1","vm",ID,...}.
std::vector<std::string> splitPath(const char *path)
{
	std::vector<std::string> parts;
	GStrvPtr raw(g_strsplit(path, "/", -1));
	for (gchar **p = raw.get(); *p; ++p)
		if (**p)
			parts.emplace_back(*p);
	return parts;
}

} // namespace

struct HttpApi::Request {
	HttpApi *api = nullptr;
	SoupServerMessage *msg = nullptr;
	BodyBuffer body;
	size_t maxBody = 0;
	bool tooLarge = false;
	bool disconnected = false;
	gint64 started = 0;
	Endpoint endpoint = Endpoint::Other;
	std::string method;
	std::string path;

	void respond(const Reply &reply);
};

namespace {

void onChunk(SoupServerMessage *, GBytes *chunk, gpointer data)
{
	auto *req = static_cast<HttpApi::Request *>(data);
	if (req->tooLarge)
		return;
	gsize size = 0;
	auto *bytes = static_cast<const uint8_t *>(g_bytes_get_data(chunk, &size));
	if (!req->body.append(bytes, size, req->maxBody))
		req->tooLarge = true;
}

void onDisconnected(SoupServerMessage *, gpointer data)
{
	static_cast<HttpApi::Request *>(data)->disconnected = true;
}

HttpApi::Request *requestOf(SoupServerMessage *msg)
{
	return static_cast<HttpApi::Request *>(g_object_get_data(G_OBJECT(msg), "cvm-request"));
}

std::string bearerToken(SoupServerMessage *msg)
{
	const char *auth =
		soup_message_headers_get_one(soup_server_message_get_request_headers(msg), "Authorization");
	if (!auth || g_ascii_strncasecmp(auth, "Bearer ", 7) != 0)
		return {};
	return auth + 7;
}

} // namespace

void HttpApi::Request::respond(const Reply &reply)
{
	double seconds = static_cast<double>(g_get_monotonic_time() - started) / 1e6;
	api->metrics_.recordRequest(endpoint, reply.status, seconds);
	g_debug("%s %s -> %u (%.1f ms)", method.c_str(), path.c_str(), reply.status, seconds * 1000);
	if (disconnected)
		return;
	soup_server_message_set_status(msg, reply.status, nullptr);
	SoupMessageHeaders *headers = soup_server_message_get_response_headers(msg);
	for (const auto &[name, value] : reply.headers)
		soup_message_headers_replace(headers, name, value.c_str());
	soup_message_headers_replace(headers, "Cache-Control", "no-store");
	if (api->options_.closeConnections)
		soup_message_headers_replace(headers, "Connection", "close");
	if (!reply.body.empty())
		soup_server_message_set_response(msg, reply.contentType, SOUP_MEMORY_COPY, reply.body.data(),
						 reply.body.size());
}

bool soupLeaksIdleConnections()
{
	return soup_get_major_version() == 3 && soup_get_minor_version() < 3;
}

HttpApi::HttpApi(ApiOptions options, AttestationService &service, WorkerPool &workers, Metrics &metrics,
		 TdxService *tdx)
	: options_(std::move(options)), service_(service), tdx_(tdx), workers_(workers), metrics_(metrics)
{
}

void HttpApi::attach(SoupServer *server)
{
	soup_server_add_early_handler(server, nullptr, earlyHandler, this, nullptr);
	soup_server_add_handler(server, nullptr, handler, this, nullptr);
}

void HttpApi::earlyHandler(SoupServer *, SoupServerMessage *msg, const char *path, GHashTable *, gpointer self)
{
	auto *api = static_cast<HttpApi *>(self);
	auto req = std::make_unique<Request>();
	req->api = api;
	req->msg = msg;
	req->started = g_get_monotonic_time();
	req->method = soup_server_message_get_method(msg);
	req->path = path ? path : "";
	// Only PUT /v1/vm/{id} (a registration) carries secrets.
	req->body.setSecret(req->method == "PUT");
	goffset length = soup_message_headers_get_content_length(soup_server_message_get_request_headers(msg));
	if (length > static_cast<goffset>(api->options_.maxBody))
		req->tooLarge = true;
	else if (length > 0)
		req->body.reserve(static_cast<size_t>(length));
	// We keep the body ourselves: bounded, and in memory that is wiped.
	soup_message_body_set_accumulate(soup_server_message_get_request_body(msg), FALSE);
	req->maxBody = api->options_.maxBody;
	Request *raw = req.get();
	g_signal_connect(msg, "got-chunk", G_CALLBACK(onChunk), raw);
	g_signal_connect(msg, "disconnected", G_CALLBACK(onDisconnected), raw);
	g_object_set_data_full(G_OBJECT(msg), "cvm-request", req.release(),
			       [](gpointer p) { std::unique_ptr<Request> owned(static_cast<Request *>(p)); });
	if (raw->tooLarge) {
		// Answer without running the handler; the connection closes after
		// the response so the rest of the upload is not waited for.
		soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Connection", "close");
		raw->respond(errorReply(code::kBodyTooLarge, "request body larger than " +
								     std::to_string(api->options_.maxBody) + " bytes"));
	}
}

void HttpApi::handler(SoupServer *, SoupServerMessage *msg, const char *path, GHashTable *, gpointer self)
{
	static_cast<HttpApi *>(self)->handle(msg, path);
}

Status HttpApi::authorizeOwner(SoupServerMessage *msg) const
{
	std::string token = bearerToken(msg);
	bool ownerToken = !token.empty() && !options_.ownerToken.empty() &&
			  constantTimeEqual(asBytes(token), options_.ownerToken.view());
	bool hostToken = !token.empty() && !options_.hostToken.empty() &&
			 constantTimeEqual(asBytes(token), options_.hostToken.view());
	secureWipe(token.data(), token.size());
	if (ownerToken)
		return {};
	if (options_.ownerClientCerts && soup_server_message_get_tls_peer_certificate(msg) &&
	    soup_server_message_get_tls_peer_certificate_errors(msg) == 0)
		return {};
	if (hostToken)
		return asError(code::kForbidden, "the host token does not grant owner access");
	return asError(code::kUnauthorized, "owner credentials required (bearer token or client certificate)");
}

Status HttpApi::authorizeHost(SoupServerMessage *msg) const
{
	if (options_.hostToken.empty())
		return {};
	std::string token = bearerToken(msg);
	bool ok = !token.empty() && constantTimeEqual(asBytes(token), options_.hostToken.view());
	secureWipe(token.data(), token.size());
	if (ok)
		return {};
	return asError(code::kUnauthorized, "host token required");
}

void HttpApi::dispatch(Request *req, std::function<Reply()> work)
{
	std::shared_ptr<SoupServerMessage> msg(static_cast<SoupServerMessage *>(g_object_ref(req->msg)),
					       g_object_unref);
	bool queued = workers_.submit<Reply>(std::move(work), [msg](Reply reply) {
		Request *r = requestOf(msg.get());
		r->respond(reply);
		if (!r->disconnected)
			soup_server_message_unpause(msg.get());
	});
	if (!queued) {
		Reply r = errorReply(code::kUnavailable, "the server is overloaded; retry later");
		r.headers.emplace_back("Retry-After", "1");
		return req->respond(r);
	}
	soup_server_message_pause(req->msg);
}

namespace {

Result<JsonNodePtr> parseBody(const HttpApi::Request &req, bool allowEmpty)
{
	std::string_view text = req.body.text();
	if (allowEmpty && text.find_first_not_of(" \t\r\n") == std::string_view::npos)
		return JsonNodePtr();
	auto node = json::parseObject(text);
	if (!node)
		return asError(code::kInvalidRequest, node.error().message());
	return node;
}

template<typename T>
Result<T> parseWith(const JsonNodePtr &node, Result<T> (*parse)(JsonObject *))
{
	auto value = parse(json_node_get_object(node.get()));
	if (!value)
		return asError(code::kInvalidRequest, value.error().message());
	return value;
}

template<typename T>
Reply answer(Result<T> result, unsigned status, JsonNodePtr (*render)(const T &))
{
	if (!result)
		return errorReply(result.error());
	JsonNodePtr node = render(*result);
	return jsonReply(status, node.get());
}

Reply answerEmpty(const Status &status)
{
	if (!status)
		return errorReply(status.error());
	return jsonReply(204, nullptr);
}

} // namespace

void HttpApi::handle(SoupServerMessage *msg, const char *path)
{
	Request *req = requestOf(msg);
	if (!req) {
		soup_server_message_set_status(msg, 500, nullptr);
		return;
	}
	if (req->tooLarge)
		return req->respond(errorReply(code::kBodyTooLarge, "request body larger than " +
									     std::to_string(req->maxBody) + " bytes"));
	route(req, splitPath(path));
}

namespace {

void methodNotAllowed(HttpApi::Request *req, const char *allow)
{
	Reply r = errorReply(code::kMethodNotAllowed, req->method + " is not allowed here (allowed: " + allow + ")");
	r.headers.emplace_back("Allow", allow);
	req->respond(r);
}

void fail(HttpApi::Request *req, const Error &error)
{
	req->respond(errorReply(error));
}

} // namespace

void HttpApi::route(Request *req, const std::vector<std::string> &parts)
{
	if (parts.size() == 1 && (parts[0] == "metrics" || parts[0] == "healthz")) {
		req->endpoint = parts[0] == "metrics" ? Endpoint::Metrics : Endpoint::Health;
		if (req->method != "GET")
			return methodNotAllowed(req, "GET");
		Reply r;
		if (req->endpoint == Endpoint::Metrics) {
			r.body = metrics_.render();
			r.contentType = "text/plain; version=0.0.4";
		} else {
			r.body = "{\"status\":\"ok\"}";
		}
		return req->respond(r);
	}
	if (parts.size() < 3 || parts[0] != "v1" || parts[1] != "vm")
		return fail(req, asError(code::kNotFound, "no such endpoint: " + req->path));
	const std::string &vmId = parts[2];
	if (!isValidId(vmId))
		return fail(req, asError(code::kInvalidRequest, "invalid VM id in the path"));
	if (parts.size() == 3)
		return routeOwner(req, vmId, false);
	if (parts.size() == 4 && parts[3] == "launches")
		return routeOwner(req, vmId, true);
	if (parts.size() == 4 && parts[3] == "launch")
		return routeHost(req, vmId, "", Endpoint::Launch);
	if (parts.size() == 5 && parts[3] == "tdx" && parts[4] == "launch")
		return routeTdx(req, vmId, "", Endpoint::TdxLaunch);
	if (parts.size() == 6 && parts[3] == "launch" && parts[5] == "quote") {
		if (!isValidId(parts[4]))
			return fail(req, asError(code::kInvalidRequest, "invalid launch id in the path"));
		return routeTdx(req, vmId, parts[4], Endpoint::Quote);
	}
	if (parts.size() == 6 && parts[3] == "launch" && (parts[5] == "validate" || parts[5] == "end")) {
		if (!isValidId(parts[4]))
			return fail(req, asError(code::kInvalidRequest, "invalid launch id in the path"));
		return routeHost(req, vmId, parts[4], parts[5] == "validate" ? Endpoint::Validate : Endpoint::End);
	}
	fail(req, asError(code::kNotFound, "no such endpoint: " + req->path));
}

void HttpApi::routeOwner(Request *req, const std::string &vmId, bool audit)
{
	const std::string &method = req->method;
	if (audit)
		req->endpoint = Endpoint::Audit;
	else if (method == "PUT")
		req->endpoint = Endpoint::Register;
	else if (method == "DELETE")
		req->endpoint = Endpoint::Revoke;
	else
		req->endpoint = Endpoint::Show;
	bool allowed = audit ? method == "GET" : (method == "PUT" || method == "GET" || method == "DELETE");
	if (!allowed)
		return methodNotAllowed(req, audit ? "GET" : "GET, PUT, DELETE");
	if (auto s = authorizeOwner(req->msg); !s)
		return fail(req, s.error());
	switch (req->endpoint) {
	case Endpoint::Register: {
		auto node = parseBody(*req, false);
		if (!node)
			return fail(req, node.error());
		auto parsed = parseWith(*node, parseRegistration);
		if (!parsed)
			return fail(req, parsed.error());
		auto registration = std::make_shared<Registration>(std::move(*parsed));
		return dispatch(req, [this, vmId, registration] {
			auto r = service_.registerVm(vmId, *registration);
			if (!r)
				return errorReply(r.error());
			JsonNodePtr node = vmInfoToJson(r->info);
			return jsonReply(r->created ? 201 : 200, node.get());
		});
	}
	case Endpoint::Show:
		return dispatch(req, [this, vmId] { return answer(service_.getVm(vmId), 200, vmInfoToJson); });
	case Endpoint::Revoke:
		return dispatch(req, [this, vmId] { return answerEmpty(service_.deleteVm(vmId)); });
	default:
		return dispatch(req, [this, vmId] { return answer(service_.auditTrail(vmId), 200, auditTrailToJson); });
	}
}

void HttpApi::routeHost(Request *req, const std::string &vmId, const std::string &launchId, Endpoint endpoint)
{
	req->endpoint = endpoint;
	if (req->method != "POST")
		return methodNotAllowed(req, "POST");
	// The owner may end a launch too: an instance the host never reported
	// ended would otherwise hold its slot until the registration is revoked.
	bool byOwner = endpoint == Endpoint::End && authorizeOwner(req->msg).ok();
	if (auto s = authorizeHost(req->msg); !s && !byOwner)
		return fail(req, s.error());
	auto node = parseBody(*req, endpoint == Endpoint::End);
	if (!node)
		return fail(req, node.error());
	if (endpoint == Endpoint::Launch) {
		auto parsed = parseWith(*node, parseLaunchRequest);
		if (!parsed)
			return fail(req, parsed.error());
		return dispatch(req, [this, vmId, request = std::move(*parsed)] {
			return answer(service_.launch(vmId, request), 201, launchResponseToJson);
		});
	}
	if (endpoint == Endpoint::Validate) {
		auto parsed = parseWith(*node, parseValidateRequest);
		if (!parsed)
			return fail(req, parsed.error());
		return dispatch(req, [this, vmId, launchId, report = std::move(*parsed)] {
			return answer(service_.validate(vmId, launchId, report), 200, validateResponseToJson);
		});
	}
	EndRequest end;
	if (*node) {
		auto parsed = parseWith(*node, parseEndRequest);
		if (!parsed)
			return fail(req, parsed.error());
		end = std::move(*parsed);
	}
	EndedBy by = byOwner ? EndedBy::Owner : EndedBy::Host;
	dispatch(req, [this, vmId, launchId, end, by] { return answerEmpty(service_.end(vmId, launchId, end, by)); });
}

void HttpApi::routeTdx(Request *req, const std::string &vmId, const std::string &launchId, Endpoint endpoint)
{
	req->endpoint = endpoint;
	if (req->method != "POST")
		return methodNotAllowed(req, "POST");
	if (auto s = authorizeHost(req->msg); !s)
		return fail(req, s.error());
	if (!tdx_)
		return fail(req, asError(code::kUnsupportedScheme, "this server does not serve intel-tdx launches"));
	auto node = parseBody(*req, endpoint == Endpoint::TdxLaunch);
	if (!node)
		return fail(req, node.error());
	if (endpoint == Endpoint::TdxLaunch) {
		if (*node && json_object_get_size(json_node_get_object(node->get())) != 0)
			return fail(req, asError(code::kInvalidRequest, "the intel-tdx launch body must be empty or {}"));
		return dispatch(req, [this, vmId] { return answer(tdx_->launch(vmId), 201, tdxLaunchResponseToJson); });
	}
	auto parsed = parseWith(*node, parseTdxQuoteRequest);
	if (!parsed)
		return fail(req, parsed.error());
	dispatch(req, [this, vmId, launchId, request = std::move(*parsed)] {
		return answer(tdx_->quote(vmId, launchId, request), 200, tdxQuoteResponseToJson);
	});
}

} // namespace cvm::server
