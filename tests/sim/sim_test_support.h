// SPDX-License-Identifier: Apache-2.0
//
// Shared by the sim/ tests: one simulated platform per test program (RSA-4096
// key generation takes a while), the guest owner's side of a launch from
// sev/ (session files, expected digest, secret packets) and the Debian OVMF.
#pragma once

#include <string>

#include "cvm/common/file.h"
#include "cvm/sev/launch_digest.h"
#include "cvm/sev/secret.h"
#include "cvm/sev/session.h"
#include "cvm/sim/platform.h"

namespace cvm::sim::test {

// A platform created in a temporary state directory on first use, kept for
// the life of the program.
Platform &sharedPlatform();
const std::string &sharedStateDir();

// Writes DIR/<prefix>godh.b64 and DIR/<prefix>session.b64 (base64 text, as
// QEMU reads them) for `session`; returns their paths.
struct SessionFiles {
	std::string godh;
	std::string session;
};
SessionFiles writeSessionFiles(const TempDir &dir, const sev::OwnerSession &session,
			       const std::string &prefix = "");

// A secret table with one LUKS-key entry and one random entry.
SecureBuffer sampleSecretTable();

} // namespace cvm::sim::test
