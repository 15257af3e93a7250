// SPDX-License-Identifier: Apache-2.0
#include "test_http.h"

#include <cstdio>
#include <cstdlib>
#include <future>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "cvm/common/ossl.h"

// Under ASan (clang 14, glibc 2.36) the __tls_get_addr interceptor records
// garbage ranges for the dynamic TLS of dlopen'ed modules (GnuTLS, loaded by
// glib-networking), and LeakSanitizer's tracer then crashes at exit ("Tracer
// caught signal 11", "DTLS … at 0x0007…"). Not intercepting it keeps the leak
// check working; these programs' own TLS blocks are static. Linked into every
// test program that uses these HTTP helpers.
extern "C" const char *__asan_default_options()
{
	return "intercept_tls_get_addr=0";
}

namespace cvm::test {

namespace {

[[noreturn]] void die(const char *what)
{
	fprintf(stderr, "test PKI: %s failed\n", what);
	abort();
}

EvpPkeyPtr newKey()
{
	EvpPkeyPtr key(EVP_EC_gen("P-256"));
	if (!key)
		die("EVP_EC_gen");
	return key;
}

void addExt(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
	if (!ext || !X509_add_ext(cert, ext, -1))
		die("X509_add_ext");
	X509_EXTENSION_free(ext);
}

X509Ptr makeCert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuerKey, bool ca, const char *san,
		 long serial)
{
	X509Ptr cert(X509_new());
	X509_set_version(cert.get(), 2);
	ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
	X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
	X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400);
	X509_set_pubkey(cert.get(), key);
	X509_NAME *name = X509_get_subject_name(cert.get());
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char *>(cn), -1, -1, 0);
	X509 *iss = issuer ? issuer : cert.get();
	X509_set_issuer_name(cert.get(), X509_get_subject_name(iss));
	addExt(cert.get(), iss, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	addExt(cert.get(), iss, NID_key_usage, ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
	addExt(cert.get(), iss, NID_subject_key_identifier, "hash");
	if (issuer)
		addExt(cert.get(), iss, NID_authority_key_identifier, "keyid");
	if (san)
		addExt(cert.get(), iss, NID_subject_alt_name, san);
	if (!ca)
		addExt(cert.get(), iss, NID_ext_key_usage, "serverAuth,clientAuth");
	if (!X509_sign(cert.get(), issuerKey ? issuerKey : key, EVP_sha256()))
		die("X509_sign");
	return cert;
}

void writePem(const std::string &path, X509 *cert, EVP_PKEY *key)
{
	FILE *f = fopen(path.c_str(), "w");
	if (!f)
		die("fopen");
	if (cert && !PEM_write_X509(f, cert))
		die("PEM_write_X509");
	if (key && !PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr))
		die("PEM_write_PrivateKey");
	fclose(f);
}

} // namespace

TestPki makeTestPki(const std::string &dir)
{
	TestPki pki;
	pki.dir = dir;
	EvpPkeyPtr caKey = newKey(), serverKey = newKey(), clientKey = newKey(), otherKey = newKey();
	X509Ptr ca = makeCert(caKey.get(), "cvm test CA", nullptr, nullptr, true, nullptr, 1);
	X509Ptr server = makeCert(serverKey.get(), "127.0.0.1", ca.get(), caKey.get(), false,
				  "IP:127.0.0.1,DNS:localhost", 2);
	X509Ptr client = makeCert(clientKey.get(), "guest owner", ca.get(), caKey.get(), false, nullptr, 3);
	X509Ptr other = makeCert(otherKey.get(), "someone else", nullptr, nullptr, false, nullptr, 4);
	pki.caCert = dir + "/ca.pem";
	pki.serverCert = dir + "/server.pem";
	pki.serverKey = dir + "/server.key";
	pki.clientCert = dir + "/client.pem";
	pki.clientKey = dir + "/client.key";
	pki.otherCert = dir + "/other.pem";
	pki.otherKey = dir + "/other.key";
	writePem(pki.caCert, ca.get(), nullptr);
	writePem(pki.serverCert, server.get(), nullptr);
	writePem(pki.serverKey, nullptr, serverKey.get());
	writePem(pki.clientCert, client.get(), nullptr);
	writePem(pki.clientKey, nullptr, clientKey.get());
	writePem(pki.otherCert, other.get(), nullptr);
	writePem(pki.otherKey, nullptr, otherKey.get());
	return pki;
}

StubServer::StubServer(Handler handler, const std::string &tlsCert, const std::string &tlsKey,
		       const std::string &clientCa)
	: handler_(std::move(handler))
{
	std::promise<std::string> ready;
	auto readyFuture = ready.get_future();
	thread_ = std::thread([this, &ready, tlsCert, tlsKey, clientCa] {
		context_ = g_main_context_new();
		g_main_context_push_thread_default(context_);
		loop_ = g_main_loop_new(context_, FALSE);
		server_ = soup_server_new(nullptr, nullptr);
		GError *error = nullptr;
		if (!tlsCert.empty()) {
			GTlsCertificate *cert = g_tls_certificate_new_from_files(tlsCert.c_str(), tlsKey.c_str(), &error);
			if (!cert) {
				fprintf(stderr, "stub server: %s\n", error->message);
				abort();
			}
			soup_server_set_tls_certificate(server_, cert);
			g_object_unref(cert);
			if (!clientCa.empty()) {
				GTlsDatabase *db = g_tls_file_database_new(clientCa.c_str(), &error);
				soup_server_set_tls_database(server_, db);
				soup_server_set_tls_auth_mode(server_, G_TLS_AUTHENTICATION_REQUESTED);
				// libsoup 3.2 asks about every client certificate, even
				// one that verified: accept exactly those.
				g_signal_connect(server_, "request-started",
						 G_CALLBACK(+[](SoupServer *, SoupServerMessage *m) {
							 g_signal_connect(
								 m, "accept-certificate",
								 G_CALLBACK(+[](SoupServerMessage *, GTlsCertificate *,
										GTlsCertificateFlags f) -> gboolean {
									 return f == 0;
								 }),
								 nullptr);
						 }),
						 nullptr);
				g_object_unref(db);
			}
		}
		soup_server_add_handler(
			server_, nullptr,
			[](SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *, gpointer self) {
				static_cast<StubServer *>(self)->handler_(server, msg, path);
			},
			this, nullptr);
		GSocketAddress *addr = g_inet_socket_address_new_from_string("127.0.0.1", 0);
		if (!soup_server_listen(server_, addr, tlsCert.empty() ? SoupServerListenOptions(0)
								       : SOUP_SERVER_LISTEN_HTTPS,
					&error)) {
			fprintf(stderr, "stub server: %s\n", error->message);
			abort();
		}
		g_object_unref(addr);
		GSList *uris = soup_server_get_uris(server_);
		char *text = g_uri_to_string(static_cast<GUri *>(uris->data));
		std::string url = text;
		g_free(text);
		g_slist_free_full(uris, reinterpret_cast<GDestroyNotify>(g_uri_unref));
		if (!url.empty() && url.back() == '/')
			url.pop_back();
		ready.set_value(url);
		g_main_loop_run(loop_);
		soup_server_disconnect(server_);
		g_object_unref(server_);
		while (g_main_context_pending(context_))
			g_main_context_iteration(context_, FALSE);
		g_main_loop_unref(loop_);
		g_main_context_pop_thread_default(context_);
		g_main_context_unref(context_);
	});
	url_ = readyFuture.get();
}

StubServer::~StubServer()
{
	call([this] { g_main_loop_quit(loop_); });
	thread_.join();
}

void StubServer::call(std::function<void()> fn)
{
	std::promise<void> done;
	auto fut = done.get_future();
	struct Call {
		std::function<void()> fn;
		std::promise<void> *done;
	};
	auto c = std::make_unique<Call>(Call{ std::move(fn), &done });
	g_main_context_invoke(
		context_,
		[](gpointer data) -> gboolean {
			std::unique_ptr<Call> call(static_cast<Call *>(data));
			call->fn();
			call->done->set_value();
			return G_SOURCE_REMOVE;
		},
		c.release());
	fut.get();
}

std::string requestBody(SoupServerMessage *msg)
{
	SoupMessageBody *body = soup_server_message_get_request_body(msg);
	GBytes *bytes = soup_message_body_flatten(body);
	gsize size = 0;
	const char *data = static_cast<const char *>(g_bytes_get_data(bytes, &size));
	std::string out(data ? data : "", size);
	g_bytes_unref(bytes);
	return out;
}

void respondJson(SoupServerMessage *msg, unsigned status, const std::string &json)
{
	soup_server_message_set_status(msg, status, nullptr);
	if (!json.empty())
		soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_COPY, json.data(), json.size());
}

} // namespace cvm::test
