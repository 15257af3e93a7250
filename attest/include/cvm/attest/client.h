// SPDX-License-Identifier: Apache-2.0
//
// Client of the attestation server API over libsoup 3.
//
// Two ways to call it:
//  - synchronous methods (launch, validate, ...) run the request on a private
//    GMainContext owned by the client, so they work from plain CLI code and from
//    inside someone else's main loop alike, and return when the request is done
//    or its deadline has passed;
//  - asynchronous methods (launchAsync, ...) run on the GMainContext that is
//    thread-default when they are first called and invoke the callback there.
//
// Errors: an HTTP error answer becomes an Error whose tag() is the server's
// error code ("measurement-mismatch", see errors.h) and whose code() follows the
// HTTP status (401 → PermissionDenied, 404 → NotFound, 409 → Conflict,
// 410 → Expired, 422 → VerificationFailed, ...); the message is the server's.
// Transport failures are Io/Disconnected/Timeout with a message naming the URL.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <gio/gio.h>

#include "cvm/attest/http_transport.h"
#include "cvm/attest/protocol.h"
#include "cvm/attest/protocol_tdx.h"
#include "cvm/common/error.h"
#include "cvm/common/secure_buffer.h"

namespace cvm::attest {


class Client
{
public:
	// Checks the URL and loads the CA bundle / client certificate.
	static Result<std::unique_ptr<Client>> create(ClientOptions options);
	~Client();
	Client(const Client &) = delete;
	Client &operator=(const Client &) = delete;

	const std::string &baseUrl() const;

	// --- host side -----------------------------------------------------
	Result<LaunchResponse> launch(std::string_view vmId, const LaunchRequest &request);
	Result<ValidateResponse> validate(std::string_view vmId, std::string_view launchId,
					  const ValidateRequest &request);
	Status end(std::string_view vmId, std::string_view launchId, std::string_view reason = {});
	// intel-tdx: POST /v1/vm/{id}/tdx/launch (launch id, nonce, launch configuration).
	Result<TdxLaunchResponse> tdxLaunch(std::string_view vmId);

	template<typename T>
	using Callback = std::function<void(Result<T>)>;
	void launchAsync(std::string_view vmId, const LaunchRequest &request, GCancellable *cancellable,
			 Callback<LaunchResponse> done);
	void validateAsync(std::string_view vmId, std::string_view launchId, const ValidateRequest &request,
			   GCancellable *cancellable, Callback<ValidateResponse> done);
	void endAsync(std::string_view vmId, std::string_view launchId, std::string_view reason,
		      GCancellable *cancellable, std::function<void(Status)> done);

	// --- owner side ----------------------------------------------------
	// PUT: creates or replaces the registration.
	Result<VmInfo> registerVm(std::string_view vmId, const Registration &registration);
	Result<VmInfo> getVm(std::string_view vmId);
	Status deleteVm(std::string_view vmId);
	Result<AuditTrail> auditTrail(std::string_view vmId);

	class Impl;

private:
	explicit Client(std::unique_ptr<Impl> impl);
	std::unique_ptr<Impl> impl_;
};

} // namespace cvm::attest
