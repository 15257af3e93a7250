// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-qmp"

#include "process_watch.h"

#include <cerrno>
#include <cstring>

#include <glib-unix.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cvm/common/process.h"

namespace cvm::qmp {

struct ProcessWatch::State {
	bool exited = false;
	std::optional<int> status;
	std::function<void()> callback;

	void finish()
	{
		if (exited)
			return;
		exited = true;
		if (auto cb = std::move(callback))
			cb();
	}
};

namespace {

// The wait status of an exited child, without reaping it.
std::optional<int> peekStatus(pid_t pid)
{
	siginfo_t info;
	memset(&info, 0, sizeof(info));
	if (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0 ||
	    info.si_pid != pid)
		return std::nullopt;
	switch (info.si_code) {
	case CLD_EXITED: return (info.si_status & 0xff) << 8;
	case CLD_KILLED: return info.si_status & 0x7f;
	case CLD_DUMPED: return (info.si_status & 0x7f) | 0x80;
	default: return std::nullopt;
	}
}

} // namespace

ProcessWatch::ProcessWatch(GMainContext *context, GSubprocess *process, pid_t pid)
	: context_(context), process_(gobjectRef(process)), pid_(process ? 0 : pid),
	  state_(std::make_shared<State>()), cancellable_(g_cancellable_new())
{
}

ProcessWatch::~ProcessWatch()
{
	g_cancellable_cancel(cancellable_.get());
	pidfdSource_.reset();
}

void ProcessWatch::start(std::function<void()> exited)
{
	state_->callback = std::move(exited);
	if (process_) {
		// The GTask completes on the thread-default context of this call.
		g_main_context_push_thread_default(context_);
		g_subprocess_wait_async(process_.get(), cancellable_.get(), onSubprocessExited,
					new std::weak_ptr<State>(state_));
		g_main_context_pop_thread_default(context_);
	} else if (pid_ > 0) {
		startPidfd();
	}
}

void ProcessWatch::startPidfd()
{
	int fd = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
	if (fd < 0) {
		// Already gone (ESRCH) or no pidfd support: look once, later.
		g_debug("pidfd_open(%d): %s", static_cast<int>(pid_), g_strerror(errno));
		GSourcePtr idle(g_idle_source_new());
		g_source_set_callback(idle.get(), [](gpointer data) -> gboolean {
			auto *self = static_cast<ProcessWatch *>(data);
			self->state_->status = peekStatus(self->pid_);
			if (self->state_->status || kill(self->pid_, 0) != 0)
				self->state_->finish();
			self->pidfdSource_.reset();
			return G_SOURCE_REMOVE;
		}, this, nullptr);
		g_source_attach(idle.get(), context_);
		pidfdSource_ = std::move(idle);
		return;
	}
	pidfd_.reset(fd);
	pidfdSource_.reset(g_unix_fd_source_new(fd, G_IO_IN));
	g_source_set_callback(pidfdSource_.get(), G_SOURCE_FUNC(onPidfdReadable), this, nullptr);
	g_source_attach(pidfdSource_.get(), context_);
}

gboolean ProcessWatch::onPidfdReadable(gint, GIOCondition, gpointer data)
{
	auto *self = static_cast<ProcessWatch *>(data);
	// Readable = the process has exited (a zombie or gone).
	self->state_->status = peekStatus(self->pid_);
	self->pidfdSource_.reset();
	self->pidfd_.reset();
	self->state_->finish();
	return G_SOURCE_REMOVE;
}

void ProcessWatch::onSubprocessExited(GObject *source, GAsyncResult *result, gpointer data)
{
	std::unique_ptr<std::weak_ptr<State>> weak(static_cast<std::weak_ptr<State> *>(data));
	GError *raw = nullptr;
	gboolean ok = g_subprocess_wait_finish(G_SUBPROCESS(source), result, &raw);
	GErrorPtr error(raw);
	auto state = weak->lock();
	if (!state || !ok)
		return;
	state->status = g_subprocess_get_status(G_SUBPROCESS(source));
	state->finish();
}

bool ProcessWatch::exited() const
{
	return state_->exited;
}

std::optional<int> ProcessWatch::status() const
{
	return state_->status;
}

std::string ProcessWatch::describe() const
{
	if (!state_->exited)
		return {};
	if (state_->status)
		return describeWaitStatus(*state_->status);
	return "its exit status is not known";
}

} // namespace cvm::qmp
