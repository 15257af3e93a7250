// SPDX-License-Identifier: Apache-2.0
//
// cvm-sev-sim init: creates a simulated platform's state directory.
#define G_LOG_DOMAIN "cvm-sim"

#include <cstdio>

#include <glib.h>

#include "cvm/common/bytes.h"
#include "cvm/common/gptr.h"
#include "cvm/sim/platform.h"
#include "sim_process.h"

namespace cvm::sim {

int runInit(int argc, char **argv)
{
	gchar *stateDir = nullptr;
	gboolean unsignedCek = FALSE, force = FALSE;
	gint apiMajor = 1, apiMinor = 52, buildId = 4, cbitpos = 51;
	GOptionEntry entries[] = {
		{ "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &stateDir, "The state directory to create", "DIR" },
		{ "unsigned-cek", 0, 0, G_OPTION_ARG_NONE, &unsignedCek,
		  "Export the chain with an unsigned CEK; the signed one goes to DIR/kds/", nullptr },
		{ "force", 0, 0, G_OPTION_ARG_NONE, &force, "Replace an existing platform", nullptr },
		{ "api-major", 0, 0, G_OPTION_ARG_INT, &apiMajor, "Firmware API major (default 1)", "N" },
		{ "api-minor", 0, 0, G_OPTION_ARG_INT, &apiMinor, "Firmware API minor (default 52)", "N" },
		{ "build-id", 0, 0, G_OPTION_ARG_INT, &buildId, "Firmware build id (default 4)", "N" },
		{ "cbitpos", 0, 0, G_OPTION_ARG_INT, &cbitpos, "C-bit position (default 51)", "N" },
		{},
	};
	GOptionContextPtr ctx(g_option_context_new("- create a simulated SEV platform"));
	g_option_context_add_main_entries(ctx.get(), entries, nullptr);
	GError *raw = nullptr;
	bool parsed = g_option_context_parse(ctx.get(), &argc, &argv, &raw);
	GErrorPtr err(raw);
	GCharPtr dir(stateDir);
	if (!parsed || argc > 1) {
		fprintf(stderr, "%s: %s\n", g_get_prgname(), err ? err->message : "unexpected arguments");
		return 2;
	}
	auto inRange = [](gint v, gint lo, gint hi) { return v >= lo && v <= hi; };
	if (!dir || !inRange(apiMajor, 0, 255) || !inRange(apiMinor, 0, 255) || !inRange(buildId, 0, 255) ||
	    !inRange(cbitpos, 32, 63)) {
		fprintf(stderr, "%s: init needs --state-dir DIR (api/build in 0..255, cbitpos in 32..63)\n",
			g_get_prgname());
		return 2;
	}
	PlatformInitOptions options;
	options.stateDir = dir.get();
	options.unsignedCek = unsignedCek;
	options.force = force;
	options.version = { static_cast<uint8_t>(apiMajor), static_cast<uint8_t>(apiMinor),
			    static_cast<uint8_t>(buildId) };
	options.cbitpos = static_cast<uint32_t>(cbitpos);
	auto platform = Platform::init(options);
	if (!platform) {
		fprintf(stderr, "%s: %s\n", g_get_prgname(), platform.error().message().c_str());
		return 1;
	}
	const PlatformIdentity &id = (*platform)->identity();
	printf("state directory: %s\nchip id: %s\nfirmware: %u.%u build %u\ntest roots: %s/roots/%s/\n",
	       options.stateDir.c_str(), toHex(id.chipId).c_str(), id.version.apiMajor, id.version.apiMinor,
	       id.version.buildId, options.stateDir.c_str(), kTestRootGeneration);
	if (id.unsignedCek)
		printf("signed CEK for a stand-in KDS: %s/kds/%s.cert\n", options.stateDir.c_str(),
		       toHex(id.chipId).c_str());
	return 0;
}

} // namespace cvm::sim
