// SPDX-License-Identifier: Apache-2.0
//
// One libvirt connection whose every call has a bound.
//
// libvirt's client calls block, and libvirt bounds none of them for us: a
// hung libvirtd, or a QEMU monitor that stops answering inside libvirtd,
// blocks the caller for ever (keepalive would only notice a dead peer, and
// needs an event loop we do not otherwise run). So each call runs on a
// thread of its own while the caller waits at most until a deadline (the
// step timeout); past it the caller gets a Timeout error and the thread is
// left to finish on its own (it holds its own references, and what it
// produces is released when it ends). A wait marked interruptible also ends
// when SIGINT/SIGTERM arrive (interrupt.h). settle() lets a rollback wait for
// a call it gave up on, so that a start still in flight cannot create a guest
// after the rollback looked.
//
// A connection that was lost (libvirtd restarted) can be reopened; domain
// handles of the old connection must then be looked up again.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "cvm/common/error.h"
#include "cvm/plugin/interrupt.h"

typedef struct _virConnect virConnect;
typedef struct _virDomain virDomain;

namespace cvm::plugin {

struct VirConnectClose {
	void operator()(virConnect *c) const;
};
struct VirDomainFree {
	void operator()(virDomain *d) const;
};
using VirConnectPtr = std::unique_ptr<virConnect, VirConnectClose>;
using VirDomainPtr = std::unique_ptr<virDomain, VirDomainFree>;
// A domain handle a call's thread may hold beyond the caller's wait.
using SharedDomain = std::shared_ptr<virDomain>;
SharedDomain shareDomain(VirDomainPtr domain);

// What a libvirt call with no value returns, and its result as a Status.
using Done = std::monostate;
inline Status status(Result<Done> r)
{
	if (!r)
		return std::move(r).error();
	return {};
}

// The last libvirt error (of this thread) as ours, "context: libvirt's message".
Error libvirtError(std::string_view context);

// virConnectOpen without a bound (libvirt's errors are not printed).
Result<VirConnectPtr> openLibvirt(const std::string &uri);

class LibvirtConnection
{
public:
	using Clock = std::chrono::steady_clock;

	// Opens `uri`, waiting at most `stepTimeout`.
	static Result<std::unique_ptr<LibvirtConnection>> open(std::string uri, std::chrono::milliseconds stepTimeout);
	~LibvirtConnection();

	const std::string &uri() const { return uri_; }
	std::chrono::milliseconds stepTimeout() const { return stepTimeout_; }
	Clock::time_point deadline() const { return Clock::now() + stepTimeout_; }
	void setInterruptCheck(InterruptCheck check) { interrupted_ = std::move(check); }

	// Whether the connection is still up (asks no one).
	bool alive() const;
	// Opens the URI again until libvirtd answers or `deadline` passes.
	Status reopen(Clock::time_point deadline);

	// Runs fn(connection) on its own thread and waits for it until
	// `deadline` (or, when interruptible, a signal). An error of fn on a
	// connection that has meanwhile gone is reported as Disconnected.
	template<typename T>
	Result<T> call(std::string_view what, std::function<Result<T>(virConnect *)> fn, Clock::time_point deadline,
		       bool interruptible);

	// Waits until `deadline` for the last call given up on to end; true
	// when none is left running.
	bool settle(Clock::time_point deadline);

private:
	enum class Wait { Done, TimedOut, Interrupted };
	struct Job;
	LibvirtConnection(std::string uri, std::chrono::milliseconds stepTimeout, VirConnectPtr conn);
	Wait run(std::function<void()> work, Clock::time_point deadline, bool interruptible);
	virConnect *ref() const;
	static void unref(virConnect *c);
	Error notDone(Wait wait, std::string_view what) const;
	Error lost(Error error) const;

	std::string uri_;
	std::chrono::milliseconds stepTimeout_;
	VirConnectPtr conn_;
	InterruptCheck interrupted_;
	std::shared_ptr<Job> abandoned_;
};

template<typename T>
Result<T> LibvirtConnection::call(std::string_view what, std::function<Result<T>(virConnect *)> fn,
				  Clock::time_point deadline, bool interruptible)
{
	// On the heap and shared: the thread may outlive this wait.
	auto slot = std::make_shared<std::unique_ptr<Result<T>>>();
	virConnect *c = ref();
	Wait w = run(
		[slot, c, fn = std::move(fn)] {
			*slot = std::make_unique<Result<T>>(fn(c));
			unref(c);
		},
		deadline, interruptible);
	if (w != Wait::Done)
		return notDone(w, what);
	// (Through the pointer: gcc 12 misreads a moved Result<> local, -Wmaybe-uninitialized.)
	std::unique_ptr<Result<T>> r = std::move(*slot);
	if (!r->ok())
		return lost(r->error());
	return std::move(*r);
}

} // namespace cvm::plugin
