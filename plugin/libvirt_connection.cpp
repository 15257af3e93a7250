// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-plugin"

#include "cvm/plugin/libvirt_connection.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <system_error>
#include <thread>

#include <glib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

namespace cvm::plugin {

using namespace std::chrono_literals;

void VirConnectClose::operator()(virConnect *c) const
{
	virConnectClose(c);
}

void VirDomainFree::operator()(virDomain *d) const
{
	virDomainFree(d);
}

SharedDomain shareDomain(VirDomainPtr domain)
{
	return SharedDomain(domain.release(), VirDomainFree());
}

Error libvirtError(std::string_view context)
{
	const char *msg = virGetLastErrorMessage();
	virErrorPtr e = virGetLastError();
	ErrorCode code = ErrorCode::Remote;
	if (e && (e->code == VIR_ERR_NO_DOMAIN))
		code = ErrorCode::NotFound;
	else if (e && (e->code == VIR_ERR_NO_CONNECT || e->code == VIR_ERR_SYSTEM_ERROR || e->code == VIR_ERR_RPC))
		code = ErrorCode::Disconnected;
	else if (e && e->code == VIR_ERR_OPERATION_UNSUPPORTED)
		code = ErrorCode::Unsupported;
	return Error(code, std::string(context) + ": " + (msg ? msg : "unknown libvirt error"));
}

Result<VirConnectPtr> openLibvirt(const std::string &uri)
{
	// libvirt prints errors to stderr by default; we report them ourselves.
	virSetErrorFunc(nullptr, [](void *, virErrorPtr) {});
	VirConnectPtr c(virConnectOpen(uri.empty() ? nullptr : uri.c_str()));
	if (!c)
		return libvirtError("cannot connect to libvirt at " + uri);
	return c;
}

struct LibvirtConnection::Job {
	std::mutex mutex;
	std::condition_variable cv;
	bool done = false;
};

namespace {

std::string seconds(std::chrono::milliseconds ms)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%g s", static_cast<double>(ms.count()) / 1000.0);
	return buf;
}

// virConnectOpen on a thread of its own (libvirt's errors are per thread).
Result<VirConnectPtr> openOnThread(const std::string &uri, LibvirtConnection::Clock::time_point deadline)
{
	struct Slot {
		std::mutex mutex;
		std::condition_variable cv;
		std::unique_ptr<Result<VirConnectPtr>> result;
	};
	auto slot = std::make_shared<Slot>();
	try {
		std::thread([slot, uri] {
			auto r = std::make_unique<Result<VirConnectPtr>>(openLibvirt(uri));
			std::lock_guard<std::mutex> lock(slot->mutex);
			slot->result = std::move(r);
			slot->cv.notify_all();
		}).detach();
	} catch (const std::system_error &) {
		return openLibvirt(uri);
	}
	std::unique_lock<std::mutex> lock(slot->mutex);
	if (!slot->cv.wait_until(lock, deadline, [&] { return slot->result != nullptr; }))
		return Error(ErrorCode::Timeout, "cannot connect to libvirt at " + uri + ": no answer in time");
	return std::move(*slot->result);
}

} // namespace

LibvirtConnection::LibvirtConnection(std::string uri, std::chrono::milliseconds stepTimeout, VirConnectPtr conn)
	: uri_(std::move(uri)), stepTimeout_(stepTimeout), conn_(std::move(conn))
{
}

LibvirtConnection::~LibvirtConnection() = default;

Result<std::unique_ptr<LibvirtConnection>> LibvirtConnection::open(std::string uri, std::chrono::milliseconds stepTimeout)
{
	virInitialize();
	auto c = openOnThread(uri, Clock::now() + stepTimeout);
	if (!c && c.error().code() == ErrorCode::Timeout)
		return Error(ErrorCode::Timeout, c.error().message() + " (within " + seconds(stepTimeout) + ", step-timeout)");
	if (!c)
		return c.error();
	return std::unique_ptr<LibvirtConnection>(new LibvirtConnection(std::move(uri), stepTimeout, std::move(c).value()));
}

bool LibvirtConnection::alive() const
{
	return conn_ && virConnectIsAlive(conn_.get()) == 1;
}

Status LibvirtConnection::reopen(Clock::time_point deadline)
{
	Error last(ErrorCode::Timeout, "cannot connect to libvirt at " + uri_ + ": no answer in time");
	for (auto pause = 100ms;; pause = std::min(pause * 2, std::chrono::milliseconds(1000))) {
		auto c = openOnThread(uri_, deadline);
		if (c) {
			conn_ = std::move(c).value();
			return {};
		}
		last = c.error();
		if (Clock::now() + pause >= deadline)
			return last;
		std::this_thread::sleep_for(pause);
	}
}

virConnect *LibvirtConnection::ref() const
{
	virConnectRef(conn_.get());
	return conn_.get();
}

void LibvirtConnection::unref(virConnect *c)
{
	virConnectClose(c);
}

LibvirtConnection::Wait LibvirtConnection::run(std::function<void()> work, Clock::time_point deadline, bool interruptible)
{
	auto job = std::make_shared<Job>();
	try {
		std::thread([job, work = std::move(work)] {
			work();
			std::lock_guard<std::mutex> lock(job->mutex);
			job->done = true;
			job->cv.notify_all();
		}).detach();
	} catch (const std::system_error &e) {
		// No thread to spare: the call runs here, unbounded.
		g_warning("cannot start a thread for a libvirt call (%s): calling without a time bound", e.what());
		work();
		return Wait::Done;
	}
	std::unique_lock<std::mutex> lock(job->mutex);
	for (;;) {
		if (job->done)
			return Wait::Done;
		if (interruptible && interrupted_ && interrupted_()) {
			abandoned_ = job;
			return Wait::Interrupted;
		}
		auto now = Clock::now();
		if (now >= deadline) {
			abandoned_ = job;
			return Wait::TimedOut;
		}
		// Short slices: a signal is only seen between them.
		job->cv.wait_until(lock, std::min(deadline, now + 50ms));
	}
}

bool LibvirtConnection::settle(Clock::time_point deadline)
{
	if (!abandoned_)
		return true;
	std::unique_lock<std::mutex> lock(abandoned_->mutex);
	bool done = abandoned_->cv.wait_until(lock, deadline, [&] { return abandoned_->done; });
	lock.unlock();
	if (done)
		abandoned_.reset();
	return done;
}

Error LibvirtConnection::notDone(Wait wait, std::string_view what) const
{
	if (wait == Wait::Interrupted && interrupted_)
		if (auto e = interrupted_())
			return *e;
	return Error(ErrorCode::Timeout, std::string(what) + ": libvirt did not answer within " + seconds(stepTimeout_) +
						 " (step-timeout)");
}

Error LibvirtConnection::lost(Error error) const
{
	if (error.code() == ErrorCode::Disconnected || alive())
		return error;
	return Error(ErrorCode::Disconnected, error.message() + " (the connection to libvirtd was lost)", error.tag());
}

} // namespace cvm::plugin
