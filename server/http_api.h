// SPDX-License-Identifier: Apache-2.0
//
// The HTTP face of the attestation server on a libsoup 3 SoupServer: routing,
// authentication (owner: bearer token or TLS client certificate; host:
// optional bearer token), bounded request bodies, JSON error bodies, metrics.
// Requests are parsed on the main context and handed to the worker pool; the
// message is paused meanwhile and resumed with the answer.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <libsoup/soup.h>

#include "cvm/common/error.h"
#include "cvm/common/secure_buffer.h"
#include "metrics.h"

namespace cvm::server {

class AttestationService;
class TdxService;
class WorkerPool;

struct ApiOptions {
	size_t maxBody = 256 * 1024;
	SecureBuffer ownerToken;     // empty: bearer tokens are not accepted for owners
	SecureBuffer hostToken;      // empty: host endpoints are open
	bool ownerClientCerts = false; // verified TLS client certificates identify owners
	// Answer every request with "Connection: close". libsoup before 3.3
	// never closes a kept-alive connection the client closed while idle
	// (GNOME/libsoup d20c6601): its descriptor and objects would pile up.
	bool closeConnections = false;
};

// Whether the running libsoup leaks idle connections closed by the client.
bool soupLeaksIdleConnections();

class HttpApi
{
public:
	// `tdx` serves the intel-tdx endpoints (absent: they answer unsupported-scheme).
	HttpApi(ApiOptions options, AttestationService &service, WorkerPool &workers, Metrics &metrics,
		TdxService *tdx = nullptr);
	HttpApi(const HttpApi &) = delete;
	HttpApi &operator=(const HttpApi &) = delete;

	// Installs the handlers on `server` (which must outlive this object's use).
	void attach(SoupServer *server);

	struct Request;
	struct Reply;

private:
	static void earlyHandler(SoupServer *, SoupServerMessage *msg, const char *path, GHashTable *, gpointer self);
	static void handler(SoupServer *, SoupServerMessage *msg, const char *path, GHashTable *, gpointer self);
	void handle(SoupServerMessage *msg, const char *path);
	// Runs `work` on a worker with the message paused, then answers.
	void dispatch(Request *req, std::function<Reply()> work);
	Status authorizeOwner(SoupServerMessage *msg) const;
	Status authorizeHost(SoupServerMessage *msg) const;
	void route(Request *req, const std::vector<std::string> &parts);
	void routeOwner(Request *req, const std::string &vmId, bool audit);
	void routeHost(Request *req, const std::string &vmId, const std::string &launchId, Endpoint endpoint);
	void routeTdx(Request *req, const std::string &vmId, const std::string &launchId, Endpoint endpoint);

	ApiOptions options_;
	AttestationService &service_;
	TdxService *tdx_;
	WorkerPool &workers_;
	Metrics &metrics_;
};

} // namespace cvm::server
