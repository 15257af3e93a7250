// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-attestd"

#include "daemon.h"

#include <atomic>

#include <libsoup/soup.h>

#include "cek_source.h"
#include "cvm/common/file.h"
#include "cvm/common/gptr.h"
#include "http_api.h"
#include "launch_crypto.h"
#include "metrics.h"
#include "cvm/tdx/quote_verify.h"
#include "sealer.h"
#include "service_tdx.h"
#include "store_pool.h"
#include "worker_pool.h"

namespace cvm::server {

// Destruction order matters: the server stops accepting, the workers drain
// (their completions still touch the API and the service), then the rest.
struct Daemon::Parts {
	Metrics metrics;
	std::unique_ptr<SecretSealer> sealer;
	std::unique_ptr<StorePool> stores;
	std::unique_ptr<CekSource> cek;
	std::unique_ptr<LaunchCrypto> crypto;
	std::unique_ptr<AttestationService> service;
	std::unique_ptr<TdxService> tdx;
	std::unique_ptr<HttpApi> api;
	std::unique_ptr<WorkerPool> workers;
	GObjectPtr<SoupServer> server;
	GSourcePtr sweepTimer;
	std::atomic<bool> sweeping{ false };

	~Parts()
	{
		sweepTimer.reset();
		if (server)
			soup_server_disconnect(server.get());
		workers.reset();
	}
};

namespace {

std::string dirName(const std::string &path)
{
	GCharPtr dir(g_path_get_dirname(path.c_str()));
	return dir.get();
}

// GSocketListener's default backlog is 10: a burst of clients connecting at
// once overflows it and the dropped SYNs are retried after a second.
constexpr int kListenBacklog = 1024;

Status listen(SoupServer *server, const std::string &address, bool https)
{
	auto [host, port] = CVM_TRY(parseListenAddress(address));
	GObjectPtr<GSocketAddress> addr(g_inet_socket_address_new_from_string(host.c_str(), port));
	GError *raw = nullptr;
	GObjectPtr<GSocket> socket(g_socket_new(g_socket_address_get_family(addr.get()), G_SOCKET_TYPE_STREAM,
						 G_SOCKET_PROTOCOL_TCP, &raw));
	if (socket) {
		g_socket_set_listen_backlog(socket.get(), kListenBacklog);
		if (!g_socket_bind(socket.get(), addr.get(), TRUE, &raw) || !g_socket_listen(socket.get(), &raw) ||
		    !soup_server_listen_socket(server, socket.get(),
					       https ? SOUP_SERVER_LISTEN_HTTPS : SoupServerListenOptions(0), &raw))
			socket.reset();
	}
	if (!socket) {
		GErrorPtr err(raw);
		return Error::fromGError(err.get(), "cannot listen on " + address);
	}
	return {};
}

Status setupTls(SoupServer *server, const ServerConfig &config)
{
	GError *raw = nullptr;
	GObjectPtr<GTlsCertificate> cert(
		g_tls_certificate_new_from_files(config.tlsCert.c_str(), config.tlsKey.c_str(), &raw));
	if (!cert) {
		GErrorPtr err(raw);
		return Error::fromGError(err.get(), "TLS certificate " + config.tlsCert + " / key " + config.tlsKey);
	}
	soup_server_set_tls_certificate(server, cert.get());
	if (!config.ownerClientCa.empty()) {
		GObjectPtr<GTlsDatabase> db(g_tls_file_database_new(config.ownerClientCa.c_str(), &raw));
		if (!db) {
			GErrorPtr err(raw);
			return Error::fromGError(err.get(), "owner client CA " + config.ownerClientCa);
		}
		soup_server_set_tls_database(server, db.get());
		soup_server_set_tls_auth_mode(server, G_TLS_AUTHENTICATION_REQUESTED);
		// Accept any client certificate at the TLS level: the owner check
		// looks at the verification result, and hosts need no certificate.
		g_signal_connect(server, "request-started", G_CALLBACK(+[](SoupServer *, SoupServerMessage *msg) {
					 g_signal_connect(msg, "accept-certificate",
							  G_CALLBACK(+[](SoupServerMessage *, GTlsCertificate *,
									 GTlsCertificateFlags) -> gboolean { return TRUE; }),
							  nullptr);
				 }),
				 nullptr);
	}
	return {};
}

void scheduleSweeps(Daemon::Parts *p, unsigned seconds)
{
	p->sweepTimer.reset(g_timeout_source_new_seconds(seconds));
	g_source_set_callback(
		p->sweepTimer.get(),
		[](gpointer data) -> gboolean {
			auto *parts = static_cast<Daemon::Parts *>(data);
			if (parts->sweeping.exchange(true))
				return G_SOURCE_CONTINUE;
			bool queued = parts->workers->run([parts] {
				auto n = parts->service->expireStale();
				if (!n)
					g_warning("expiry sweep: %s", n.error().message().c_str());
				parts->sweeping = false;
			});
			if (!queued)
				parts->sweeping = false; // busy: the next tick tries again
			return G_SOURCE_CONTINUE;
		},
		p, nullptr);
	g_source_attach(p->sweepTimer.get(), g_main_context_get_thread_default());
}

} // namespace

Result<SecureBuffer> readTokenFile(const std::string &path)
{
	SecureBuffer token = CVM_TRY(readSecretFile(path, 4096));
	size_t begin = 0, end = token.size();
	while (begin < end && g_ascii_isspace(token.data()[begin]))
		++begin;
	while (end > begin && g_ascii_isspace(token.data()[end - 1]))
		--end;
	if (begin == end)
		return Error(ErrorCode::InvalidData, "token file " + path + " is empty");
	SecureBuffer trimmed(token.view().subspan(begin, end - begin));
	return trimmed;
}

Daemon::Daemon(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}
Daemon::~Daemon() = default;

Result<std::unique_ptr<Daemon>> Daemon::create(const ServerConfig &config, Clock clock)
{
	auto p = std::make_unique<Parts>();
	CVM_CHECK(makeDirectories(dirName(config.keyFile), 0700));
	p->sealer = std::make_unique<SecretSealer>(CVM_TRY(SecretSealer::openKeyFile(config.keyFile)));
	CVM_CHECK(makeDirectories(dirName(config.db), 0700));
	StoreOptions storeOptions;
	storeOptions.syncFull = config.dbSyncFull;
	p->stores = CVM_TRY(StorePool::open(config.db, storeOptions));

	CekSource::Options cekOptions;
	cekOptions.cacheDir = config.cekCache;
	cekOptions.kdsUrl = config.kdsUrl;
	cekOptions.timeoutSeconds = config.kdsTimeout;
	cekOptions.fetch = config.kds;
	p->cek = std::make_unique<CekSource>(std::move(cekOptions), &p->metrics);
	LaunchCrypto::Options cryptoOptions{ config.amdRoots, config.testRoots, config.chainCache };
	p->crypto = CVM_TRY(LaunchCrypto::create(std::move(cryptoOptions), p->cek.get(), &p->metrics));

	ServiceOptions serviceOptions{ config.launchExpiry, config.auditLimit, config.refusalAudits };
	p->service = std::make_unique<AttestationService>(serviceOptions, *p->stores, *p->sealer, *p->crypto,
							  p->metrics, clock);
	TdxServiceOptions tdxOptions{ config.launchExpiry, std::nullopt };
	if (!config.tdxRootCa.empty()) {
		Bytes root = CVM_TRY(readFile(config.tdxRootCa, 1u << 20));
		tdxOptions.rootCaDer = CVM_TRY(tdx::loadRootCertificate(root));
		g_warning("intel-tdx quotes are verified up to %s, not Intel's SGX Root CA", config.tdxRootCa.c_str());
	}
	p->tdx = std::make_unique<TdxService>(std::move(tdxOptions), *p->stores, *p->sealer, p->metrics, std::move(clock));
	GMainContext *context = g_main_context_get_thread_default();
	p->workers = std::make_unique<WorkerPool>(config.workers, context ? context : g_main_context_default(),
						  config.maxQueue);

	ApiOptions apiOptions;
	apiOptions.maxBody = config.maxBody;
	if (!config.ownerTokenFile.empty())
		apiOptions.ownerToken = CVM_TRY(readTokenFile(config.ownerTokenFile));
	if (!config.hostTokenFile.empty())
		apiOptions.hostToken = CVM_TRY(readTokenFile(config.hostTokenFile));
	apiOptions.ownerClientCerts = !config.ownerClientCa.empty();
	apiOptions.closeConnections = soupLeaksIdleConnections();
	if (apiOptions.closeConnections)
		g_info("libsoup %u.%u does not close idle connections closed by clients: answering with "
		       "'Connection: close'", soup_get_major_version(), soup_get_minor_version());
	p->api = std::make_unique<HttpApi>(std::move(apiOptions), *p->service, *p->workers, p->metrics, p->tdx.get());

	p->server.reset(static_cast<SoupServer *>(g_object_new(SOUP_TYPE_SERVER, "server-header",
								"cvm-attestd/" CVM_VERSION " ", nullptr)));
	if (!config.listen.empty())
		CVM_CHECK(setupTls(p->server.get(), config));
	p->api->attach(p->server.get());
	if (!config.listen.empty())
		CVM_CHECK(listen(p->server.get(), config.listen, true));
	if (!config.insecureListen.empty()) {
		CVM_CHECK(listen(p->server.get(), config.insecureListen, false));
		auto address = CVM_TRY(parseListenAddress(config.insecureListen));
		if (isLoopbackAddress(address.first))
			g_warning("serving plain HTTP on %s: for loopback tests and demos only",
				  config.insecureListen.c_str());
		else
			g_warning("SERVING PLAIN HTTP ON THE NETWORK (%s, allow-insecure-remote): owner and host tokens, "
				  "registrations with their secrets and the secret packets cross the network in clear; "
				  "anyone on the path can read them and act as the owner",
				  config.insecureListen.c_str());
	}

	// Launches that expired while we were down, then periodically.
	if (auto n = p->service->expireStale(); !n)
		g_warning("expiry sweep: %s", n.error().message().c_str());
	scheduleSweeps(p.get(), config.expirySweep);
	return std::unique_ptr<Daemon>(new Daemon(std::move(p)));
}

std::vector<std::string> Daemon::urls() const
{
	std::vector<std::string> out;
	GSList *uris = soup_server_get_uris(parts_->server.get());
	for (GSList *l = uris; l; l = l->next) {
		GCharPtr text(g_uri_to_string(static_cast<GUri *>(l->data)));
		out.emplace_back(text.get());
	}
	g_slist_free_full(uris, reinterpret_cast<GDestroyNotify>(g_uri_unref));
	return out;
}

AttestationService &Daemon::service()
{
	return *parts_->service;
}

} // namespace cvm::server
