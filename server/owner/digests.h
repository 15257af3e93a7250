// SPDX-License-Identifier: Apache-2.0
//
// The expected launch digest computed on the owner's machine from the guest's
// firmware, kernel, initrd and command line (and the SEV-ES vCPU setup),
// through sev/ — the same computation as `cvm-launch sev measure`.
#pragma once

#include <vector>

#include <glib.h>

#include "cvm/common/bytes.h"
#include "cvm/common/error.h"

namespace cvm::owner {

struct DigestInputs {
	gchar *firmware = nullptr;
	gchar *kernel = nullptr;
	gchar *initrd = nullptr;
	gchar *cmdline = nullptr;
	gint numCpus = 1;
	gint cpuFamily = -1;
	gint cpuModel = -1;
	gint cpuStepping = -1;
	gchar *vmsaCpu0 = nullptr;
	gchar *vmsaCpu1 = nullptr;
	bool sevEs = false;          // set from the scheme before computing

	~DigestInputs();
	bool wanted() const { return firmware != nullptr; }
};

std::vector<GOptionEntry> digestInputEntries(DigestInputs &inputs);

// The launch digests these inputs produce (one today; a list so that several
// firmware builds can be accepted later).
Result<std::vector<Bytes>> computeLaunchDigests(const DigestInputs &inputs);

} // namespace cvm::owner
