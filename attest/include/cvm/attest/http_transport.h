// SPDX-License-Identifier: Apache-2.0
//
// The HTTP(S) transport under the attestation client, usable on its own for
// other small JSON/HTTP peers (the server fetches CEKs from AMD's KDS with it).
// libsoup 3 does the HTTP and glib-networking the TLS.
//
// send() is synchronous: it runs the request on a private GMainContext (one
// transport per thread for concurrent synchronous use). sendAsync() runs on the
// GMainContext that is thread-default at its first call; every later async
// call must come from that same context.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <gio/gio.h>

#include "cvm/common/bytes.h"
#include "cvm/common/error.h"
#include "cvm/common/secure_buffer.h"

namespace cvm::attest {

struct ClientOptions {
	std::string baseUrl;          // "https://as.example:8443" (http:// accepted; the caller decides)
	std::string caFile;           // PEM bundle to trust instead of the system store; "" = system
	SecureBuffer token;           // sent as "Authorization: Bearer …" when not empty
	std::string clientCertFile;   // optional TLS client certificate (PEM) ...
	std::string clientKeyFile;    // ... and its key ("" = in clientCertFile)
	unsigned timeoutSeconds = 30; // deadline of each whole request (≥ 1)
	std::string userAgent;        // default "cvm-launch/<version>"
	size_t maxResponseBytes = 4u << 20;
};

struct HttpReply {
	unsigned status = 0;
	Bytes body;
};

class HttpTransport
{
public:
	static Result<HttpTransport> create(ClientOptions options);
	HttpTransport(HttpTransport &&) noexcept;
	HttpTransport &operator=(HttpTransport &&) noexcept;
	~HttpTransport();

	const std::string &baseUrl() const;

	// `path` is appended to the base URL. An empty body sends none; a body is
	// sent as application/json and wiped once sent.
	Result<HttpReply> send(std::string_view method, const std::string &path, SecureBuffer body,
			       std::string_view contentType = "application/json");
	void sendAsync(std::string_view method, const std::string &path, SecureBuffer body,
		       GCancellable *cancellable, std::function<void(Result<HttpReply>)> done);

	struct State;

private:
	explicit HttpTransport(std::unique_ptr<State> state);
	std::unique_ptr<State> s_;
};

} // namespace cvm::attest
