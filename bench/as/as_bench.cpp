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
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <ctime>
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
#include "platform_pool.h"
#include "server_share.h"

using namespace cvm;
using namespace cvm::bench;

namespace {

const char *kToken = "bench-owner-token-0123456789abcdef";

struct Options {
	std::string attestd;
	double seconds = 5;
	std::vector<unsigned> clients = { 1, 8, 32 };
	std::string dbSync = "normal";
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

double threadCpuMs()
{
	timespec t{};
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

// The host path, end to end: POST launch (chain check, fresh session, sealed
// keys, the bounded insert), the platform opens the session and measures (in
// this process, as the firmware would, on the platform pool's threads), POST
// validate (verdict, secret packet), the platform opens the packet, and POST
// end (the VM is done: its slot is free again, as a host reports it). One
// flow = one VM launched, validated and ended. The platform's crypto shares
// the CPUs with the server.
class HostFlow
{
public:
	HostFlow(std::vector<attest::HttpTransport> &clients, const test::TestPlatform &platform, PlatformPool &pool)
		: clients_(clients), platform_(platform), pool_(pool),
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
	// CPU time spent in the stand-in platform's crypto (open, measure, open the secret).
	double platformCpuMs() const { return platformCpuUs_.load() / 1e3; }

private:
	struct Launch {
		attest::LaunchResponse response;
		Result<sev::TransportKeys> keys = Error(ErrorCode::Internal, "not opened");
		attest::ValidateRequest report;
		Result<attest::ValidateResponse> answer = Error(ErrorCode::Internal, "no answer");
		bool opened = false;
	};

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

	// Runs `work` on the platform pool, accounting its CPU time.
	void onPlatform(std::function<void()> work, std::function<void()> then)
	{
		pool_.run(
			[this, work = std::move(work)] {
				double t0 = threadCpuMs();
				work();
				platformCpuUs_ += static_cast<long>((threadCpuMs() - t0) * 1e3);
			},
			std::move(then));
	}

	void launched(unsigned c, Result<attest::HttpReply> reply, const std::function<void(bool)> &done)
	{
		auto node = body(reply, 201);
		if (!node)
			return (void)failed("launch: " + node.error().message(), done);
		auto response = attest::parseLaunchResponse(json_node_get_object(node->get()));
		if (!response)
			return (void)failed("launch: " + response.error().message(), done);
		auto l = std::make_shared<Launch>();
		l->response = std::move(*response);
		onPlatform(
			[this, l] {
				l->keys = platform_.open(l->response);
				if (l->keys)
					l->report = platform_.measure(*l->keys, l->response.policy, kLaunchDigest);
			},
			[this, c, l, done] { measured(c, l, done); });
	}

	void measured(unsigned c, const std::shared_ptr<Launch> &l, const std::function<void(bool)> &done)
	{
		if (!l->keys)
			return (void)failed("LAUNCH_START: " + l->keys.error().message(), done);
		std::string path = std::string(kHostVm) + "/launch/" + l->response.launchId + "/validate";
		std::string report = json::serialize(attest::validateRequestToJson(l->report).get());
		clients_[c].sendAsync("POST", path, SecureBuffer(asBytes(report)), nullptr,
				      [this, c, l, done](Result<attest::HttpReply> r) { validated(c, l, std::move(r), done); });
	}

	void validated(unsigned c, const std::shared_ptr<Launch> &l, Result<attest::HttpReply> reply,
		       const std::function<void(bool)> &done)
	{
		auto node = body(reply, 200);
		if (!node)
			return (void)failed("validate: " + node.error().message(), done);
		l->answer = attest::parseValidateResponse(json_node_get_object(node->get()));
		if (!l->answer)
			return (void)failed("validate: " + l->answer.error().message(), done);
		onPlatform(
			[this, l] {
				auto table = platform_.openSecret(*l->keys, l->report, *l->answer);
				l->opened = table && table->size() == 1;
			},
			[this, c, l, done] { opened(c, l, done); });
	}

	void opened(unsigned c, const std::shared_ptr<Launch> &l, const std::function<void(bool)> &done)
	{
		if (!l->opened)
			return (void)failed("LAUNCH_SECRET: the packet does not open", done);
		std::string path = std::string(kHostVm) + "/launch/" + l->response.launchId + "/end";
		clients_[c].sendAsync("POST", path, SecureBuffer(asBytes("{\"reason\":\"bench flow done\"}")), nullptr,
				      [this, done](Result<attest::HttpReply> r) {
					      if (!r || r->status != 204)
						      return (void)failed("end: " + (r ? "HTTP " + std::to_string(r->status)
											: r.error().message()),
									  done);
					      done(true);
				      });
	}

	std::vector<attest::HttpTransport> &clients_;
	const test::TestPlatform &platform_;
	PlatformPool &pool_;
	std::string launchBody_;
	std::string firstFailure_;
	std::atomic<long> platformCpuUs_{ 0 };
};

Status registerHostVm(attest::HttpTransport &client)
{
	attest::Registration r;
	r.sev.policy = 1;
	r.sev.launchDigests = { kLaunchDigest };
	r.secrets.push_back({ attest::luksKeyGuid(), SecureBuffer(asBytes("bench-secret")) });
	// Every flow ends its launch, so at most one per client is active; the
	// bound only has to stay out of the way.
	r.maxConcurrentLaunches = 1000;
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
	       "server cpu", "bench cpu", "platform cpu");
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

// What the server alone would do with the machine: the bound's CPU per flow
// against the server's (independent of how busy the machine is), and the
// flows/s the server's CPU per flow allows on all CPUs, next to the bound's.
void printServerOnly(const std::vector<LoadResult> &runs, const std::vector<FlowShare> &shares, const Rate &bound1)
{
	unsigned cpus = g_get_num_processors();
	double boundRate = bound1.cpuMsPerCall > 0 ? cpus * 1000.0 / bound1.cpuMsPerCall : 0;
	printf("as-bench: server only (its CPU per flow; the bench's platform and clients left out):\n");
	printf("  %7s %10s %12s %16s\n", "clients", "server cpu", "efficiency", "server-only f/s");
	for (size_t i = 0; i < runs.size(); ++i) {
		double cpu = shares[i].serverCpuMs;
		printf("  %7u %10.2f %12.2f %16.0f\n", runs[i].clients, cpu, cpu > 0 ? bound1.cpuMsPerCall / cpu : 0,
		       cpu > 0 ? cpus * 1000.0 / cpu : 0);
	}
	printf("  (efficiency = the bound's CPU per flow, %.2f ms, / the server's; server-only f/s = %u CPUs / the "
	       "server's CPU per flow, against %.0f f/s for the bound on %u free CPUs)\n",
	       bound1.cpuMsPerCall, cpus, boundRate, cpus);
}

// Little's law for N closed-loop clients: mean latency = N / throughput, so
// no server reaches a mean below N / bound, and p99 < 25 ms at 32 clients
// needs more than 32 / 0.025 = 1280 flows/s.
void printLatencyFloor(const std::vector<unsigned> &clients, double bound, const Rate &bound1)
{
	unsigned cpus = g_get_num_processors();
	double free = bound1.cpuMsPerCall > 0 ? std::min(2u, cpus) * 1000.0 / bound1.cpuMsPerCall : 0;
	printf("as-bench: latency floor (Little's law, closed loop: mean latency >= clients / bound):\n ");
	for (unsigned c : clients)
		printf(" %u clients >= %.1f ms (%.1f ms on free CPUs);", c, bound > 0 ? c * 1000.0 / bound : 0,
		       free > 0 ? c * 1000.0 / free : 0);
	printf("\n  p99 < 25 ms at 32 clients needs > 1280 flows/s; the bound is %.0f flows/s now, %.0f on %u free "
	       "CPUs (%s)\n",
	       bound, free, std::min(2u, cpus),
	       free > 1280 ? "above 1280 only with the CPUs to the server alone" : "not reachable on this machine");
}

struct Bounds {
	Rate one, two, whole;
	double best = 0; // on all CPUs (up to 2 threads)
};

Bounds measureBounds(const test::TestPlatform &platform)
{
	Bounds b;
	b.one = cryptoBound(1, 2.0);
	b.two = cryptoBound(2, 2.0);
	b.best = g_get_num_processors() > 1 ? b.two.perSecond : b.one.perSecond;
	printf("as-bench: crypto bound (one P-384 keygen + ECDH derive per flow, the PDH point checked on the curve; "
	       "in-process):\n");
	printf("  1 thread: %.0f flows/s, 2 threads: %.0f flows/s (%u CPUs); %.2f ms CPU per flow\n", b.one.perSecond,
	       b.two.perSecond, g_get_num_processors(), b.one.cpuMsPerCall);
	b.whole = flowCryptoRate(platform, g_get_num_processors() > 1 ? 2 : 1, 2.0);
	printf("as-bench: whole-flow SEV crypto, both ends (session, LAUNCH_START, measure, match, secret), "
	       "in-process: %.0f flows/s; %.2f ms CPU per flow\n", b.whole.perSecond, b.whole.cpuMsPerCall);
	return b;
}

struct HostRuns {
	std::vector<LoadResult> loads;
	std::vector<FlowShare> shares;
	std::vector<double> platformMs;
};

HostRuns runHostFlows(const Options &o, std::vector<attest::HttpTransport> &clients, const test::TestPlatform &platform,
		      const ServerProcess &server)
{
	PlatformPool pool(0);
	HostFlow host(clients, platform, pool);
	HostRuns runs;
	for (unsigned c : o.clients) {
		ServerSample before = sampleServer(clients[0], server.pid());
		double platformBefore = host.platformCpuMs();
		runs.loads.push_back(runClosedLoop(c, o.seconds, [&host](unsigned client, std::function<void(bool)> done) {
			host.start(client, std::move(done));
		}));
		size_t flows = runs.loads.back().latencyMs.size() + runs.loads.back().failures;
		runs.shares.push_back(shareBetween(before, sampleServer(clients[0], server.pid()), flows));
		runs.platformMs.push_back(flows ? (host.platformCpuMs() - platformBefore) / flows : 0);
	}
	if (!host.firstFailure().empty())
		printf("  first failure: %s\n", host.firstFailure().c_str());
	return runs;
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
	Bounds bounds = measureBounds(platform);
	printLatencyFloor(o.clients, bounds.best, bounds.one);

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
	HostRuns runs = runHostFlows(o, clients, platform, server);
	printTable(("as-bench: launch+validate+end flows (real SEV crypto; platform side in the bench process), "
		    "db-sync=" + o.dbSync + ", ratio vs the crypto bound:").c_str(),
		   runs.loads, bounds.best);
	for (const auto &r : runs.loads)
		printf("  %u clients: %.2f of the whole-flow crypto rate\n", r.clients, r.rate() / bounds.whole.perSecond);
	printShares(runs.loads, runs.shares, runs.platformMs);
	printServerOnly(runs.loads, runs.shares, bounds.one);
	clients.clear();
	g_main_context_pop_thread_default(ctx.get());
	return 0;
}
