// SPDX-License-Identifier: Apache-2.0
//
// cvm-attestd's HTTP API over real HTTP on loopback, with a real SQLite file:
// registration, authentication, and every way a request can be wrong.
#include <catch2/catch.hpp>

#include <gio/gio.h>

#include "cvm/attest/errors.h"
#include "cvm/common/json.h"
#include "test_daemon.h"
#include "test_http.h"
#include "test_support.h"

using namespace cvm;
using namespace cvm::attest;

namespace {

const std::string kSecret = "correct horse battery staple";

Registration sampleRegistration(uint32_t maxLaunches = 2)
{
	Registration r;
	r.scheme = Scheme::AmdSev;
	r.sev.policy = 0x1;
	r.sev.launchDigests = { Bytes(32, 0xab), Bytes(32, 0xcd) };
	r.sev.minApi = ApiVersion{ 0, 17 };
	r.secrets.push_back(SecretEntry{ luksKeyGuid(), SecureBuffer(asBytes(kSecret)) });
	r.maxConcurrentLaunches = maxLaunches;
	return r;
}

HttpTransport transport(const std::string &url, const std::string &token = test::kOwnerToken)
{
	ClientOptions o;
	o.baseUrl = url;
	o.timeoutSeconds = 10;
	if (!token.empty())
		o.token = SecureBuffer(asBytes(token));
	auto t = HttpTransport::create(std::move(o));
	REQUIRE(t.ok());
	return std::move(*t);
}

struct Answer {
	unsigned status;
	std::string code;
	std::string message;
};

Answer send(HttpTransport &t, const std::string &method, const std::string &path, const std::string &body = {})
{
	auto reply = t.send(method, path, body.empty() ? SecureBuffer() : SecureBuffer(asBytes(body)));
	REQUIRE(reply.ok());
	Answer a{ reply->status, "", "" };
	auto node = json::parseObject(asString(reply->body));
	if (node.ok()) {
		if (auto e = parseErrorBody(json_node_get_object(node->get())); e.ok()) {
			a.code = e->code;
			a.message = e->message;
		}
	}
	return a;
}

// Sends raw bytes on a fresh TCP connection and returns the status line.
std::string rawRequest(const std::string &url, const std::string &request)
{
	GUri *uri = g_uri_parse(url.c_str(), G_URI_FLAGS_NONE, nullptr);
	REQUIRE(uri);
	int port = g_uri_get_port(uri);
	g_uri_unref(uri);
	GObjectPtr<GSocketClient> sc(g_socket_client_new());
	GError *err = nullptr;
	GObjectPtr<GSocketConnection> conn(g_socket_client_connect_to_host(sc.get(), "127.0.0.1", port, nullptr, &err));
	REQUIRE(conn);
	GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(conn.get()));
	gsize written = 0;
	g_output_stream_write_all(out, request.data(), request.size(), &written, nullptr, nullptr);
	GInputStream *in = g_io_stream_get_input_stream(G_IO_STREAM(conn.get()));
	char buf[4096];
	gssize n = g_input_stream_read(in, buf, sizeof(buf) - 1, nullptr, nullptr);
	std::string response = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
	return response.substr(0, response.find("\r\n"));
}

bool contains(const Bytes &haystack, std::string_view needle)
{
	return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) != haystack.end();
}

Bytes databaseBytes(const server::ServerConfig &config)
{
	Bytes all;
	for (const char *suffix : { "", "-wal", "-shm" }) {
		std::string path = config.db + suffix;
		if (fileExists(path))
			append(all, readFile(path).value());
	}
	return all;
}

} // namespace

TEST_CASE("owners register, read, update and revoke a VM")
{
	test::requireFixtures();
	auto files = test::DaemonFiles::create();
	test::InProcessDaemon daemon(files.config);
	auto owner = daemon.ownerClient();

	auto t = transport(daemon.url());
	auto created = t.send("PUT", "/v1/vm/vm-1", registrationToJson(sampleRegistration()));
	REQUIRE(created.ok());
	CHECK(created->status == 201);
	auto info = owner->registerVm("vm-1", sampleRegistration(3));
	REQUIRE(info.ok());
	CHECK(info->maxConcurrentLaunches == 3);
	CHECK(info->activeLaunches == 0);

	auto shown = owner->getVm("vm-1");
	REQUIRE(shown.ok());
	CHECK(shown->sev.launchDigests.size() == 2);
	CHECK(shown->sev.minApi == ApiVersion{ 0, 17 });
	REQUIRE(shown->secrets.size() == 1);
	CHECK(shown->secrets[0].guid == luksKeyGuid());
	CHECK(shown->secrets[0].size == kSecret.size());

	// The secret is stored sealed: neither it nor its base64 is in the files.
	Bytes db = databaseBytes(files.config);
	CHECK(contains(db, "vm-1"));
	CHECK_FALSE(contains(db, kSecret));
	CHECK_FALSE(contains(db, toBase64(asBytes(kSecret))));

	REQUIRE(owner->deleteVm("vm-1").ok());
	auto gone = owner->getVm("vm-1");
	REQUIRE_FALSE(gone.ok());
	CHECK(gone.error().tag() == code::kVmNotFound);
	CHECK(owner->deleteVm("vm-1").error().code() == ErrorCode::NotFound);

	// The history outlives the registration.
	auto trail = owner->auditTrail("vm-1");
	REQUIRE(trail.ok());
	REQUIRE(trail->events.size() == 3);
	CHECK(trail->events[0].event == "register");
	CHECK(trail->events[1].event == "update");
	CHECK(trail->events[2].event == "revoke");
	CHECK(owner->auditTrail("never-registered").error().tag() == code::kVmNotFound);
}

TEST_CASE("owner endpoints need the owner's credentials, host endpoints the host token")
{
	test::requireFixtures();
	auto files = test::DaemonFiles::create();
	test::InProcessDaemon daemon(files.config);
	REQUIRE(daemon.ownerClient()->registerVm("vm", sampleRegistration()).ok());

	auto anonymous = daemon.client("")->getVm("vm");
	REQUIRE_FALSE(anonymous.ok());
	CHECK(anonymous.error().code() == ErrorCode::PermissionDenied);
	CHECK(anonymous.error().tag() == code::kUnauthorized);

	auto wrong = daemon.client(std::string(test::kOwnerToken) + "x")->registerVm("vm", sampleRegistration());
	REQUIRE_FALSE(wrong.ok());
	CHECK(wrong.error().tag() == code::kUnauthorized);

	auto hostAsOwner = daemon.hostClient()->deleteVm("vm");
	REQUIRE_FALSE(hostAsOwner.ok());
	CHECK(hostAsOwner.error().tag() == code::kForbidden);

	LaunchRequest lr{ Bytes(2084, 1), Bytes(3 * 2084, 2), std::nullopt };
	auto ownerAsHost = daemon.ownerClient()->launch("vm", lr);
	REQUIRE_FALSE(ownerAsHost.ok());
	CHECK(ownerAsHost.error().tag() == code::kUnauthorized);
	auto noToken = daemon.client("")->end("vm", "some-launch");
	CHECK(noToken.error().tag() == code::kUnauthorized);

	// Nothing of that changed the registration.
	CHECK(daemon.ownerClient()->getVm("vm").ok());
}

TEST_CASE("unknown VMs and launches are 404, bad paths and methods 400/404/405")
{
	test::requireFixtures();
	auto files = test::DaemonFiles::create();
	test::InProcessDaemon daemon(files.config);
	auto owner = transport(daemon.url());
	auto host = transport(daemon.url(), test::kHostToken);

	CHECK(send(owner, "GET", "/v1/vm/nobody").code == "vm-not-found");
	CHECK(send(owner, "GET", "/v1/vm/nobody/launches").status == 404);
	std::string validate = R"({"api-major":0,"api-minor":24,"build-id":1,"policy":1,"measurement":")" +
			       toBase64(Bytes(48, 0)) + "\"}";
	auto a = send(host, "POST", "/v1/vm/nobody/launch/abc/validate", validate);
	CHECK(a.status == 404);
	CHECK(a.code == "vm-not-found");
	CHECK(send(host, "POST", "/v1/vm/nobody/launch/abc/end").code == "vm-not-found");
	REQUIRE(daemon.ownerClient()->registerVm("vm", sampleRegistration()).ok());
	CHECK(send(host, "POST", "/v1/vm/vm/launch/no-such-launch/validate", validate).code == "launch-not-found");
	CHECK(send(host, "POST", "/v1/vm/vm/launch/no-such-launch/end").code == "launch-not-found");

	CHECK(send(owner, "GET", "/v2/vm/vm").status == 404);
	CHECK(send(owner, "GET", "/v1/vm/vm/launch/x/y/z").status == 404);
	CHECK(send(owner, "GET", "/").status == 404);
	auto m = send(host, "GET", "/v1/vm/vm/launch");
	CHECK(m.status == 405);
	CHECK(m.code == "method-not-allowed");
	CHECK(send(owner, "POST", "/v1/vm/vm").status == 405);
	CHECK(send(owner, "GET", "/v1/vm/a%20b").status == 400);
	CHECK(send(owner, "GET", "/v1/vm/a%2Fb").status == 404); // decoded: /v1/vm/a/b
	CHECK(send(owner, "GET", "/v1/vm/" + std::string(200, 'x')).status == 400);
}

TEST_CASE("malformed, mistyped and oversized bodies are clean 400s")
{
	test::requireFixtures();
	auto files = test::DaemonFiles::create();
	files.config.maxBody = 4096;
	test::InProcessDaemon daemon(files.config);
	auto owner = transport(daemon.url());
	auto host = transport(daemon.url(), test::kHostToken);
	REQUIRE(daemon.ownerClient()->registerVm("vm", sampleRegistration()).ok());

	for (const char *body : { "", "{", "[1,2]", "null", "\"x\"", "{\"scheme\":", "\xff\xfe" }) {
		auto a = send(owner, "PUT", "/v1/vm/vm2", body);
		CHECK(a.status == 400);
		CHECK(a.code == "invalid-request");
	}
	auto typed = send(owner, "PUT", "/v1/vm/vm2", R"({"scheme":"amd-sev","policy":"one","launch-digests":[]})");
	CHECK(typed.status == 400);
	CHECK(typed.message == "member 'policy' must be an integer in [0, 4294967295]");
	auto launch = send(host, "POST", "/v1/vm/vm/launch", R"({"pdh":12,"cert-chain":"AAAA"})");
	CHECK(launch.status == 400);
	CHECK(launch.message == "member 'pdh' must be a string");
	auto deep = send(host, "POST", "/v1/vm/vm/launch", std::string(2000, '[') + std::string(2000, ']'));
	CHECK(deep.status == 400);
	auto end = send(host, "POST", "/v1/vm/vm/launch/abc/end", R"({"reason":5})");
	CHECK(end.status == 400);

	auto big = send(owner, "PUT", "/v1/vm/vm2", std::string(5000, ' '));
	CHECK(big.status == 400);
	CHECK(big.code == "body-too-large");

	// Without Content-Length (chunked), the bound holds too.
	std::string chunk(3000, ' ');
	char size[16];
	snprintf(size, sizeof(size), "%zx", chunk.size());
	std::string chunked = "PUT /v1/vm/vm2 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
			      std::string(test::kOwnerToken) + "\r\nTransfer-Encoding: chunked\r\n\r\n" + size +
			      "\r\n" + chunk + "\r\n" + size + "\r\n" + chunk + "\r\n0\r\n\r\n";
	CHECK(rawRequest(daemon.url(), chunked) == "HTTP/1.1 400 Bad Request");
	// Garbage instead of HTTP does not take the server down.
	rawRequest(daemon.url(), "\x16\x03\x01 this is not http\r\n\r\n");
	CHECK(daemon.ownerClient()->getVm("vm").ok());
}

TEST_CASE("metrics and health need no credentials")
{
	test::requireFixtures();
	auto files = test::DaemonFiles::create();
	test::InProcessDaemon daemon(files.config);
	auto anon = transport(daemon.url(), "");
	CHECK(send(anon, "GET", "/v1/vm/x").status == 401);
	auto health = anon.send("GET", "/healthz", SecureBuffer());
	REQUIRE(health.ok());
	CHECK(health->status == 200);
	auto metrics = anon.send("GET", "/metrics", SecureBuffer());
	REQUIRE(metrics.ok());
	CHECK(metrics->status == 200);
	std::string text(asString(metrics->body));
	CHECK(text.find("cvm_attestd_http_requests_total{endpoint=\"show\",status=\"401\"} 1") != std::string::npos);
	CHECK(text.find("cvm_attestd_http_request_duration_seconds_bucket{endpoint=\"health\"") != std::string::npos);
}

TEST_CASE("HTTPS: owners may authenticate with a client certificate from the configured CA")
{
	test::requireFixtures();
	auto files = test::DaemonFiles::create();
	auto pki = test::makeTestPki(files.dir.path());
	files.config.insecureListen.clear();
	files.config.listen = "127.0.0.1:0";
	files.config.tlsCert = pki.serverCert;
	files.config.tlsKey = pki.serverKey;
	files.config.ownerClientCa = pki.caCert;
	test::InProcessDaemon daemon(files.config);
	REQUIRE(daemon.url().rfind("https://", 0) == 0);

	auto withCert = [&](const std::string &cert, const std::string &key) {
		ClientOptions o;
		o.baseUrl = daemon.url();
		o.caFile = pki.caCert;
		o.clientCertFile = cert;
		o.clientKeyFile = key;
		return std::move(Client::create(std::move(o)).value());
	};
	CHECK(withCert(pki.clientCert, pki.clientKey)->registerVm("vm", sampleRegistration()).ok());
	auto stranger = withCert(pki.otherCert, pki.otherKey)->getVm("vm");
	REQUIRE_FALSE(stranger.ok());
	CHECK(stranger.error().tag() == code::kUnauthorized);
	auto noCert = withCert("", "")->getVm("vm");
	CHECK(noCert.error().tag() == code::kUnauthorized);

	// The bearer token works over HTTPS too; plain HTTP is not served.
	ClientOptions o;
	o.baseUrl = daemon.url();
	o.caFile = pki.caCert;
	o.token = SecureBuffer(asBytes(test::kOwnerToken));
	CHECK(std::move(Client::create(std::move(o)).value())->getVm("vm").ok());
	ClientOptions p;
	p.baseUrl = "http://" + daemon.url().substr(8);
	p.timeoutSeconds = 3;
	p.token = SecureBuffer(asBytes(test::kOwnerToken));
	CHECK_FALSE(std::move(Client::create(std::move(p)).value())->getVm("vm").ok());
}

TEST_CASE("a daemon refuses to start on a bad setup")
{
	test::requireFixtures();
	auto files = test::DaemonFiles::create();
	auto config = files.config;
	config.keyFile = files.dir.file("loose.key");
	REQUIRE(writeFileAtomic(config.keyFile, Bytes(32, 1), 0644).ok());
	CHECK(test::tryStartDaemon(config).error().message().find("chmod 600") != std::string::npos);

	config = files.config;
	REQUIRE(writeSecretFile(config.ownerTokenFile, asBytes("  \n")).ok());
	CHECK(test::tryStartDaemon(config).error().message().find("is empty") != std::string::npos);

	config = files.config;
	config.listen = "127.0.0.1:0";
	config.tlsCert = files.dir.file("missing.pem");
	config.tlsKey = files.dir.file("missing.key");
	CHECK_FALSE(test::tryStartDaemon(config).ok());
}

TEST_CASE("connections closed by their clients do not pile up in the server")
{
	test::requireFixtures();
	auto files = test::DaemonFiles::create();
	test::InProcessDaemon daemon(files.config);
	auto countFds = [] {
		size_t n = 0;
		GDir *dir = g_dir_open("/proc/self/fd", 0, nullptr);
		REQUIRE(dir);
		while (g_dir_read_name(dir))
			++n;
		g_dir_close(dir);
		return n;
	};
	// Warm up: the daemon's own descriptors (database connections, ...).
	for (int i = 0; i < 5; ++i)
		CHECK(rawRequest(daemon.url(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n") == "HTTP/1.1 200 OK");
	size_t before = countFds();
	// Each request on a fresh connection that the client closes afterwards
	// (libsoup before 3.3 kept every such connection open: see HttpApi).
	for (int i = 0; i < 100; ++i)
		CHECK(rawRequest(daemon.url(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n") == "HTTP/1.1 200 OK");
	size_t after = countFds();
	for (int i = 0; i < 50 && after > before + 5; ++i) {
		g_usleep(100 * 1000);
		after = countFds();
	}
	INFO(before << " descriptors before, " << after << " after 100 closed connections");
	CHECK(after <= before + 5);
}
