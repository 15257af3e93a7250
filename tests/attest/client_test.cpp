// SPDX-License-Identifier: Apache-2.0
//
// The attestation client against a real libsoup server on loopback.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>

#include "cvm/attest/client.h"
#include "cvm/attest/errors.h"
#include "cvm/common/file.h"
#include "cvm/common/json.h"
#include "test_http.h"

using namespace cvm;
using namespace cvm::attest;
using cvm::test::StubServer;

namespace {

std::unique_ptr<Client> client(const std::string &url, unsigned timeout = 5, std::string token = {},
			       std::string caFile = {})
{
	ClientOptions o;
	o.baseUrl = url;
	o.timeoutSeconds = timeout;
	o.caFile = std::move(caFile);
	if (!token.empty())
		o.token = SecureBuffer(asBytes(token));
	auto c = Client::create(std::move(o));
	REQUIRE(c.ok());
	return std::move(*c);
}

std::string launchReplyJson()
{
	LaunchResponse lr{ "f3a1c7e0-1111-2222-3333-444455556666", Bytes(128, 1), Bytes(2084, 2), 3, 1893456000 };
	JsonNodePtr n = launchResponseToJson(lr);
	return json::serialize(n.get());
}

LaunchRequest launchRequest()
{
	LaunchRequest r;
	r.pdh = Bytes(2084, 7);
	r.certChain = Bytes(3 * 2084, 8);
	r.cpuId = Bytes(64, 9);
	return r;
}

} // namespace

TEST_CASE("launch sends the request the server expects and reads the answer")
{
	std::string seenAuth, seenBody, seenMethod, seenPath;
	StubServer server([&](SoupServer *, SoupServerMessage *msg, const std::string &path) {
		seenMethod = soup_server_message_get_method(msg);
		seenPath = path;
		const char *auth = soup_message_headers_get_one(soup_server_message_get_request_headers(msg),
							       "Authorization");
		seenAuth = auth ? auth : "";
		seenBody = test::requestBody(msg);
		test::respondJson(msg, 201, launchReplyJson());
	});
	auto c = client(server.url() + "/", 5, "host-token");
	auto r = c->launch("vm-1", launchRequest());
	REQUIRE(r.ok());
	CHECK(r->launchId == "f3a1c7e0-1111-2222-3333-444455556666");
	CHECK(r->session == Bytes(128, 1));
	CHECK(r->policy == 3);
	CHECK(seenMethod == "POST");
	CHECK(seenPath == "/v1/vm/vm-1/launch");
	CHECK(seenAuth == "Bearer host-token");
	auto body = json::parseObject(seenBody);
	REQUIRE(body.ok());
	auto parsed = parseLaunchRequest(json_node_get_object(body->get()));
	REQUIRE(parsed.ok());
	CHECK(parsed->cpuId == Bytes(64, 9));
}

TEST_CASE("server errors become errors with the AS code as tag")
{
	unsigned status = 422;
	std::string body = R"({"error":{"code":"measurement-mismatch","message":"no registered digest matches"}})";
	StubServer server([&](SoupServer *, SoupServerMessage *msg, const std::string &) {
		test::respondJson(msg, status, body);
	});
	auto c = client(server.url());
	ValidateRequest v;
	v.measurement = Bytes(48, 0);
	auto r = c->validate("vm", "launch-1", v);
	REQUIRE_FALSE(r.ok());
	CHECK(r.error().code() == ErrorCode::VerificationFailed);
	CHECK(r.error().tag() == "measurement-mismatch");
	CHECK(r.error().message().find("no registered digest matches") != std::string::npos);

	status = 409;
	body = R"({"error":{"code":"launch-already-validated","message":"used"}})";
	r = c->validate("vm", "launch-1", v);
	REQUIRE_FALSE(r.ok());
	CHECK(r.error().code() == ErrorCode::Conflict);

	status = 502;
	body = "";
	auto e = c->end("vm", "launch-1");
	REQUIRE_FALSE(e.ok());
	CHECK(e.error().code() == ErrorCode::Remote);
	CHECK(e.error().message().find("without an error description") != std::string::npos);

	status = 200;
	body = "this is not json";
	auto g = c->getVm("vm");
	REQUIRE_FALSE(g.ok());
	CHECK(g.error().code() == ErrorCode::Protocol);

	status = 200;
	body = R"({"verdict":"ok"})";
	auto ok = c->validate("vm", "launch-1", v);
	REQUIRE(ok.ok());
	CHECK_FALSE(ok->hasSecret);
}

TEST_CASE("ids are checked before anything is sent")
{
	std::atomic<int> requests{ 0 };
	StubServer server([&](SoupServer *, SoupServerMessage *msg, const std::string &) {
		++requests;
		test::respondJson(msg, 204, "");
	});
	auto c = client(server.url());
	CHECK(c->end("../etc", "x").error().code() == ErrorCode::InvalidArgument);
	CHECK(c->deleteVm("a b").error().code() == ErrorCode::InvalidArgument);
	CHECK(requests == 0);
	CHECK(c->deleteVm("ok-id").ok());
	CHECK(requests == 1);
}

TEST_CASE("a silent server runs into the deadline, not a hang")
{
	StubServer server([&](SoupServer *, SoupServerMessage *msg, const std::string &) {
		soup_server_message_pause(msg); // never answered
	});
	auto c = client(server.url(), 1);
	auto start = std::chrono::steady_clock::now();
	auto r = c->getVm("vm");
	double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
	REQUIRE_FALSE(r.ok());
	CHECK(r.error().code() == ErrorCode::Timeout);
	CHECK(seconds >= 0.9);
	CHECK(seconds < 5);
}

TEST_CASE("oversized answers and unreachable servers are errors")
{
	StubServer server([&](SoupServer *, SoupServerMessage *msg, const std::string &) {
		std::string big(5u << 20, 'x');
		soup_server_message_set_status(msg, 200, nullptr);
		soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_COPY, big.data(), big.size());
	});
	auto c = client(server.url());
	auto r = c->getVm("vm");
	REQUIRE_FALSE(r.ok());
	CHECK(r.error().message().find("larger than") != std::string::npos);

	// A port nobody listens on (the stub's, after it is gone).
	std::string url;
	{
		StubServer gone([](SoupServer *, SoupServerMessage *msg, const std::string &) {
			test::respondJson(msg, 204, "");
		});
		url = gone.url();
	}
	auto dead = client(url, 2)->getVm("vm");
	REQUIRE_FALSE(dead.ok());
	CHECK(dead.error().code() != ErrorCode::Timeout);

	CHECK_FALSE(Client::create(ClientOptions{ "ftp://x", {}, {}, {}, {}, 5, {} }).ok());
	CHECK_FALSE(Client::create(ClientOptions{ "not a url", {}, {}, {}, {}, 5, {} }).ok());
}

TEST_CASE("async calls complete on the caller's main context")
{
	StubServer server([&](SoupServer *, SoupServerMessage *msg, const std::string &path) {
		if (path.find("/end") != std::string::npos)
			test::respondJson(msg, 204, "");
		else
			test::respondJson(msg, 201, launchReplyJson());
	});
	auto c = client(server.url());
	GMainContextPtr ctx(g_main_context_new());
	g_main_context_push_thread_default(ctx.get());
	int done = 0;
	std::string launchId;
	c->launchAsync("vm", launchRequest(), nullptr, [&](Result<LaunchResponse> r) {
		REQUIRE(r.ok());
		launchId = r->launchId;
		++done;
	});
	c->endAsync("vm", "some-launch", "test", nullptr, [&](Status s) {
		CHECK(s.ok());
		++done;
	});
	// A synchronous call in between must not disturb the async ones.
	CHECK(c->launch("vm", launchRequest()).ok());
	while (done < 2)
		g_main_context_iteration(ctx.get(), TRUE);
	g_main_context_pop_thread_default(ctx.get());
	CHECK(launchId == "f3a1c7e0-1111-2222-3333-444455556666");

	// Cancellation is reported as such.
	GObjectPtr<GCancellable> cancel(g_cancellable_new());
	StubServer slow([&](SoupServer *, SoupServerMessage *msg, const std::string &) { soup_server_message_pause(msg); });
	auto sc = client(slow.url(), 30);
	g_main_context_push_thread_default(ctx.get());
	bool cancelled = false;
	sc->endAsync("vm", "l", "", cancel.get(), [&](Status s) {
		cancelled = !s.ok() && s.error().code() == ErrorCode::Cancelled;
		done = 3;
	});
	g_cancellable_cancel(cancel.get());
	while (done < 3)
		g_main_context_iteration(ctx.get(), TRUE);
	g_main_context_pop_thread_default(ctx.get());
	CHECK(cancelled);
}

TEST_CASE("TLS: the CA bundle decides whom the client trusts; client certificates are presented")
{
	auto dir = TempDir::create();
	REQUIRE(dir.ok());
	auto pki = test::makeTestPki(dir->path());
	bool sawClientCert = false;
	StubServer server(
		[&](SoupServer *, SoupServerMessage *msg, const std::string &) {
			sawClientCert = soup_server_message_get_tls_peer_certificate(msg) != nullptr &&
					soup_server_message_get_tls_peer_certificate_errors(msg) == 0;
			test::respondJson(msg, 204, "");
		},
		pki.serverCert, pki.serverKey, pki.caCert);
	REQUIRE(server.url().rfind("https://", 0) == 0);

	CHECK(client(server.url(), 5, "", pki.caCert)->deleteVm("vm").ok());
	CHECK_FALSE(sawClientCert);

	auto untrusted = client(server.url(), 5)->deleteVm("vm");
	REQUIRE_FALSE(untrusted.ok());

	ClientOptions o;
	o.baseUrl = server.url();
	o.caFile = pki.caCert;
	o.clientCertFile = pki.clientCert;
	o.clientKeyFile = pki.clientKey;
	auto withCert = Client::create(std::move(o));
	REQUIRE(withCert.ok());
	auto withCertResult = (*withCert)->deleteVm("vm");
	INFO((withCertResult.ok() ? std::string("ok") : withCertResult.error().message()));
	CHECK(withCertResult.ok());
	CHECK(sawClientCert);

	ClientOptions bad;
	bad.baseUrl = server.url();
	bad.caFile = dir->file("missing.pem");
	CHECK_FALSE(Client::create(std::move(bad)).ok());
}
