// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-shim"

#include "shim_runtime.h"

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>

#include <fcntl.h>
#include <glib-unix.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cvm/common/file.h"
#include "cvm/common/gptr.h"
#include "cvm/common/process.h"
#include "cvm/shim/monitor_link.h"
#include "qemu_process.h"
#include "sev_backend.h"

namespace cvm::shim {

namespace {

Error sysError(const std::string &what)
{
	return Error(ErrorCode::Io, what + ": " + std::strerror(errno));
}

// Binds a listening socket at `path`, replacing a stale one as QEMU does.
Result<UniqueFd> listenAt(const std::string &path)
{
	sockaddr_un addr{};
	if (path.size() >= sizeof(addr.sun_path))
		return Error(ErrorCode::InvalidArgument, "socket path too long: " + path);
	addr.sun_family = AF_UNIX;
	std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
	UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
	if (!fd.isValid())
		return sysError("socket");
	if (::unlink(path.c_str()) != 0 && errno != ENOENT)
		return sysError("cannot remove the old socket " + path);
	if (::bind(fd.get(), reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) != 0)
		return sysError("cannot bind " + path);
	if (::listen(fd.get(), 4) != 0)
		return sysError("cannot listen on " + path);
	return fd;
}

// Forks; the parent waits for the child's readiness byte and exits like a
// QEMU -daemonize parent (0 once started, 1 when start-up failed).
Result<UniqueFd> daemonize()
{
	int p[2];
	if (::pipe2(p, O_CLOEXEC) != 0)
		return sysError("pipe");
	pid_t pid = ::fork();
	if (pid < 0)
		return sysError("fork");
	if (pid > 0) {
		::close(p[1]);
		char c = 0;
		ssize_t n;
		do
			n = ::read(p[0], &c, 1);
		while (n < 0 && errno == EINTR);
		::_exit(n == 1 && c == 'R' ? 0 : 1);
	}
	::close(p[0]);
	if (::setsid() < 0)
		return sysError("setsid");
	return UniqueFd(p[1]);
}

class Runtime
{
public:
	Runtime(const ShimConfig &config, LaunchPlan plan) : config_(config), plan_(std::move(plan)) {}
	~Runtime();

	Status prepare();
	Status startQemu();
	int run();

private:
	Status setUpMonitor(const MonitorSpec &m, std::vector<UniqueFd> &qemuEnds);
	void checkReady();
	void becomeReady();
	void qemuExited(int status);
	static gboolean onSignal(gpointer self);
	static gboolean onQemuOutput(gint fd, GIOCondition, gpointer self);

	const ShimConfig &config_;
	LaunchPlan plan_;
	std::unique_ptr<SevBackend> sev_;
	std::vector<std::unique_ptr<MonitorLink>> links_;
	std::vector<UniqueFd> clientFds_;
	std::vector<std::string> createdSockets_;
	UniqueFd readyFd_, outputRead_;
	GMainLoopPtr loop_{ g_main_loop_new(nullptr, FALSE) };
	pid_t qemuPid_ = -1;
	int qemuStatus_ = -1;
	bool ready_ = false;
	std::array<std::pair<Runtime *, int>, 3> signals_{ { { nullptr, SIGTERM }, { nullptr, SIGINT },
							     { nullptr, SIGHUP } } };
};

Runtime::~Runtime()
{
	links_.clear();
	for (const auto &p : createdSockets_)
		::unlink(p.c_str());
	if (ready_ && plan_.pidfile)
		::unlink(plan_.pidfile->c_str());
}

Status Runtime::setUpMonitor(const MonitorSpec &m, std::vector<UniqueFd> &qemuEnds)
{
	UniqueFd client;
	bool listening = true;
	if (m.kind == MonitorSpec::Kind::ChardevFd) {
		int flags = ::fcntl(m.fd, F_GETFD);
		if (flags < 0)
			return Error(ErrorCode::InvalidArgument,
				     "chardev '" + m.chardevId + "': fd " + std::to_string(m.fd) + " is not open");
		::fcntl(m.fd, F_SETFD, flags | FD_CLOEXEC); // the shim's, not QEMU's
		listening = CVM_TRY(isListeningSocket(m.fd));
		client = UniqueFd(m.fd);
	} else {
		client = CVM_TRY(listenAt(m.path));
		createdSockets_.push_back(m.path);
	}
	int sv[2];
	if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return sysError("socketpair");
	qemuEnds.emplace_back(sv[1]);
	auto link = std::make_unique<MonitorLink>(UniqueFd(sv[0]), std::move(client), listening,
						  sev_->filter());
	link->onGreeting = [this] { checkReady(); };
	links_.push_back(std::move(link));
	return {};
}

Status Runtime::prepare()
{
	if (plan_.daemonize)
		readyFd_ = CVM_TRY(daemonize());
	sev_ = CVM_TRY(makeSevBackend(config_, plan_));
	return {};
}

Status Runtime::startQemu()
{
	std::vector<UniqueFd> qemuEnds;
	for (const auto &m : plan_.monitors)
		CVM_CHECK(setUpMonitor(m, qemuEnds));
	QemuSpawn spawn;
	spawn.path = config_.qemu;
	std::vector<int> fds;
	for (auto &fd : qemuEnds)
		fds.push_back(fd.get());
	spawn.args = rewriteForQemu(plan_, fds);
	spawn.passFds = fds;
	UniqueFd outputWrite;
	if (plan_.daemonize) {
		// QEMU's messages reach the waiting parent's stderr until start-up
		// is complete, then (as with QEMU -daemonize) nowhere.
		int p[2];
		if (::pipe2(p, O_CLOEXEC) != 0)
			return sysError("pipe");
		outputRead_ = UniqueFd(p[0]);
		outputWrite = UniqueFd(p[1]);
		spawn.stdoutFd = spawn.stderrFd = outputWrite.get();
		g_unix_fd_add(outputRead_.get(), G_IO_IN, onQemuOutput, this);
	}
	g_debug("starting %s for %zu monitor(s)%s", spawn.path.c_str(), links_.size(),
		plan_.sev ? " (SEV guest)" : "");
	qemuPid_ = CVM_TRY(spawnQemu(spawn));
	g_child_watch_add(qemuPid_, [](GPid, gint status, gpointer self) {
		static_cast<Runtime *>(self)->qemuExited(status);
	}, this);
	for (auto &s : signals_) {
		s.first = this;
		g_unix_signal_add(s.second, onSignal, &s);
	}
	for (auto &l : links_)
		CVM_CHECK(l->start());
	checkReady();
	return {};
}


void Runtime::checkReady()
{
	if (ready_ || qemuPid_ < 0)
		return;
	for (auto &l : links_)
		if (!l->greeted())
			return;
	becomeReady();
}

// QEMU has finished its start-up (its monitors greeted): what QEMU does at
// this point with -pidfile and -daemonize.
void Runtime::becomeReady()
{
	ready_ = true;
	if (plan_.pidfile) {
		std::string pid = std::to_string(::getpid()) + "\n";
		auto st = writeFileAtomic(*plan_.pidfile, ByteView(reinterpret_cast<const uint8_t *>(pid.data()), pid.size()), 0644);
		if (!st)
			g_warning("cannot write the pid file: %s", st.error().message().c_str());
	}
	if (readyFd_.isValid()) {
		int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
		if (devnull >= 0) {
			for (int fd = 0; fd < 3; ++fd)
				::dup2(devnull, fd);
			::close(devnull);
		}
		ssize_t r = ::write(readyFd_.get(), "R", 1);
		(void)r;
		readyFd_.reset();
	}
	g_debug("QEMU (pid %d) is up", static_cast<int>(qemuPid_));
}

gboolean Runtime::onQemuOutput(gint fd, GIOCondition, gpointer)
{
	char buf[4096];
	ssize_t n = ::read(fd, buf, sizeof(buf));
	if (n < 0 && errno == EINTR)
		return G_SOURCE_CONTINUE;
	if (n <= 0)
		return G_SOURCE_REMOVE;
	ssize_t w = ::write(2, buf, static_cast<size_t>(n)); // /dev/null once ready
	(void)w;
	return G_SOURCE_CONTINUE;
}

gboolean Runtime::onSignal(gpointer p)
{
	auto *s = static_cast<std::pair<Runtime *, int> *>(p);
	Runtime *self = s->first;
	if (self->qemuPid_ > 0 && self->qemuStatus_ < 0)
		::kill(self->qemuPid_, s->second);
	return G_SOURCE_CONTINUE;
}

void Runtime::qemuExited(int status)
{
	qemuStatus_ = status;
	g_debug("QEMU ended: %s", describeWaitStatus(status).c_str());
	g_main_loop_quit(loop_.get());
}

int Runtime::run()
{
	g_main_loop_run(loop_.get());
	// QEMU has exited: what it wrote last (its start-up error) is still in the pipe.
	if (outputRead_.isValid()) {
		g_unix_set_fd_nonblocking(outputRead_.get(), TRUE, nullptr);
		while (onQemuOutput(outputRead_.get(), G_IO_IN, this) == G_SOURCE_CONTINUE) {
		}
	}
	if (!ready_ && readyFd_.isValid())
		readyFd_.reset(); // the -daemonize parent exits 1
	if (WIFEXITED(qemuStatus_))
		return WEXITSTATUS(qemuStatus_);
	if (WIFSIGNALED(qemuStatus_))
		return 128 + WTERMSIG(qemuStatus_);
	return 1;
}

} // namespace

int runShim(const ShimConfig &config, LaunchPlan plan)
{
	Runtime rt(config, std::move(plan));
	Status st = rt.prepare();
	if (st)
		st = rt.startQemu();
	if (!st) {
		std::fprintf(stderr, "cvm-sev-shim: %s\n", st.error().message().c_str());
		return 1;
	}
	return rt.run();
}

} // namespace cvm::shim
