// SPDX-License-Identifier: Apache-2.0
#include "test_daemon.h"

#include <catch2/catch.hpp>

#include <future>

#include "test_http.h"
#include "test_support.h"

namespace cvm::test {

DaemonFiles DaemonFiles::create()
{
	auto dir = TempDir::create("cvm-attestd-test-");
	REQUIRE(dir.ok());
	DaemonFiles f{ std::move(*dir), {} };
	auto &c = f.config;
	c.insecureListen = "127.0.0.1:0";
	c.db = f.dir.file("state/attestd.db");
	c.keyFile = f.dir.file("state/storage.key");
	c.ownerTokenFile = f.dir.file("owner.token");
	c.hostTokenFile = f.dir.file("host.token");
	c.amdRoots = fixture("amd-sev/roots");
	c.cekCache = f.dir.file("cek-cache");
	c.kds = false;
	c.workers = 2;
	REQUIRE(writeSecretFile(c.ownerTokenFile, asBytes(std::string(kOwnerToken) + "\n")).ok());
	REQUIRE(writeSecretFile(c.hostTokenFile, asBytes(kHostToken)).ok());
	return f;
}

InProcessDaemon::InProcessDaemon(const server::ServerConfig &config, server::Clock clock)
{
	std::promise<std::string> ready;
	auto future = ready.get_future();
	thread_ = std::thread([this, &ready, config, clock] {
		context_ = g_main_context_new();
		g_main_context_push_thread_default(context_);
		loop_ = g_main_loop_new(context_, FALSE);
		auto daemon = server::Daemon::create(config, clock);
		if (!daemon) {
			ready.set_value("ERROR: " + daemon.error().message());
		} else {
			daemon_ = std::move(*daemon);
			std::string url = daemon_->urls().front();
			if (!url.empty() && url.back() == '/')
				url.pop_back();
			ready.set_value(url);
			g_main_loop_run(loop_);
			daemon_.reset();
		}
		g_main_loop_unref(loop_);
		g_main_context_pop_thread_default(context_);
		g_main_context_unref(context_);
	});
	url_ = future.get();
	if (url_.rfind("ERROR: ", 0) == 0) {
		thread_.join();
		FAIL(url_);
	}
}

InProcessDaemon::~InProcessDaemon()
{
	g_main_context_invoke(
		context_,
		[](gpointer loop) -> gboolean {
			g_main_loop_quit(static_cast<GMainLoop *>(loop));
			return G_SOURCE_REMOVE;
		},
		loop_);
	thread_.join();
}

std::unique_ptr<attest::Client> InProcessDaemon::client(const std::string &token, unsigned timeout) const
{
	attest::ClientOptions o;
	o.baseUrl = url_;
	o.timeoutSeconds = timeout;
	if (!token.empty())
		o.token = SecureBuffer(asBytes(token));
	auto c = attest::Client::create(std::move(o));
	REQUIRE(c.ok());
	return std::move(*c);
}

std::unique_ptr<attest::Client> InProcessDaemon::ownerClient(unsigned timeout) const
{
	return client(kOwnerToken, timeout);
}

std::unique_ptr<attest::Client> InProcessDaemon::hostClient(unsigned timeout) const
{
	return client(kHostToken, timeout);
}

Result<std::string> tryStartDaemon(const server::ServerConfig &config)
{
	GMainContextPtr ctx(g_main_context_new());
	g_main_context_push_thread_default(ctx.get());
	auto daemon = server::Daemon::create(config);
	std::string url = daemon ? (*daemon)->urls().front() : "";
	if (daemon)
		daemon->reset();
	g_main_context_pop_thread_default(ctx.get());
	if (!daemon)
		return daemon.error();
	return url;
}

} // namespace cvm::test
