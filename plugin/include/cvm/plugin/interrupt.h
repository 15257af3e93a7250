// SPDX-License-Identifier: Apache-2.0
//
// SIGINT/SIGTERM during a launch. A Ctrl-C, or a service manager stopping
// cvm-launch, must not leave a paused guest or an open launch at the AS: while
// a LaunchInterrupt lives, the two signals are only remembered (an
// async-signal-safe store), the launch notices them between steps and in every
// wait it can cut short (libvirt calls, AS requests), rolls back and exits
// non-zero. The rollback itself is never cut short (it is bounded by the
// timeouts). The previous dispositions come back with the object's end.
#pragma once

#include <functional>
#include <optional>

#include "cvm/common/error.h"

namespace cvm::plugin {

// What a wait asks to know whether to give up: an error naming the cause
// ("interrupted by SIGTERM"), or nullopt to go on.
using InterruptCheck = std::function<std::optional<Error>()>;

class LaunchInterrupt
{
public:
	LaunchInterrupt();
	~LaunchInterrupt();
	LaunchInterrupt(const LaunchInterrupt &) = delete;
	LaunchInterrupt &operator=(const LaunchInterrupt &) = delete;

	// The signal that arrived (SIGINT or SIGTERM), or 0.
	static int pending();
	// "interrupted by SIGTERM" (code Cancelled) once a signal arrived.
	static std::optional<Error> check();
	static InterruptCheck checker() { return &LaunchInterrupt::check; }
};

} // namespace cvm::plugin
