// SPDX-License-Identifier: Apache-2.0
//
// What the libvirt hook decides at `prepare begin`, as pure code: the domain's
// metadata and the launch record cvm-launch wrote for it in, a verdict out.
//
//  - no <cvm:launch>: allow (the hook's fast path never even gets here);
//  - bad metadata: refuse (a misspelt guard must not turn into no guard);
//  - a pending record whose session is the one in <launchSecurity>, not yet
//    used and not expired: allow once (the record becomes `started`);
//  - anything else: refuse, telling the admin to run `cvm-launch start NAME`,
//    and with plain-start="attest" hand the start over to a detached
//    cvm-launch (only when no launch is in flight for the domain, so a
//    refused cvm-launch never re-spawns itself).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "cvm/common/error.h"
#include "cvm/plugin/launch_records.h"
#include "cvm/plugin/metadata.h"

namespace cvm::plugin {

struct PrepareDecision {
	bool allow = false;
	std::string message;          // for stderr (libvirt shows it) when refused
	bool handOver = false;        // spawn a detached `cvm-launch start NAME`
	bool consumeRecord = false;   // mark the record `started`
};

struct PrepareInput {
	std::string name;
	Result<std::optional<LaunchMetadata>> metadata = std::optional<LaunchMetadata>();
	std::optional<std::string> session;                    // DomainXml::launchToken(): the SEV
	                                                       // <session> or a TD's hand-over item
	Result<std::optional<LaunchRecord>> record = std::optional<LaunchRecord>();
	int64_t now = 0;                                       // unix seconds
};

PrepareDecision decidePrepare(const PrepareInput &input);

} // namespace cvm::plugin
