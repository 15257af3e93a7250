// SPDX-License-Identifier: Apache-2.0
//
// Helpers shared by the two halves of the service (registrations, launches).
#pragma once

#include <string>

#include "cvm/attest/protocol.h"
#include "store.h"

namespace cvm::server::detail {

// GCM additional data binding a sealed blob to its row.
std::string secretsContext(const std::string &vmId);
std::string keysContext(const std::string &launchId);

Result<attest::SevReference> referenceOf(const VmRecord &vm);
// What the owner registered, as audit "expected" JSON (no secrets, no keys).
std::string expectedJson(const attest::SevReference &ref, uint32_t policy);

} // namespace cvm::server::detail
