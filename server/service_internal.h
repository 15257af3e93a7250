// SPDX-License-Identifier: Apache-2.0
//
// Helpers shared by the two halves of the service (registrations, launches).
#pragma once

#include <string>
#include <string_view>

#include <glib.h>

#include "cvm/attest/protocol.h"
#include "store_pool.h"

namespace cvm::server::detail {

// A fresh launch id (a random UUID from the CSPRNG), for SEV and intel-tdx
// launches alike.
std::string newLaunchId();

// Host-supplied free text made safe for the audit trail and the logs:
// control/format characters escaped, at most about `maxBytes`.
std::string hostText(std::string_view text, size_t maxBytes);

// GCM additional data binding a sealed blob to its row.
std::string secretsContext(const std::string &vmId);
std::string keysContext(const std::string &launchId);

Result<attest::SevReference> referenceOf(const VmRecord &vm);
// intel-tdx registrations: the stored tdx reference values (service_tdx.cpp).
Result<tdx::ReferenceValues> tdxReferenceOf(const VmRecord &vm);
// What the owner registered, as audit "expected" JSON (no secrets, no keys).
std::string expectedJson(const attest::SevReference &ref, uint32_t policy);

// Logs an audit-worthy event with structured fields (CVM_VM_ID, CVM_LAUNCH_ID,
// CVM_EVENT, CVM_RESULT) next to the message, so a journal can be filtered
// by VM or launch. Never pass secrets.
void logEvent(GLogLevelFlags level, const std::string &vmId, const std::string &launchId, const char *event,
	      const std::string &result, const std::string &message);

} // namespace cvm::server::detail
