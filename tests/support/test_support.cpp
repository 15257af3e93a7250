// SPDX-License-Identifier: Apache-2.0
#include "test_support.h"

#include <cerrno>
#include <cstdio>
#include <csignal>
#include <cstdlib>
#include <stdexcept>

#include <glib.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cvm/common/file.h"

namespace cvm::test {

namespace {

std::string envOr(const char *name, const char *fallback)
{
	const char *v = g_getenv(name);
	return v ? v : fallback;
}

} // namespace

std::string fixture(std::string_view rel)
{
	return envOr("CVM_FIXTURES", "../shared/fixtures") + "/" + std::string(rel);
}

std::string testData(std::string_view rel)
{
	return envOr("CVM_TEST_DATA", "tests/data") + "/" + std::string(rel);
}

std::string buildPath(std::string_view rel)
{
	return envOr("CVM_BUILD_ROOT", ".") + "/" + std::string(rel);
}

std::string sourcePath(std::string_view rel)
{
	return envOr("CVM_SOURCE_ROOT", ".") + "/" + std::string(rel);
}

void skipTestCase(const std::string &reason)
{
	fprintf(stderr, "%s%s\n", kSkipPrefix, reason.c_str());
	throw Skipped{ reason };
}

void requireFixtures()
{
	std::string dir = fixture("");
	if (g_file_test(dir.c_str(), G_FILE_TEST_IS_DIR))
		return;
	const char *required = g_getenv("CVM_REQUIRE_FIXTURES");
	if (required && *required && std::string_view(required) != "0")
		// Not a skip: a failure of this test case (Catch reports the message).
		throw std::runtime_error("the shared fixtures are not at " + dir +
					 " and CVM_REQUIRE_FIXTURES is set (CI has them: ../shared/fixtures "
					 "next to the source tree, or CVM_FIXTURES / -Dshared_fixtures)");
	skipTestCase("shared fixtures not found at " + dir);
}

bool libvirtRequired()
{
	for (const char *name : { "CVM_TEST_SEV_SHIM", "CI" }) {
		const char *v = g_getenv(name);
		if (v && *v && std::string_view(v) != "0" && std::string_view(v) != "false")
			return true;
	}
	return false;
}

void libvirtUnavailable(const std::string &why)
{
	if (libvirtRequired()) {
		std::fprintf(stderr, "FAIL: %s (CVM_TEST_SEV_SHIM or CI is set: the libvirt suites must run)\n",
			     why.c_str());
		std::fflush(stderr);
		std::_Exit(1);
	}
	std::fprintf(stderr, "SKIP: %s\n", why.c_str());
	std::fflush(stderr);
	std::_Exit(77);
}

void requireExecutable(const std::string &path)
{
	if (access(path.c_str(), X_OK) != 0)
		skipTestCase(path + " is not installed");
}

Bytes readFixture(std::string_view rel)
{
	auto data = readFile(fixture(rel));
	if (!data) {
		fprintf(stderr, "cannot read fixture %s: %s\n", std::string(rel).c_str(),
			data.error().message().c_str());
		abort();
	}
	return std::move(data).value();
}

CommandResult run(const std::vector<std::string> &argv, std::string_view input,
		  const std::vector<std::string> &env, int timeoutSeconds)
{
	// Run through timeout(1) so a hang becomes a failure, not a stuck suite.
	std::vector<std::string> full = { "timeout", "-k", "5", std::to_string(timeoutSeconds) };
	full.insert(full.end(), argv.begin(), argv.end());

	std::vector<char *> cargv;
	for (auto &a : full)
		cargv.push_back(const_cast<char *>(a.c_str()));
	cargv.push_back(nullptr);

	gchar **envp = g_get_environ();
	for (const auto &kv : env) {
		auto eq = kv.find('=');
		envp = g_environ_setenv(envp, kv.substr(0, eq).c_str(),
					eq == std::string::npos ? "" : kv.substr(eq + 1).c_str(), TRUE);
	}

	CommandResult result;
	GPid pid;
	gint inFd, outFd, errFd;
	GError *error = nullptr;
	if (!g_spawn_async_with_pipes(nullptr, cargv.data(), envp,
				      static_cast<GSpawnFlags>(G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD),
				      nullptr, nullptr, &pid, &inFd, &outFd, &errFd, &error)) {
		result.err = error->message;
		g_error_free(error);
		g_strfreev(envp);
		return result;
	}
	g_strfreev(envp);

	// One select loop feeds stdin and drains stdout/stderr, so neither side can
	// block the other on a full pipe.
	std::string in(input);
	size_t off = 0;
	if (in.empty()) {
		close(inFd);
		inFd = -1;
	}
	int fds[2] = { outFd, errFd };
	std::string *sinks[2] = { &result.out, &result.err };
	bool open[2] = { true, true };
	while (open[0] || open[1]) {
		fd_set rset, wset;
		FD_ZERO(&rset);
		FD_ZERO(&wset);
		int maxfd = 0;
		for (int i = 0; i < 2; ++i)
			if (open[i]) {
				FD_SET(fds[i], &rset);
				maxfd = std::max(maxfd, fds[i]);
			}
		if (inFd >= 0) {
			FD_SET(inFd, &wset);
			maxfd = std::max(maxfd, inFd);
		}
		if (select(maxfd + 1, &rset, &wset, nullptr, nullptr) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (inFd >= 0 && FD_ISSET(inFd, &wset)) {
			ssize_t n = write(inFd, in.data() + off, in.size() - off);
			if (n > 0)
				off += static_cast<size_t>(n);
			if (n <= 0 || off == in.size()) {
				close(inFd);
				inFd = -1;
			}
		}
		for (int i = 0; i < 2; ++i) {
			if (!open[i] || !FD_ISSET(fds[i], &rset))
				continue;
			char buf[8192];
			ssize_t n = read(fds[i], buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				open[i] = false;
			else
				sinks[i]->append(buf, static_cast<size_t>(n));
		}
	}
	if (inFd >= 0)
		close(inFd);
	close(outFd);
	close(errFd);

	int status = 0;
	waitpid(pid, &status, 0);
	g_spawn_close_pid(pid);
	if (WIFEXITED(status))
		result.exitStatus = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		result.exitStatus = 128 + WTERMSIG(status);
	return result;
}

} // namespace cvm::test
