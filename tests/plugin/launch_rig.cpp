// SPDX-License-Identifier: Apache-2.0
#include "launch_rig.h"

#include <catch2/catch.hpp>

#include <csignal>
#include <dirent.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/rand.h>

namespace cvm::test {

namespace {

std::string readProcCmdline(const std::string &pid)
{
	auto text = readFile("/proc/" + pid + "/cmdline", 1 << 20);
	if (!text)
		return {};
	std::string s(text->begin(), text->end());
	for (char &c : s)
		if (c == '\0')
			c = ' ';
	return s;
}

} // namespace

const std::string &simPlatformDir()
{
	static TempDir dir = std::move(TempDir::create("cvmt-plugin-sim-").value());
	static bool made = false;
	if (!made) {
		auto r = run({ buildPath("sim/cvm-sev-sim"), "init", "--state-dir", dir.file("platform") }, {}, {}, 300);
		INFO(r.err);
		REQUIRE(r.exitStatus == 0);
		made = true;
	}
	static std::string path = dir.file("platform");
	return path;
}

LaunchRig::LaunchRig()
{
	Bytes token(32);
	REQUIRE(RAND_bytes(token.data(), 32) == 1);
	REQUIRE(writeSecretFile(path("owner.token"), asBytes(toHex(token))).ok());
	luksKey.resize(32);
	REQUIRE(RAND_bytes(luksKey.data(), 32) == 1);
	REQUIRE(writeSecretFile(path("luks.key"), luksKey).ok());
	REQUIRE(makeDirectories(path("tmp"), 0700).ok());
	as = std::make_unique<DaemonProcess>(
		dir.path(), std::vector<std::string>{ "--insecure-listen", "127.0.0.1:0", "--owner-token-file",
						      path("owner.token"), "--db", path("as.db"), "--key-file",
						      path("as.key"), "--test-roots", simPlatformDir() + "/roots",
						      "--no-kds" });
}

CommandResult LaunchRig::owner(const std::vector<std::string> &args)
{
	std::vector<std::string> argv = { buildPath("server/cvm-owner") };
	argv.insert(argv.end(), args.begin(), args.end());
	argv.insert(argv.end(), { "--server", as->url(), "--token-file", path("owner.token") });
	return run(argv, {}, {}, 120);
}

void LaunchRig::registerVm(const std::string &firmware, unsigned maxLaunches)
{
	auto r = owner({ "register", "--vm", vm, "--policy", "0x1", "--firmware", firmware, "--secret",
			 "luks-key:" + path("luks.key"), "--max-launches", std::to_string(maxLaunches) });
	INFO(r.out << r.err);
	REQUIRE(r.exitStatus == 0);
}

CommandResult LaunchRig::launch(const std::vector<std::string> &extra, const std::string &server,
				const std::string &firmware, const std::vector<std::string> &simArgs,
				const std::vector<std::string> &env)
{
	// Debian's OVMF has no SEV secret area: the address is given (kSecretGpa).
	std::vector<std::string> argv = { buildPath("plugin/cvm-launch"), "qemu", "--server", server, "--vm", vm,
					  "--secret-address", std::to_string(kSecretGpa) };
	argv.insert(argv.end(), extra.begin(), extra.end());
	argv.insert(argv.end(), { "--", emulator, "--state-dir", simPlatformDir(), "-bios", firmware,
				  "-name", simNeedle() });
	argv.insert(argv.end(), simArgs.begin(), simArgs.end());
	std::vector<std::string> fullEnv = { "TMPDIR=" + path("tmp"), "CVM_LAUNCH_CONFIG=/dev/null" };
	fullEnv.insert(fullEnv.end(), env.begin(), env.end());
	return run(argv, {}, fullEnv, 120);
}

Background::Background(const std::vector<std::string> &argv, const std::vector<std::string> &env,
		       const std::string &dir)
{
	static int serial = 0;
	std::string base = dir + "/bg-" + std::to_string(++serial);
	out_ = base + ".out";
	err_ = base + ".err";
	int outFd = open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int errFd = open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	REQUIRE(outFd >= 0);
	REQUIRE(errFd >= 0);
	gchar **envp = g_get_environ();
	for (const auto &kv : env) {
		auto eq = kv.find('=');
		envp = g_environ_setenv(envp, kv.substr(0, eq).c_str(), kv.substr(eq + 1).c_str(), TRUE);
	}
	std::vector<char *> cargv;
	for (const auto &a : argv)
		cargv.push_back(const_cast<char *>(a.c_str()));
	cargv.push_back(nullptr);
	GPid pid = 0;
	GError *error = nullptr;
	bool ok = g_spawn_async_with_fds(nullptr, cargv.data(), envp, G_SPAWN_DO_NOT_REAP_CHILD, nullptr, nullptr, &pid,
					 -1, outFd, errFd, &error);
	g_strfreev(envp);
	close(outFd);
	close(errFd);
	INFO((error ? error->message : ""));
	REQUIRE(ok);
	pid_ = pid;
}

Background::~Background()
{
	if (!reaped_) {
		kill(pid_, SIGKILL);
		int st = 0;
		waitpid(pid_, &st, 0);
	}
}

void Background::signal(int signo)
{
	if (!reaped_)
		kill(pid_, signo);
}

CommandResult Background::wait(int seconds)
{
	for (int i = 0; !reaped_ && i <= seconds * 20; ++i) {
		int st = 0;
		if (waitpid(pid_, &st, WNOHANG) == pid_) {
			reaped_ = true;
			status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			break;
		}
		usleep(50000);
	}
	CommandResult r;
	r.exitStatus = reaped_ ? status_ : -1;
	r.out = readTextFile(out_).valueOr("");
	r.err = readTextFile(err_).valueOr("");
	return r;
}

bool waitFor(const std::function<bool()> &condition, double seconds)
{
	for (int i = 0; i < seconds * 20; ++i) {
		if (condition())
			return true;
		usleep(50000);
	}
	return condition();
}

std::vector<int> processesMentioning(const std::string &needle)
{
	std::vector<int> found;
	DIR *d = opendir("/proc");
	if (!d)
		return found;
	while (dirent *e = readdir(d)) {
		if (!isdigit(static_cast<unsigned char>(e->d_name[0])))
			continue;
		int pid = atoi(e->d_name);
		if (pid == getpid())
			continue;
		std::string cmd = readProcCmdline(e->d_name);
		// Zombies and the test's own helpers (timeout …) do not count.
		if (cmd.find(needle) != std::string::npos && cmd.find("timeout -k") == std::string::npos)
			found.push_back(pid);
	}
	closedir(d);
	return found;
}

std::vector<std::pair<std::string, std::string>> progressLines(const std::string &text)
{
	static const GRegex *re = g_regex_new("^cvm-launch: step ([a-z-]+) (ok|FAILED) \\([0-9]+\\.[0-9] ms\\)(: .+)?$",
					      G_REGEX_OPTIMIZE, GRegexMatchFlags(0), nullptr);
	std::vector<std::pair<std::string, std::string>> lines;
	size_t at = 0;
	while (at < text.size()) {
		size_t end = text.find('\n', at);
		std::string line = text.substr(at, end == std::string::npos ? std::string::npos : end - at);
		at = end == std::string::npos ? text.size() : end + 1;
		if (line.rfind("cvm-launch: step", 0) != 0)
			continue;
		GMatchInfo *m = nullptr;
		if (g_regex_match(re, line.c_str(), GRegexMatchFlags(0), &m)) {
			gchar *name = g_match_info_fetch(m, 1), *verdict = g_match_info_fetch(m, 2);
			lines.emplace_back(name, verdict);
			g_free(name);
			g_free(verdict);
		} else {
			lines.emplace_back("", line);
		}
		g_match_info_free(m);
	}
	return lines;
}

bool containsSecret(std::string_view haystack, ByteView secret)
{
	std::string raw(reinterpret_cast<const char *>(secret.data()), secret.size());
	std::string hex = toHex(secret), b64 = toBase64(secret);
	std::string upper = hex;
	for (char &c : upper)
		c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
	for (const std::string &form : { raw, hex, upper, b64 })
		if (haystack.find(form) != std::string_view::npos)
			return true;
	return false;
}

} // namespace cvm::test
