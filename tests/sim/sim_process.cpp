// SPDX-License-Identifier: Apache-2.0
#include "sim_process.h"

#include <csignal>

#include "sim_test_support.h"
#include "test_support.h"

namespace cvm::sim::test {

std::string simExecutable()
{
	return cvm::test::buildPath("sim/cvm-sev-sim");
}

namespace {

std::string nextSocket(const TempDir &dir)
{
	static int counter = 0;
	return dir.file("qmp-" + std::to_string(++counter) + ".sock");
}

} // namespace

std::unique_ptr<SimProcess> SimProcess::withStateDir(const TempDir &dir, const std::string &stateDir,
						     std::vector<std::string> args, std::vector<std::string> env)
{
	std::string socket = nextSocket(dir);
	std::vector<std::string> argv{ "--state-dir", stateDir, "-qmp", "unix:" + socket + ",server=on,wait=off" };
	argv.insert(argv.end(), args.begin(), args.end());
	auto p = std::make_unique<SimProcess>(dir, std::move(argv), std::move(env), true);
	p->socket_ = socket;
	return p;
}

SimProcess::SimProcess(const TempDir &dir, std::vector<std::string> args, std::vector<std::string> env, bool bare)
{
	socket_ = nextSocket(dir);
	std::vector<std::string> argv{ simExecutable() };
	if (!bare) {
		argv.push_back("--state-dir");
		argv.push_back(sharedStateDir());
		argv.push_back("-qmp");
		argv.push_back("unix:" + socket_ + ",server=on,wait=off");
	}
	argv.insert(argv.end(), args.begin(), args.end());
	GObjectPtr<GSubprocessLauncher> launcher(g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_SILENCE));
	stderrPath_ = socket_ + ".stderr";
	g_subprocess_launcher_set_stderr_file_path(launcher.get(), stderrPath_.c_str());
	g_subprocess_launcher_unsetenv(launcher.get(), "CVM_SEV_SIM_FAULTS");
	for (const auto &kv : env) {
		size_t eq = kv.find('=');
		g_subprocess_launcher_setenv(launcher.get(), kv.substr(0, eq).c_str(), kv.substr(eq + 1).c_str(), TRUE);
	}
	std::vector<const char *> cargv;
	for (const auto &a : argv)
		cargv.push_back(a.c_str());
	cargv.push_back(nullptr);
	GError *err = nullptr;
	process_.reset(g_subprocess_launcher_spawnv(launcher.get(), cargv.data(), &err));
	if (!process_) {
		fprintf(stderr, "spawn failed: %s\n", err->message);
		abort();
	}
}

SimProcess::~SimProcess()
{
	if (!waited_) {
		g_subprocess_force_exit(process_.get());
		wait();
	}
}

Result<std::unique_ptr<qmp::SyncClient>> SimProcess::connect(bool watchProcess)
{
	qmp::ClientOptions o;
	o.waitForSocket = true;
	o.process = watchProcess ? process_.get() : nullptr;
	return qmp::SyncClient::connect(socket_, qmp::Milliseconds(10000), o);
}

int SimProcess::wait()
{
	if (waited_)
		return status_;
	bool done = false;
	g_subprocess_wait_async(process_.get(), nullptr, +[](GObject *, GAsyncResult *, gpointer d) {
		*static_cast<bool *>(d) = true;
	}, &done);
	gint64 deadline = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
	while (!done) {
		if (g_get_monotonic_time() > deadline) {
			g_subprocess_force_exit(process_.get());
			deadline = G_MAXINT64;
		}
		// A wake-up so the deadline is checked even when nothing happens.
		g_timeout_add(50, +[](gpointer) -> gboolean { return G_SOURCE_REMOVE; }, nullptr);
		g_main_context_iteration(nullptr, TRUE);
	}
	waited_ = true;
	if (g_subprocess_get_if_exited(process_.get()))
		status_ = g_subprocess_get_exit_status(process_.get());
	else
		status_ = 128 + g_subprocess_get_term_sig(process_.get());
	auto text = readTextFile(stderrPath_);
	stderr_ = text ? *text : "";
	return status_;
}

void SimProcess::signal(int sig)
{
	g_subprocess_send_signal(process_.get(), sig);
}

std::string SimProcess::stderrText()
{
	wait();
	return stderr_;
}

} // namespace cvm::sim::test
