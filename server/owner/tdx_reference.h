// SPDX-License-Identifier: Apache-2.0
//
// `cvm-owner register --scheme intel-tdx`: the TD's reference values from a
// reference document (`cvm-launch tdx reference --json`, or a bare
// reference-values object) and/or explicit options, which override it.
#pragma once

#include <vector>

#include <glib.h>

#include "cvm/common/error.h"
#include "cvm/tdx/reference.h"

namespace cvm::owner {

struct TdxReferenceOptions {
	gchar *reference = nullptr;
	gchar **mrtd = nullptr;
	gchar **rtmr = nullptr; // "N:HEX"
	gchar *mrConfigId = nullptr, *mrOwner = nullptr, *mrOwnerConfig = nullptr;
	gchar *tdAttributes = nullptr, *xfam = nullptr;

	~TdxReferenceOptions();
	bool given() const;
};

std::vector<GOptionEntry> tdxReferenceEntries(TdxReferenceOptions &o);

// Fails (InvalidArgument) on malformed options or when no MRTD results.
Result<tdx::ReferenceValues> buildTdxReference(const TdxReferenceOptions &o);

} // namespace cvm::owner
