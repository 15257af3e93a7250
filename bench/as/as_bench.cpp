// SPDX-License-Identifier: Apache-2.0
//
// bench/as: cvm-attestd on loopback under closed-loop load at 1, 8 and 32
// concurrent clients, next to the crypto bound measured in the same run.
//
//   as-bench [--attestd PATH] [--seconds S] [--clients 1,8,32] [--db-sync full|normal] [--workers N]
//
// Next to each host-flow row it prints where the time went: the server's own
// request time and CPU per flow (from its /metrics and /proc) against the
// bench's CPU per flow (the stand-in platform's crypto and the HTTP clients,
// which compete with the server for the same CPUs).
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <utility>
#include <string>
#include <vector>

#include <glib.h>

#include "cvm/attest/http_transport.h"
#include "cvm/attest/protocol.h"
#include "cvm/common/file.h"
#include "cvm/common/gptr.h"
#include "cvm/common/json.h"
#include "crypto_bound.h"
#include "flow_crypto.h"
#include "test_platform.h"
#include "load.h"
#include "server_share.h"

using namespace cvm;
using namespace cvm::bench;

namespace {

const char *kToken = "bench-owner-token-0123456789abcdef";

struct Options {
	std::string attestd;
	double seconds = 5;
	std::vector<unsigned> clients = { 1, 8, 32 };
	std::string dbSync = "full";
	std::string workers; // empty: the server's default
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
		else if (k == "--workers")
			o.workers = v;
		else if (k == "--clients") {
			o.clients.clear();
			GStrvPtr parts(g_strsplit(v.c_str(), ",", -1));
			for (gchar **p = parts.get(); *p; ++p)
				o.clients.push_back(static_cast<unsigned>(atoi(*p)));
		} else {
			fprintf(stderr, "usage: as-bench [--attestd PATH] [--seconds S] [--clients 1,8,32] "
					"[--db-sync full|normal] [--workers N]\n");
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

const Bytes kLaunchDigest(32, 0x3c);
const char *kHostVm = "/v1/vm/bench-host";

// The host path, end to end: POST launch (chain check, fresh session, sealed
// keys, the bounded insert), the platform opens the session and measures (in
// this process, as the firmware would), POST validate (verdict, secret
// packet), and the platform opens the packet. One flow = one VM launched and
// validated. The platform's crypto shares the CPUs with the server.
class HostFlow
{
public:
	HostFlow(std::vector<attest::HttpTransport> &clients, const test::TestPlatform &platform)
		: clients_(clients), platform_(platform),
		  launchBody_(json::serialize(attest::launchRequestToJson(platform.launchRequest()).get()))
	{
	}

	void start(unsigned c, std::function<void(bool)> done)
	{
		clients_[c].sendAsync("POST", std::string(kHostVm) + "/launch", SecureBuffer(asBytes(launchBody_)),
				      nullptr, [this, c, done](Result<attest::HttpReply> reply) {
					      launched(c, std::move(reply), done);
				      });
	}

	const std::string &firstFailure() const { return firstFailure_; }
	// Wall time spent in the stand-in platform's crypto (open, measure, open the secret).
	double platformSeconds() const { return static_cast<double>(platformUs_) / 1e6; }

private:
	bool failed(const std::string &what, const std::function<void(bool)> &done)
	{
		if (firstFailure_.empty())
			firstFailure_ = what;
		done(false);
		return false;
	}

	static Result<JsonNodePtr> body(Result<attest::HttpReply> &reply, unsigned status)
	{
		if (!reply)
			return reply.error();
		if (reply->status != status)
			return Error(ErrorCode::Remote, "HTTP " + std::to_string(reply->status) + ": " +
								std::string(asString(reply->body)));
		return json::parseObject(asString(reply->body));
	}

	void launched(unsigned c, Result<attest::HttpReply> reply, const std::function<void(bool)> &done)
	{
		auto node = body(reply, 201);
		if (!node)
			return (void)failed("launch: " + node.error().message(), done);
		auto launch = attest::parseLaunchResponse(json_node_get_object(node->get()));
		if (!launch)
			return (void)failed("launch: " + launch.error().message(), done);
		gint64 t0 = g_get_monotonic_time();
		auto keys = platform_.open(*launch);
		if (!keys)
			return (void)failed("LAUNCH_START: " + keys.error().message(), done);
		auto shared = std::make_shared<std::pair<sev::TransportKeys, attest::ValidateRequest>>(
			std::move(*keys), attest::ValidateRequest());
		shared->second = platform_.measure(shared->first, launch->policy, kLaunchDigest);
		platformUs_ += g_get_monotonic_time() - t0;
		std::string path = std::string(kHostVm) + "/launch/" + launch->launchId + "/validate";
		std::string report = json::serialize(attest::validateRequestToJson(shared->second).get());
		clients_[c].sendAsync("POST", path, SecureBuffer(asBytes(report)), nullptr,
				      [this, shared, done](Result<attest::HttpReply> r) {
					      validated(*shared, std::move(r), done);
				      });
	}

	void validated(const std::pair<sev::TransportKeys, attest::ValidateRequest> &launch,
		       Result<attest::HttpReply> reply, const std::function<void(bool)> &done)
	{
		auto node = body(reply, 200);
		if (!node)
			return (void)failed("validate: " + node.error().message(), done);
		auto answer = attest::parseValidateResponse(json_node_get_object(node->get()));
		if (!answer)
			return (void)failed("validate: " + answer.error().message(), done);
		gint64 t0 = g_get_monotonic_time();
		auto table = platform_.openSecret(launch.first, launch.second, *answer);
		platformUs_ += g_get_monotonic_time() - t0;
		if (!table || table->size() != 1)
			return (void)failed("LAUNCH_SECRET: the packet does not open", done);
		done(true);
	}

	std::vector<attest::HttpTransport> &clients_;
	const test::TestPlatform &platform_;
	std::string launchBody_;
	std::string firstFailure_;
	gint64 platformUs_ = 0;
};

Status registerHostVm(attest::HttpTransport &client)
{
	attest::Registration r;
	r.sev.policy = 1;
	r.sev.launchDigests = { kLaunchDigest };
	r.secrets.push_back({ attest::luksKeyGuid(), SecureBuffer(asBytes("bench-secret")) });
	r.maxConcurrentLaunches = 1000000; // validated launches stay counted: no bound in the way
	auto reply = client.send("PUT", kHostVm, attest::registrationToJson(r));
	if (!reply)
		return reply.error();
	if (reply->status >= 300)
		return Error(ErrorCode::Remote, "registering the bench VM: HTTP " + std::to_string(reply->status));
	return {};
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

// The server's share of a flow: its request time against the client-seen
// latency, and its CPU against the bench's (both on the same CPUs).
void printShares(const std::vector<LoadResult> &runs, const std::vector<FlowShare> &shares,
		 const std::vector<double> &platformMs)
{
	printf("as-bench: per flow, where the time went (ms; server from its /metrics and /proc, bench = this "
	       "process):\n");
	printf("  %7s %10s %11s %9s %10s %10s %12s\n", "clients", "mean lat", "server req", "req/lat",
	       "server cpu", "bench cpu", "platform wall");
	for (size_t i = 0; i < runs.size(); ++i) {
		double mean = 0;
		for (double l : runs[i].latencyMs)
			mean += l;
		mean = runs[i].latencyMs.empty() ? 0 : mean / static_cast<double>(runs[i].latencyMs.size());
		const FlowShare &s = shares[i];
		printf("  %7u %10.2f %11.2f %9.2f %10.2f %10.2f %12.2f\n", runs[i].clients, mean, s.serverRequestMs,
		       mean > 0 ? s.serverRequestMs / mean : 0, s.serverCpuMs, s.benchCpuMs, platformMs[i]);
	}
	printf("  server cpu share of all flow cpu: ");
	for (const auto &s : shares)
		printf("%.2f ", s.serverCpuMs + s.benchCpuMs > 0 ? s.serverCpuMs / (s.serverCpuMs + s.benchCpuMs) : 0);
	printf("\n  chain-cache hit ratio: ");
	for (const auto &s : shares)
		printf("%.2f ", s.chainHitRatio);
	printf("\n");
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

	test::TestPlatform platform;
	platform.writeRoots(dir->file("roots"));

	double bound1 = cryptoBound(1, 2.0);
	double bound2 = cryptoBound(2, 2.0);
	printf("as-bench: crypto bound (one P-384 keygen + ECDH derive per flow, in-process):\n");
	printf("  1 thread: %.0f flows/s, 2 threads: %.0f flows/s (%u CPUs)\n", bound1, bound2,
	       g_get_num_processors());
	double whole = flowCryptoRate(platform, g_get_num_processors() > 1 ? 2 : 1, 2.0);
	printf("as-bench: whole-flow SEV crypto, both ends (session, LAUNCH_START, measure, match, secret), "
	       "in-process: %.0f flows/s\n", whole);

	std::vector<std::string> serverArgs = { "--insecure-listen", "127.0.0.1:0", "--db", dir->file("as.db"), "--key-file",
			       dir->file("as.key"), "--owner-token-file", dir->file("owner.token"), "--test-roots",
			       dir->file("roots"), "--no-kds", "--db-sync", o.dbSync };
	if (!o.workers.empty())
		serverArgs.insert(serverArgs.end(), { "--workers", o.workers });
	ServerProcess server(o.attestd, dir->path(), serverArgs);
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

	if (auto s = registerHostVm(clients[0]); !s) {
		fprintf(stderr, "as-bench: %s\n", s.error().message().c_str());
		return 1;
	}
	HostFlow host(clients, platform);
	std::vector<LoadResult> launches;
	std::vector<FlowShare> shares;
	std::vector<double> platformMs;
	for (unsigned c : o.clients) {
		ServerSample before = sampleServer(clients[0], server.pid());
		double platformBefore = host.platformSeconds();
		launches.push_back(runClosedLoop(c, o.seconds, [&host](unsigned client, std::function<void(bool)> done) {
			host.start(client, std::move(done));
		}));
		size_t flows = launches.back().latencyMs.size() + launches.back().failures;
		shares.push_back(shareBetween(before, sampleServer(clients[0], server.pid()), flows));
		platformMs.push_back(flows ? (host.platformSeconds() - platformBefore) * 1000 / flows : 0);
	}
	double bound = g_get_num_processors() > 1 ? bound2 : bound1;
	printTable(("as-bench: launch+validate flows (real SEV crypto; platform side in the bench process), "
		    "db-sync=" + o.dbSync + ", ratio vs the crypto bound:").c_str(),
		   launches, bound);
	for (const auto &r : launches)
		printf("  %u clients: %.2f of the whole-flow crypto rate\n", r.clients, r.rate() / whole);
	printShares(launches, shares, platformMs);
	if (!host.firstFailure().empty())
		printf("  first failure: %s\n", host.firstFailure().c_str());
	clients.clear();
	g_main_context_pop_thread_default(ctx.get());
	return 0;
}
