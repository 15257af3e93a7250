// SPDX-License-Identifier: Apache-2.0
//
// Test peers for HTTP code: a libsoup server on its own thread and main
// context (so synchronous clients can talk to it from the test thread), and a
// throw-away PKI (CA, server and client certificates) made with OpenSSL.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <libsoup/soup.h>

namespace cvm::test {

struct TestPki {
	std::string dir;
	std::string caCert;         // CA certificate (PEM)
	std::string serverCert;     // for 127.0.0.1 (SAN IP), signed by the CA
	std::string serverKey;
	std::string clientCert;     // a client certificate signed by the CA
	std::string clientKey;
	std::string otherCert;      // self-signed, not from the CA
	std::string otherKey;
};

// Writes a fresh PKI into `dir`.
TestPki makeTestPki(const std::string &dir);

class StubServer
{
public:
	// Runs on the server thread. Set a status (or pause the message).
	using Handler = std::function<void(SoupServer *server, SoupServerMessage *msg, const std::string &path)>;

	// tlsCert/tlsKey empty: plain HTTP.
	explicit StubServer(Handler handler, const std::string &tlsCert = {}, const std::string &tlsKey = {},
			    const std::string &clientCa = {});
	~StubServer();

	const std::string &url() const { return url_; }
	// Runs fn on the server thread and waits for it.
	void call(std::function<void()> fn);

private:
	Handler handler_;
	GMainContext *context_ = nullptr;
	GMainLoop *loop_ = nullptr;
	SoupServer *server_ = nullptr;
	std::string url_;
	std::thread thread_;
};

// The request body of a server message as text.
std::string requestBody(SoupServerMessage *msg);
void respondJson(SoupServerMessage *msg, unsigned status, const std::string &json);

} // namespace cvm::test
