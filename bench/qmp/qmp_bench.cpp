// SPDX-License-Identifier: Apache-2.0
//
// qmp-bench: what our client costs over the bare protocol, measured in the
// same run against the same peer (no absolute times are judged):
//  1. round-trip latency of query-status to a real QEMU/TCG: our SyncClient
//     vs a raw socket that writes one line and reads one line (goal <= 1.2x);
//  2. pipelined commands/s against the replay server playing a generated
//     transcript of N query-status: our async Client vs raw pipelined writes
//     and reads, each against a fresh server of the same transcript (whose
//     verdict must be ok); and the same against an in-process peer that
//     answers at once, which shows the client's own ceiling.
// Rounds alternate between the two sides to spread machine noise.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cvm/common/file.h"
#include "cvm/common/json.h"
#include "cvm/qmp/client.h"
#include "cvm/qmp/json_splitter.h"
#include "cvm/qmp/replay.h"
#include "cvm/qmp/sync_client.h"
#include "cvm/qmp/unix_socket.h"
#include "cvm/qmp/wire.h"

using namespace cvm;
using namespace cvm::qmp;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

const char *kQemu = "/usr/bin/qemu-system-x86_64";

double median(std::vector<double> v)
{
	std::sort(v.begin(), v.end());
	return v.empty() ? 0 : v[v.size() / 2];
}

double micros(Clock::duration d)
{
	return std::chrono::duration<double, std::micro>(d).count();
}

// A blocking raw connection: read up to and including the next "\r\n".
class RawLine
{
public:
	explicit RawLine(int fd) : fd_(fd) {}
	bool send(const std::string &s) { return ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == ssize_t(s.size()); }
	bool readLine()
	{
		for (;;) {
			size_t nl = buf_.find("\r\n");
			if (nl != std::string::npos) {
				buf_.erase(0, nl + 2);
				return true;
			}
			char chunk[65536];
			ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
			if (n <= 0)
				return false;
			buf_.append(chunk, size_t(n));
		}
	}

private:
	int fd_;
	std::string buf_;
};

// Round trips to QEMU with a raw socket; empty on failure.
std::vector<double> rawRound(const std::string &path, int n)
{
	// QEMU takes a moment to listen again after the previous client left.
	auto conn = connectUnixSocket(path);
	for (int i = 0; i < 100 && !conn; ++i) {
		g_usleep(20000);
		conn = connectUnixSocket(path);
	}
	if (!conn) {
		fprintf(stderr, "qmp-bench: %s\n", conn.error().message().c_str());
		return {};
	}
	GSocket *s = g_socket_connection_get_socket(conn->get());
	// Plain blocking read(2)/write(2) on the fd, not GSocket's emulation.
	int fd = g_socket_get_fd(s);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	RawLine raw(fd);
	if (!raw.readLine() || !raw.send("{\"execute\":\"qmp_capabilities\",\"id\":\"c\"}\n") || !raw.readLine()) {
		fprintf(stderr, "qmp-bench: the raw handshake with QEMU failed\n");
		return {};
	}
	std::vector<double> t;
	for (int i = 0; i < n; ++i) {
		auto start = Clock::now();
		if (!raw.send("{\"execute\":\"query-status\",\"id\":\"" + std::to_string(i) + "\"}\n") || !raw.readLine())
			return {};
		t.push_back(micros(Clock::now() - start));
	}
	return t;
}

std::vector<double> clientRound(const std::string &path, int n)
{
	ClientOptions options;
	options.waitForSocket = true;
	auto qmp = SyncClient::connect(path, 10s, options);
	if (!qmp) {
		fprintf(stderr, "qmp-bench: %s\n", qmp.error().message().c_str());
		return {};
	}
	std::vector<double> t;
	for (int i = 0; i < n; ++i) {
		auto start = Clock::now();
		if (auto r = (*qmp)->execute("query-status"); !r) {
			fprintf(stderr, "qmp-bench: %s\n", r.error().message().c_str());
			return {};
		}
		t.push_back(micros(Clock::now() - start));
	}
	return t;
}

int latency()
{
	if (access(kQemu, X_OK) != 0) {
		printf("qmp-bench: latency: not measured (%s not installed)\n", kQemu);
		return 0;
	}
	auto dir = TempDir::create("cvm-qmp-bench-");
	if (!dir)
		return 1;
	std::string path = dir->file("qmp.sock"), spec = "unix:" + path + ",server=on,wait=off";
	const char *argv[] = { kQemu, "-machine", "q35", "-accel", "tcg", "-S", "-display", "none",
			       "-nodefaults", "-m", "64", "-qmp", spec.c_str(), nullptr };
	GObjectPtr<GSubprocess> qemu(g_subprocess_newv(argv, G_SUBPROCESS_FLAGS_STDERR_SILENCE, nullptr));
	if (!qemu)
		return 1;
	for (int i = 0; i < 200 && access(path.c_str(), F_OK) != 0; ++i)
		g_usleep(50000);
	std::vector<double> raw, ours;
	for (int round = 0; round < 6; ++round) {
		auto r = rawRound(path, 300);
		auto c = clientRound(path, 300);
		if (r.empty() || c.empty()) {
			fprintf(stderr, "qmp-bench: a round against QEMU failed\n");
			g_subprocess_force_exit(qemu.get());
			return 1;
		}
		raw.insert(raw.end(), r.begin(), r.end());
		ours.insert(ours.end(), c.begin(), c.end());
	}
	g_subprocess_force_exit(qemu.get());
	g_subprocess_wait(qemu.get(), nullptr, nullptr);
	double mr = median(raw), mc = median(ours);
	printf("qmp-bench: query-status round trip to QEMU/TCG (%zu each, median):\n", raw.size());
	printf("  raw socket %.1f us, our client %.1f us, ratio %.2fx (goal <= 1.2x)\n", mr, mc, mc / mr);
	return 0;
}

// --- pipelined -------------------------------------------------------------

const char *kStatusReply = R"({"status": "prelaunch", "singlestep": false, "running": false})";

// A conversation of `n` query-status after the handshake, as the replay
// server plays it (ids are matched, not compared).
Transcript statusTranscript(int n)
{
	auto object = [](const std::string &json) { return json::parse(json).value(); };
	Transcript t("bench-query-status.jsonl");
	t.addServerMessage(object(R"({"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": ""}, "capabilities": []}})").get());
	t.addClientMessage(object(R"({"execute": "qmp_capabilities"})").get());
	t.addServerMessage(object(R"({"return": {}})").get());
	JsonNodePtr command = object(R"({"execute": "query-status"})");
	JsonNodePtr reply = object(std::string(R"({"return": )") + kStatusReply + "}");
	for (int i = 0; i < n; ++i) {
		t.addClientMessage(command.get());
		t.addServerMessage(reply.get());
	}
	return t;
}

// Raw pipelining on a connected fd: write n commands, read n reply lines (a
// reader thread, so neither side blocks on a full socket buffer). Commands/s,
// 0 on failure.
double rawPipelined(int fd, int n)
{
	RawLine raw(fd);
	if (!raw.readLine() || !raw.send("{\"execute\":\"qmp_capabilities\",\"id\":\"c\"}\n") || !raw.readLine())
		return 0;
	auto start = Clock::now();
	bool complete = true;
	std::thread reader([&] {
		for (int i = 0; i < n; ++i)
			if (!raw.readLine()) {
				complete = false;
				return;
			}
	});
	std::string batch;
	for (int i = 0; i < n; ++i) {
		batch += "{\"execute\":\"query-status\",\"id\":\"cvm-" + std::to_string(i) + "\"}\n";
		if (batch.size() > 60000 || i == n - 1) {
			raw.send(batch);
			batch.clear();
		}
	}
	reader.join();
	double rate = n / std::chrono::duration<double>(Clock::now() - start).count();
	return complete ? rate : 0;
}

// Our async Client on a private context: n commands issued at once.
double clientPipelined(const std::function<void(Client &, Client::ReadyCallback)> &begin, int n)
{
	GMainContextPtr context(g_main_context_new());
	ClientOptions options;
	options.context = context.get();
	Client client(options);
	bool ready = false;
	begin(client, [&](const Status &s) { ready = s.ok(); });
	while (!ready && client.state() != ConnectionState::Closed)
		g_main_context_iteration(context.get(), TRUE);
	int done = 0, failed = 0;
	auto start = Clock::now();
	for (int i = 0; i < n; ++i)
		client.execute("query-status", nullptr, [&](Result<JsonNodePtr> r) {
			++done;
			failed += r ? 0 : 1;
		});
	while (done < n && client.state() != ConnectionState::Closed)
		g_main_context_iteration(context.get(), TRUE);
	double rate = done / std::chrono::duration<double>(Clock::now() - start).count();
	client.close();
	return failed || done < n ? 0 : rate;
}

// One round against a fresh replay server (it serves one connection); the
// replay's verdict must be ok or the round does not count.
double replayRound(bool ours, int n)
{
	auto server = ReplayServer::start(statusTranscript(n));
	if (!server)
		return 0;
	double rate = 0;
	if (ours) {
		rate = clientPipelined([&](Client &c, Client::ReadyCallback ready) {
			c.connect((*server)->socketPath(), std::move(ready));
		}, n);
	} else {
		auto conn = connectUnixSocket((*server)->socketPath());
		if (!conn)
			return 0;
		int fd = g_socket_get_fd(g_socket_connection_get_socket(conn->get()));
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		rate = rawPipelined(fd, n);
		::shutdown(fd, SHUT_WR);
	}
	if (Status verdict = (*server)->finish(); !verdict) {
		fprintf(stderr, "qmp-bench: replay: %s\n", verdict.error().message().c_str());
		return 0;
	}
	return rate;
}

// A peer that answers every command at once with {"return": {}, "id": ...}:
// what the client costs when the peer costs next to nothing.
void fastPeer(int fd)
{
	JsonSplitter splitter;
	std::string out = "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}, "
			  "\"package\": \"\"}, \"capabilities\": []}}\r\n";
	char chunk[65536];
	for (;;) {
		if (!out.empty() && ::send(fd, out.data(), out.size(), MSG_NOSIGNAL) < 0)
			return;
		out.clear();
		ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
		if (n <= 0)
			return;
		for (const Frame &f : splitter.feed(std::string_view(chunk, size_t(n)))) {
			if (f.isError())
				continue;
			if (auto node = parseMessage(f.text))
				out += frameServerMessage(buildReturn(nullptr, messageId(json_node_get_object(node->get()))));
		}
	}
}

double fastPeerRound(bool ours, int n)
{
	int fds[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
		return 0;
	std::thread peer(fastPeer, fds[1]);
	double rate;
	if (ours) {
		UniqueFd fd(fds[0]);
		rate = clientPipelined([&](Client &c, Client::ReadyCallback ready) {
			c.adoptFd(std::move(fd), std::move(ready));
		}, n);
	} else {
		rate = rawPipelined(fds[0], n);
		::close(fds[0]);
	}
	peer.join();
	::close(fds[1]);
	return rate;
}

int pipelined(const char *what, double (*round)(bool, int), int n)
{
	std::vector<double> raw, ours;
	for (int i = 0; i < 3; ++i) {
		raw.push_back(round(false, n));
		ours.push_back(round(true, n));
	}
	double r = median(raw), c = median(ours);
	if (*std::min_element(raw.begin(), raw.end()) <= 0 || *std::min_element(ours.begin(), ours.end()) <= 0) {
		fprintf(stderr, "qmp-bench: the pipelined run against %s failed\n", what);
		return 1;
	}
	printf("qmp-bench: %d pipelined query-status against %s (median of 3):\n", n, what);
	printf("  raw socket %.0f commands/s, our client %.0f commands/s, ratio %.2fx of raw\n", r, c, c / r);
	return 0;
}

} // namespace

// qmp-bench [latency] [replay] [peer]: the parts to run (default: all), e.g.
// to profile one of them.
int main(int argc, char **argv)
{
	auto wanted = [&](const char *part) {
		if (argc < 2)
			return true;
		for (int i = 1; i < argc; ++i)
			if (strcmp(argv[i], part) == 0)
				return true;
		return false;
	};
	int rc = 0;
	if (wanted("latency"))
		rc |= latency();
	if (wanted("replay"))
		rc |= pipelined("the replay server (a generated transcript)", replayRound, 20000);
	if (wanted("peer"))
		rc |= pipelined("an in-process peer that answers at once", fastPeerRound, 20000);
	return rc;
}
