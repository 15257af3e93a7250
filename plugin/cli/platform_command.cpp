// SPDX-License-Identifier: Apache-2.0
//
// cvm-launch platform [-c URI | --qmp SOCKET] [--test-roots DIR] [--json]:
// the platform's SEV certificates (libvirt's virNodeGetSEVInfo or QEMU's
// query-sev-capabilities), its chip id, and the verdict of its chain against
// the pinned AMD roots (amd-roots) and, for simulators, --test-roots.
// Exit 0: the chain verifies; 1: it does not (or the CEK is unsigned); 2:
// usage or the platform could not be asked.
#define G_LOG_DOMAIN "cvm-cli"

#include <cstdio>

#include "cli.h"
#include "commands.h"
#include "launch_common.h"
#include "cvm/common/json.h"
#include "cvm/plugin/libvirt_backend.h"
#include "cvm/plugin/qmp_backend.h"
#include "cvm/qmp/sync_client.h"
#include "cvm/sev/chain.h"

namespace cvm::cli {

namespace {

Result<plugin::PlatformCertificates> fromQmp(const std::string &socket, unsigned timeout)
{
	auto c = CVM_TRY(qmp::SyncClient::connect(socket, std::chrono::seconds(timeout)));
	auto reply = CVM_TRY(c->execute("query-sev-capabilities", nullptr, std::chrono::seconds(timeout)));
	return plugin::parseSevCapabilities(reply.get());
}

Result<sev::TrustStore> trustStore(const std::string &amdRoots, const char *testRoots, std::vector<std::string> &notes)
{
	sev::TrustStore store;
	if (auto pinned = sev::TrustStore::load(amdRoots, sev::TrustMode::Pinned); pinned)
		store.merge(*pinned);
	else
		notes.push_back("pinned AMD roots: " + pinned.error().message());
	if (testRoots) {
		auto test = CVM_TRY(sev::TrustStore::load(testRoots, sev::TrustMode::AsGiven));
		store.merge(test);
	}
	for (const auto &w : store.warnings())
		notes.push_back(w);
	if (store.empty())
		return Error(ErrorCode::NotFound, "no trust roots: populate " + amdRoots + " (sev/README.md) or pass --test-roots");
	return store;
}

const char *statusName(sev::ChainStatus s)
{
	switch (s) {
	case sev::ChainStatus::Valid:
		return "valid";
	case sev::ChainStatus::CekUnsigned:
		return "cek-unsigned";
	default:
		return "invalid";
	}
}

int report(const plugin::PlatformCertificates &pc, const sev::ChainVerdict &v, const std::vector<std::string> &notes,
	   bool json)
{
	std::string chip = pc.cpuId ? toHex(*pc.cpuId) : "";
	if (json) {
		json::ObjectBuilder b;
		b.setBase64("pdh", pc.pdh).setBase64("cert-chain", pc.certChain).setString("chip-id", chip);
		b.setInt("cbitpos", pc.cbitpos).setInt("reduced-phys-bits", pc.reducedPhysBits);
		json::ObjectBuilder chain;
		chain.setString("status", statusName(v.status)).setString("generation", v.generation);
		chain.setString("failure", v.failure);
		b.setObject("chain", std::move(chain));
		auto node = b.build();
		printJson(node.get());
	} else {
		printf("pdh:               %zu bytes\ncert-chain:        %zu bytes (PEK, OCA, CEK)\n", pc.pdh.size(),
		       pc.certChain.size());
		printf("chip id:           %s\ncbitpos:           %u\nreduced-phys-bits: %u\n",
		       chip.empty() ? "(not reported)" : chip.c_str(), pc.cbitpos, pc.reducedPhysBits);
		for (const auto &l : v.links)
			printf("  %-4s signed by %-4s %s%s%s\n", l.cert.c_str(), l.signer.c_str(), l.ok ? "ok" : "FAILED",
			       l.ok ? "" : ": ", l.message.c_str());
		printf("chain:             %s%s%s\n", statusName(v.status),
		       v.generation.empty() ? "" : (" (" + v.generation + " roots)").c_str(),
		       v.failure.empty() ? "" : (": " + v.failure).c_str());
	}
	for (const auto &n : notes)
		fprintf(stderr, "cvm-launch platform: %s\n", n.c_str());
	return v.valid() ? kExitOk : kExitFailure;
}

} // namespace

int runPlatformCommand(int argc, char **argv)
{
	char *connect = nullptr, *socket = nullptr, *testRoots = nullptr;
	gboolean json = FALSE;
	SettingsOptions opts;
	std::vector<GOptionEntry> entries = {
		{ "connect-uri", 'c', 0, G_OPTION_ARG_STRING, &connect, "libvirt connection URI", "URI" },
		{ "qmp", 0, 0, G_OPTION_ARG_FILENAME, &socket, "ask QEMU at this QMP socket instead of libvirt", "SOCKET" },
		{ "test-roots", 0, 0, G_OPTION_ARG_FILENAME, &testRoots, "also trust these roots as given (simulator)", "DIR" },
		{ "json", 0, 0, G_OPTION_ARG_NONE, &json, "print one JSON object on stdout", nullptr },
	};
	opts.addEntries(entries);
	entries.push_back({});
	if (!parseOptions("cvm-launch platform", "", "The platform's SEV certificates, chip id and chain verdict.",
			  entries.data(), argc, argv))
		return kExitUsage;
	std::string uri = connect ? connect : "", qmpSocket = socket ? socket : "";
	g_free(connect);
	g_free(socket);
	if (argc != 1 || (!uri.empty() && !qmpSocket.empty()))
		return usage("cvm-launch platform", "use either -c URI or --qmp SOCKET");
	auto settings = opts.load();
	if (!settings)
		return fail(settings.error(), kExitUsage);
	Result<plugin::PlatformCertificates> pc = Error(ErrorCode::Internal, "");
	if (!qmpSocket.empty()) {
		pc = fromQmp(qmpSocket, settings->stepTimeout);
	} else {
		auto conn = plugin::LibvirtConnection::open(uri.empty() ? settings->connectUri : uri,
							    std::chrono::seconds(settings->stepTimeout));
		if (!conn)
			return fail(conn.error(), kExitUsage);
		pc = (*conn)->call<plugin::PlatformCertificates>("virNodeGetSEVInfo", plugin::nodeSevCertificates,
								 (*conn)->deadline(), false);
	}
	if (!pc)
		return fail(pc.error(), kExitUsage);
	std::vector<std::string> notes;
	auto store = trustStore(settings->amdRoots, testRoots, notes);
	g_free(testRoots);
	if (!store)
		return fail(store.error());
	auto chain = sev::parsePlatformChain(pc->pdh, pc->certChain);
	if (!chain)
		return fail("the platform's certificates do not parse: " + chain.error().message());
	sev::ChainOptions o;
	o.chipIdHex = pc->cpuId ? toHex(*pc->cpuId) : "";
	return report(*pc, sev::verifyChain(*chain, *store, o), notes, json);
}

} // namespace cvm::cli
