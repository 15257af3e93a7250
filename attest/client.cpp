// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-attest"

#include "cvm/attest/client.h"

#include <libsoup/soup.h>

#include "cvm/attest/errors.h"
#include "cvm/common/gptr.h"
#include "cvm/common/json.h"
#include "cvm/common/scope_exit.h"
#include "cvm/attest/http_transport.h"

namespace cvm::attest {

namespace {

// Turns a reply into its JSON object, or into the Error the server described.
Result<JsonNodePtr> decodeReply(const HttpReply &reply, std::string_view what)
{
	std::string_view text = asString(reply.body);
	if (reply.status >= 200 && reply.status < 300) {
		if (reply.status == 204 || text.empty())
			return JsonNodePtr();
		auto node = json::parseObject(text);
		if (!node)
			return Error(ErrorCode::Protocol, std::string(what) + ": the attestation server answered HTTP " +
								  std::to_string(reply.status) + " with " +
								  node.error().message());
		return node;
	}
	ErrorCode code = errorCodeForHttpStatus(reply.status);
	auto node = json::parseObject(text);
	if (node) {
		auto body = parseErrorBody(json_node_get_object(node->get()));
		if (body)
			return Error(code, std::string(what) + ": " + body->message + " (HTTP " +
						   std::to_string(reply.status) + ", " + body->code + ")",
				     body->code);
	}
	return Error(code, std::string(what) + ": the attestation server answered HTTP " +
				   std::to_string(reply.status) + " without an error description");
}

template<typename T>
Result<T> decodeAs(const HttpReply &reply, std::string_view what, Result<T> (*parse)(JsonObject *))
{
	JsonNodePtr node = CVM_TRY(decodeReply(reply, what));
	if (!node)
		return Error(ErrorCode::Protocol, std::string(what) + ": the attestation server sent an empty answer");
	auto value = parse(json_node_get_object(node.get()));
	if (!value)
		return Error(ErrorCode::Protocol, std::string(what) + ": unexpected answer from the attestation server: " +
							  value.error().message());
	return value;
}

Status decodeEmpty(const HttpReply &reply, std::string_view what)
{
	auto node = decodeReply(reply, what);
	if (!node)
		return std::move(node).error();
	return {};
}

Status checkId(std::string_view id, std::string_view what)
{
	if (!isValidId(id))
		return Error(ErrorCode::InvalidArgument,
			     std::string(what) + " '" + std::string(id) +
				     "' is not valid (1-128 characters of letters, digits, '.', '_', '-')");
	return {};
}

std::string vmPath(std::string_view vmId)
{
	return "/v1/vm/" + std::string(vmId);
}

std::string launchPath(std::string_view vmId, std::string_view launchId, std::string_view action)
{
	return vmPath(vmId) + "/launch/" + std::string(launchId) + "/" + std::string(action);
}

SecureBuffer jsonBody(JsonNode *node)
{
	std::string text = json::serialize(node);
	SecureBuffer out(asBytes(text));
	secureWipe(text.data(), text.size());
	return out;
}

} // namespace

class Client::Impl
{
public:
	explicit Impl(HttpTransport transport) : http(std::move(transport)) {}
	HttpTransport http;
};

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::create(ClientOptions options)
{
	HttpTransport transport = CVM_TRY(HttpTransport::create(std::move(options)));
	return std::unique_ptr<Client>(new Client(std::make_unique<Impl>(std::move(transport))));
}

const std::string &Client::baseUrl() const
{
	return impl_->http.baseUrl();
}

Result<LaunchResponse> Client::launch(std::string_view vmId, const LaunchRequest &request)
{
	CVM_CHECK(checkId(vmId, "VM id"));
	JsonNodePtr body = launchRequestToJson(request);
	HttpReply reply = CVM_TRY(impl_->http.send("POST", vmPath(vmId) + "/launch", jsonBody(body.get())));
	return decodeAs(reply, "launch", parseLaunchResponse);
}

Result<ValidateResponse> Client::validate(std::string_view vmId, std::string_view launchId,
					  const ValidateRequest &request)
{
	CVM_CHECK(checkId(vmId, "VM id"));
	CVM_CHECK(checkId(launchId, "launch id"));
	JsonNodePtr body = validateRequestToJson(request);
	HttpReply reply = CVM_TRY(impl_->http.send("POST", launchPath(vmId, launchId, "validate"),
						    jsonBody(body.get())));
	auto result = decodeAs(reply, "validate", parseValidateResponse);
	secureWipe(reply.body);
	return result;
}

Status Client::end(std::string_view vmId, std::string_view launchId, std::string_view reason)
{
	CVM_CHECK(checkId(vmId, "VM id"));
	CVM_CHECK(checkId(launchId, "launch id"));
	JsonNodePtr body = endRequestToJson(EndRequest{ std::string(reason) });
	HttpReply reply = CVM_TRY(impl_->http.send("POST", launchPath(vmId, launchId, "end"), jsonBody(body.get())));
	return decodeEmpty(reply, "end launch");
}

Result<TdxLaunchResponse> Client::tdxLaunch(std::string_view vmId)
{
	CVM_CHECK(checkId(vmId, "VM id"));
	SecureBuffer body(asBytes(std::string_view("{}")));
	HttpReply reply = CVM_TRY(impl_->http.send("POST", vmPath(vmId) + "/tdx/launch", std::move(body)));
	return decodeAs(reply, "tdx launch", parseTdxLaunchResponse);
}

void Client::launchAsync(std::string_view vmId, const LaunchRequest &request, GCancellable *cancellable,
			 Callback<LaunchResponse> done)
{
	if (auto s = checkId(vmId, "VM id"); !s.ok())
		return done(std::move(s).error());
	JsonNodePtr body = launchRequestToJson(request);
	impl_->http.sendAsync("POST", vmPath(vmId) + "/launch", jsonBody(body.get()), cancellable,
			      [done = std::move(done)](Result<HttpReply> reply) {
				      if (!reply)
					      return done(std::move(reply).error());
				      done(decodeAs(*reply, "launch", parseLaunchResponse));
			      });
}

void Client::validateAsync(std::string_view vmId, std::string_view launchId, const ValidateRequest &request,
			   GCancellable *cancellable, Callback<ValidateResponse> done)
{
	if (auto s = checkId(vmId, "VM id"); !s.ok())
		return done(std::move(s).error());
	if (auto s = checkId(launchId, "launch id"); !s.ok())
		return done(std::move(s).error());
	JsonNodePtr body = validateRequestToJson(request);
	impl_->http.sendAsync("POST", launchPath(vmId, launchId, "validate"), jsonBody(body.get()), cancellable,
			      [done = std::move(done)](Result<HttpReply> reply) {
				      if (!reply)
					      return done(std::move(reply).error());
				      auto result = decodeAs(*reply, "validate", parseValidateResponse);
				      secureWipe(reply->body);
				      done(std::move(result));
			      });
}

void Client::endAsync(std::string_view vmId, std::string_view launchId, std::string_view reason,
		      GCancellable *cancellable, std::function<void(Status)> done)
{
	if (auto s = checkId(vmId, "VM id"); !s.ok())
		return done(std::move(s).error());
	if (auto s = checkId(launchId, "launch id"); !s.ok())
		return done(std::move(s).error());
	JsonNodePtr body = endRequestToJson(EndRequest{ std::string(reason) });
	impl_->http.sendAsync("POST", launchPath(vmId, launchId, "end"), jsonBody(body.get()), cancellable,
			      [done = std::move(done)](Result<HttpReply> reply) {
				      if (!reply)
					      return done(std::move(reply).error());
				      done(decodeEmpty(*reply, "end launch"));
			      });
}

Result<VmInfo> Client::registerVm(std::string_view vmId, const Registration &registration)
{
	CVM_CHECK(checkId(vmId, "VM id"));
	HttpReply reply = CVM_TRY(impl_->http.send("PUT", vmPath(vmId), registrationToJson(registration)));
	return decodeAs(reply, "register", parseVmInfo);
}

Result<VmInfo> Client::getVm(std::string_view vmId)
{
	CVM_CHECK(checkId(vmId, "VM id"));
	HttpReply reply = CVM_TRY(impl_->http.send("GET", vmPath(vmId), SecureBuffer()));
	return decodeAs(reply, "show", parseVmInfo);
}

Status Client::deleteVm(std::string_view vmId)
{
	CVM_CHECK(checkId(vmId, "VM id"));
	HttpReply reply = CVM_TRY(impl_->http.send("DELETE", vmPath(vmId), SecureBuffer()));
	return decodeEmpty(reply, "revoke");
}

Result<AuditTrail> Client::auditTrail(std::string_view vmId)
{
	CVM_CHECK(checkId(vmId, "VM id"));
	HttpReply reply = CVM_TRY(impl_->http.send("GET", vmPath(vmId) + "/launches", SecureBuffer()));
	return decodeAs(reply, "audit", parseAuditTrail);
}

} // namespace cvm::attest
