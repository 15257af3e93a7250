// SPDX-License-Identifier: Apache-2.0
//
// bench/as: cvm-attestd on loopback under closed-loop load at 1, 8 and 32
// concurrent clients, next to the crypto bound measured in the same run.
//
//   as-bench [--attestd PATH] [--seconds S] [--clients 1,8,32] [--db-sync full|normal]
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <glib.h>

#include "cvm/attest/http_transport.h"
#include "cvm/attest/protocol.h"
#include "cvm/common/file.h"
#include "cvm/common/gptr.h"
#include "crypto_bound.h"
#include "load.h"

using namespace cvm;
using namespace cvm::bench;

namespace {

const char *kToken = "bench-owner-token-0123456789abcdef";

struct Options {
	std::string attestd;
	double seconds = 5;
	std::vector<unsigned> clients = { 1, 8, 32 };
	std::string dbSync = "full";
};

Options parseArgs(int argc, char **argv)
{
	Options o;
	const char *root = g_getenv("CVM_BUILD_ROOT");
	o.attestd = std::string(root ? root : ".") + "/server/cvm-attestd";
	for (int i = 1; i + 1 < argc; i += 2) {
		std::string k = argv[i], v = argv[i + 1];
		if (k == "--attestd")
			o.attestd = v;
		else if (k == "--seconds")
			o.seconds = atof(v.c_str());
		else if (k == "--db-sync")
			o.dbSync = v;
		else if (k == "--clients") {
			o.clients.clear();
			GStrvPtr parts(g_strsplit(v.c_str(), ",", -1));
			for (gchar **p = parts.get(); *p; ++p)
				o.clients.push_back(static_cast<unsigned>(atoi(*p)));
		} else {
			fprintf(stderr, "usage: as-bench [--attestd PATH] [--seconds S] [--clients 1,8,32] "
					"[--db-sync full|normal]\n");
			exit(2);
		}
	}
	return o;
}

std::vector<attest::HttpTransport> transports(const std::string &url, unsigned n)
{
	std::vector<attest::HttpTransport> out;
	for (unsigned i = 0; i < n; ++i) {
		attest::ClientOptions o;
		o.baseUrl = url;
		o.token = SecureBuffer(asBytes(kToken));
		out.push_back(std::move(attest::HttpTransport::create(std::move(o)).value()));
	}
	return out;
}

// The owner path: PUT a registration (a write transaction with a sealed
// secret), then GET it back. Exercises HTTP, workers, sealing and SQLite.
Flow ownerFlow(std::vector<attest::HttpTransport> &clients)
{
	return [&clients](unsigned c, std::function<void(bool)> done) {
		attest::Registration r;
		r.sev.policy = 1;
		r.sev.launchDigests = { Bytes(32, static_cast<uint8_t>(c)) };
		r.secrets.push_back({ attest::luksKeyGuid(), SecureBuffer(asBytes("bench-secret")) });
		std::string path = "/v1/vm/bench-" + std::to_string(c);
		clients[c].sendAsync("PUT", path, attest::registrationToJson(r), nullptr,
				     [&clients, c, path, done](Result<attest::HttpReply> put) {
					     if (!put || put->status >= 300)
						     return done(false);
					     clients[c].sendAsync("GET", path, SecureBuffer(), nullptr,
								  [done](Result<attest::HttpReply> get) {
									  done(get.ok() && get->status == 200);
								  });
				     });
	};
}

// bound == 0: no ratio column (a path without the launch crypto).
void printTable(const char *title, const std::vector<LoadResult> &results, double bound)
{
	printf("%s\n", title);
	printf("  %7s %10s %9s %9s %8s %s\n", "clients", "flows/s", "p50 ms", "p99 ms", "errors",
	       bound > 0 ? "flows/bound" : "");
	for (const auto &r : results) {
		printf("  %7u %10.1f %9.2f %9.2f %8zu", r.clients, r.rate(), r.percentile(50), r.percentile(99),
		       r.failures);
		if (bound > 0)
			printf(" %10.2f", r.rate() / bound);
		printf("\n");
	}
	for (const auto &r : results)
		if (!r.firstFailure.empty())
			printf("  first failure at %u clients: %s\n", r.clients, r.firstFailure.c_str());
}

} // namespace

int main(int argc, char **argv)
{
	Options o = parseArgs(argc, argv);
	auto dir = TempDir::create("cvm-as-bench-");
	if (!dir) {
		fprintf(stderr, "as-bench: %s\n", dir.error().message().c_str());
		return 1;
	}
	if (!writeSecretFile(dir->file("owner.token"), asBytes(kToken))) {
		fprintf(stderr, "as-bench: cannot write the token file\n");
		return 1;
	}

	double bound1 = cryptoBound(1, 2.0);
	double bound2 = cryptoBound(2, 2.0);
	printf("as-bench: crypto bound (one P-384 keygen + ECDH derive per flow, in-process):\n");
	printf("  1 thread: %.0f flows/s, 2 threads: %.0f flows/s (%u CPUs)\n", bound1, bound2,
	       g_get_num_processors());

	ServerProcess server(o.attestd, dir->path(),
			     { "--insecure-listen", "127.0.0.1:0", "--db", dir->file("as.db"), "--key-file",
			       dir->file("as.key"), "--owner-token-file", dir->file("owner.token"), "--test-roots",
			       dir->path(), "--no-kds", "--db-sync", o.dbSync });
	GMainContextPtr ctx(g_main_context_new());
	g_main_context_push_thread_default(ctx.get());
	unsigned maxClients = 0;
	for (unsigned c : o.clients)
		maxClients = std::max(maxClients, c);
	auto clients = transports(server.url(), maxClients);

	std::vector<LoadResult> owner;
	for (unsigned c : o.clients)
		owner.push_back(runClosedLoop(c, o.seconds, ownerFlow(clients)));
	printTable(("as-bench: owner path (PUT register + GET show), db-sync=" + o.dbSync + ":").c_str(), owner, 0);

	printf("as-bench: launch+validate flows: not measured: SEV crypto (sev/) and the platform simulator (sim/) "
	       "have not landed in this tree yet\n");
	clients.clear();
	g_main_context_pop_thread_default(ctx.get());
	return 0;
}
