// SPDX-License-Identifier: Apache-2.0
//
// cvm-launch sev verify-chain: checks a SEV platform's certificate chain
// (from a directory of .cert files, or the base64 PDH / cert-chain values
// libvirt and QEMU report) against AMD's roots: those of the default
// directory are pinned by fingerprint; a directory named with --roots (alias
// --test-roots) is trusted as given, with a warning on stderr.
// Exit 0 valid, 1 invalid (the message names the failing link), 2 usage.
#define G_LOG_DOMAIN "cvm-cli"

#include "sev_chain_command.h"

#include <cstdio>
#include <filesystem>
#include <optional>

#include "cli.h"
#include "cvm/common/file.h"
#include "cvm/common/json.h"
#include "cvm/sev/chain.h"

namespace cvm::cli {

namespace {

using namespace cvm::sev;

constexpr size_t kMaxInputSize = 1u << 16;

struct ChainArgs {
	gchar *certDir = nullptr, *pdh = nullptr, *certChain = nullptr, *cpuId = nullptr;
	gchar *roots = nullptr, *testRoots = nullptr, *cek = nullptr, *cekCache = nullptr;
	gboolean json = FALSE;
	~ChainArgs()
	{
		for (gchar *p : { certDir, pdh, certChain, cpuId, roots, testRoots, cek, cekCache })
			g_free(p);
	}
};

bool exists(const std::string &path)
{
	std::error_code ec;
	return std::filesystem::exists(path, ec);
}

// A certificate value as the platform exports it: raw bytes of the expected
// size, or their base64.
Result<Bytes> readRawOrBase64(const std::string &path, size_t rawSize)
{
	Bytes raw = CVM_TRY(readFile(path, kMaxInputSize));
	if (raw.size() == rawSize)
		return raw;
	auto decoded = fromBase64(asString(raw));
	if (!decoded)
		return Error(ErrorCode::InvalidData, path + ": neither " + std::to_string(rawSize) +
							     " raw bytes nor base64 (" + decoded.error().message() + ")");
	return decoded;
}

Result<PlatformChain> loadPlatform(const ChainArgs &a)
{
	if (a.certDir) {
		std::string d = a.certDir;
		Bytes pdh = CVM_TRY(readFile(d + "/pdh.cert", kMaxInputSize));
		Bytes pek = CVM_TRY(readFile(d + "/pek.cert", kMaxInputSize));
		Bytes oca = CVM_TRY(readFile(d + "/oca.cert", kMaxInputSize));
		Bytes cek = CVM_TRY(readFile(d + "/cek.cert", kMaxInputSize));
		return makePlatformChain(pdh, pek, oca, cek);
	}
	Bytes pdh = CVM_TRY(readRawOrBase64(a.pdh, kSevCertificateSize));
	Bytes chain = CVM_TRY(readRawOrBase64(a.certChain, kCertChainBlobSize));
	return parsePlatformChain(pdh, chain);
}

Result<AmdCert> readAmdCert(const std::string &path)
{
	Bytes raw = CVM_TRY(readFile(path, kMaxInputSize));
	auto cert = AmdCert::parse(raw);
	if (!cert)
		return cert.error().withContext(path);
	return cert;
}

// ark.cert/ask.cert next to the platform's certificates: trusted when the ARK
// is AMD's (pinned fingerprint) or one of the configured roots.
Result<std::optional<AmdRoots>> rootsFromCertDir(const ChainArgs &a, const TrustStore &store)
{
	if (!a.certDir || !exists(std::string(a.certDir) + "/ark.cert"))
		return std::optional<AmdRoots>();
	std::string d = a.certDir;
	AmdCert ark = CVM_TRY(readAmdCert(d + "/ark.cert"));
	AmdCert ask = CVM_TRY(readAmdCert(d + "/ask.cert"));
	if (const PinnedArk *pin = pinnedArkForKeyId(ark.keyId()); pin && isPinnedArk(ark, pin->generation))
		return std::optional<AmdRoots>(
			CVM_TRY(makeRoots(pin->generation, std::move(ark), std::move(ask), TrustMode::Pinned, d)));
	for (const AmdRoots &r : store.roots())
		if (r.ark.bytes() == ark.bytes())
			return std::optional<AmdRoots>(
				CVM_TRY(makeRoots(r.generation, std::move(ark), std::move(ask), r.mode, d)));
	return Error(ErrorCode::VerificationFailed,
		     d + "/ark.cert is neither AMD's ARK (key id " + ark.keyIdHex() +
			     ", SHA-256 " + ark.fingerprint() + ") nor one of the trusted roots: refusing it");
}

// A directory named on the command line is the user's explicit choice:
// trusted as given (with a warning). Only the default directory, which
// anyone with write access to /etc could have swapped, is pinned.
Result<TrustStore> loadTrust(const ChainArgs &a)
{
	TrustStore store;
	for (const gchar *dir : { a.roots, a.testRoots })
		if (dir)
			store.merge(CVM_TRY(TrustStore::load(dir, TrustMode::AsGiven)));
	if (!a.roots && !a.testRoots && exists(kDefaultAmdRootsDir))
		store.merge(CVM_TRY(TrustStore::load(kDefaultAmdRootsDir, TrustMode::Pinned)));
	return store;
}

// The chip id (GET_ID, QEMU's cpu0-id): a file holding raw bytes or base64,
// or the base64 text itself.
Result<std::string> chipIdHex(const ChainArgs &a)
{
	if (!a.cpuId)
		return std::string();
	std::string text = a.cpuId;
	if (exists(text)) {
		Bytes raw = CVM_TRY(readFile(text, kMaxInputSize));
		auto decoded = fromBase64(asString(raw));
		return toHex(decoded ? *decoded : raw);
	}
	auto decoded = fromBase64(text);
	if (!decoded || decoded->empty())
		return Error(ErrorCode::InvalidArgument, "--cpu-id: neither a file nor base64: " + text);
	return toHex(*decoded);
}

Result<std::optional<SevCert>> loadSignedCek(const ChainArgs &a, const std::string &chip)
{
	if (a.cek) {
		Bytes raw = CVM_TRY(readRawOrBase64(a.cek, kSevCertificateSize));
		auto cert = SevCert::parse(raw);
		if (!cert)
			return cert.error().withContext(a.cek);
		if (cert->usage() != KeyUsage::Cek)
			return Error(ErrorCode::InvalidData, std::string(a.cek) + ": not a CEK certificate");
		return std::optional<SevCert>(std::move(cert).value());
	}
	if (a.cekCache && !chip.empty())
		return loadCachedCek(a.cekCache, chip);
	return std::optional<SevCert>();
}

json::ObjectBuilder sevCertJson(const SevCert &c)
{
	json::ObjectBuilder o;
	o.setString("usage", usageName(c.usage()))
		.setString("algorithm", algorithmName(c.algorithm()))
		.setString("api-version", std::to_string(c.apiMajor()) + "." + std::to_string(c.apiMinor()))
		.setBool("signed", !c.isUnsigned())
		.setString("fingerprint", c.fingerprint());
	return o;
}

json::ObjectBuilder amdCertJson(const AmdCert &c)
{
	json::ObjectBuilder o;
	o.setString("usage", usageName(c.usage()))
		.setString("algorithm", algorithmName(rsaAlgorithmForBits(c.modulusBits())))
		.setInt("modulus-bits", c.modulusBits())
		.setString("key-id", c.keyIdHex())
		.setString("certifying-id", toHex(c.certifyingId()))
		.setString("fingerprint", c.fingerprint());
	return o;
}

const char *statusName(ChainStatus s)
{
	switch (s) {
	case ChainStatus::Valid: return "valid";
	case ChainStatus::Invalid: return "invalid";
	case ChainStatus::CekUnsigned: return "cek-unsigned";
	}
	return "invalid";
}

void printVerdictJson(const ChainVerdict &v, const PlatformChain &chain, const AmdRoots *roots,
		      const std::vector<std::string> &warnings)
{
	JsonArray *links = json_array_new();
	for (const LinkResult &l : v.links) {
		json::ObjectBuilder o;
		o.setString("cert", l.cert).setString("signer", l.signer).setBool("ok", l.ok);
		if (!l.ok)
			o.setString("message", l.message);
		json_array_add_element(links, o.build().release());
	}
	JsonArray *warn = json_array_new();
	for (const std::string &w : warnings)
		json_array_add_string_element(warn, w.c_str());
	json::ObjectBuilder certs;
	certs.setObject("pdh", sevCertJson(chain.pdh)).setObject("pek", sevCertJson(chain.pek))
		.setObject("oca", sevCertJson(chain.oca)).setObject("cek", sevCertJson(chain.cek));
	if (roots)
		certs.setObject("ask", amdCertJson(roots->ask)).setObject("ark", amdCertJson(roots->ark));
	json::ObjectBuilder o;
	o.setString("verdict", statusName(v.status));
	v.generation.empty() ? o.setNull("generation") : o.setString("generation", v.generation);
	o.setBool("amd-roots", v.amdRoots);
	v.rootsSource.empty() ? o.setNull("roots") : o.setString("roots", v.rootsSource);
	v.failure.empty() ? o.setNull("failure") : o.setString("failure", v.failure);
	o.setBool("supplied-cek", v.suppliedCekUsed).setObject("certificates", std::move(certs));
	JsonNodePtr linksNode(json_node_init_array(json_node_alloc(), links));
	JsonNodePtr warnNode(json_node_init_array(json_node_alloc(), warn));
	json_array_unref(links);
	json_array_unref(warn);
	o.setNode("links", std::move(linksNode)).setNode("warnings", std::move(warnNode));
	printJson(o.build().get());
}

void printVerdictText(const ChainVerdict &v)
{
	for (const LinkResult &l : v.links)
		printf("%-4s signed by %-4s %s%s%s\n", l.cert.c_str(), l.signer.c_str(), l.ok ? "ok" : "FAILED",
		       l.ok ? "" : ": ", l.message.c_str());
	if (!v.valid())
		return;
	const char *cek = v.suppliedCekUsed ? " (with the supplied signed CEK)" : "";
	if (v.amdRoots)
		printf("valid: the platform chain verifies to the %s AMD roots%s\n", v.generation.c_str(), cek);
	else
		printf("valid: the platform chain verifies to the %s roots in %s, trusted as given (not AMD's)%s\n",
		       v.generation.c_str(), v.rootsSource.c_str(), cek);
}

// The roots the verdict was reached with (for the JSON summary).
const AmdRoots *usedRoots(const ChainVerdict &v, const std::optional<AmdRoots> &dirRoots, const TrustStore &store)
{
	if (dirRoots)
		return &*dirRoots;
	for (const AmdRoots &r : store.roots())
		if (!v.rootsSource.empty() && r.source == v.rootsSource)
			return &r;
	return nullptr;
}

int verify(const ChainArgs &a)
{
	auto chain = loadPlatform(a);
	if (!chain)
		return fail("invalid: " + chain.error().message());
	auto store = loadTrust(a);
	if (!store)
		return fail(store.error());
	auto dirRoots = rootsFromCertDir(a, *store);
	if (!dirRoots)
		return fail(dirRoots.error());
	if (!*dirRoots && store->empty())
		return fail(std::string("no trusted AMD roots: ") + kDefaultAmdRootsDir +
			    " does not exist; pass --roots DIR or put ark.cert and ask.cert in --cert-dir");
	for (const std::string &w : store->warnings())
		fprintf(stderr, "cvm-launch: warning: %s\n", w.c_str());
	auto chip = chipIdHex(a);
	if (!chip)
		return fail(chip.error(), kExitUsage);
	auto cek = loadSignedCek(a, *chip);
	if (!cek)
		return fail(cek.error());
	ChainOptions options{ *cek ? &**cek : nullptr, *chip };
	ChainVerdict v = *dirRoots ? verifyChain(*chain, **dirRoots, options) : verifyChain(*chain, *store, options);
	if (a.json)
		printVerdictJson(v, *chain, usedRoots(v, *dirRoots, *store), store->warnings());
	else
		printVerdictText(v);
	if (!v.valid())
		return fail("invalid: " + v.failure);
	return kExitOk;
}

} // namespace

int runSevVerifyChainCommand(int argc, char **argv)
{
	ChainArgs a;
	GOptionEntry entries[] = {
		{ "cert-dir", 0, 0, G_OPTION_ARG_FILENAME, &a.certDir, "Directory with pdh.cert pek.cert oca.cert cek.cert (and optionally ark.cert ask.cert)", "DIR" },
		{ "pdh", 0, 0, G_OPTION_ARG_FILENAME, &a.pdh, "The platform's PDH (raw or base64, as libvirt/QEMU report it)", "F" },
		{ "cert-chain", 0, 0, G_OPTION_ARG_FILENAME, &a.certChain, "The cert-chain value (PEK||OCA||CEK, raw or base64)", "F" },
		{ "cpu-id", 0, 0, G_OPTION_ARG_STRING, &a.cpuId, "The chip id (GET_ID / cpu0-id): a file or base64", "F|B64" },
		{ "roots", 0, 0, G_OPTION_ARG_FILENAME, &a.roots, "Roots DIR/<generation>/{ark,ask}.cert, trusted as given with a warning (default /etc/cvm-launch/amd, pinned to AMD's ARKs)", "DIR" },
		{ "test-roots", 0, 0, G_OPTION_ARG_FILENAME, &a.testRoots, "The same as --roots (older name)", "DIR" },
		{ "cek", 0, 0, G_OPTION_ARG_FILENAME, &a.cek, "The AMD-signed CEK (for a platform that exports it unsigned)", "F" },
		{ "cek-cache", 0, 0, G_OPTION_ARG_FILENAME, &a.cekCache, "Directory of signed CEKs named <chip-id-hex>.cert", "DIR" },
		{ "json", 0, 0, G_OPTION_ARG_NONE, &a.json, "Print the verdict as one JSON object", nullptr },
		{},
	};
	if (!parseOptions(argv[0], "", "Verify a SEV platform's certificate chain up to AMD's roots.", entries, argc, argv))
		return kExitUsage;
	if (argc > 1)
		return usage(argv[0], std::string("unexpected argument ") + argv[1]);
	if (!a.certDir == !(a.pdh || a.certChain))
		return usage(argv[0], "give either --cert-dir or --pdh with --cert-chain");
	if (!a.certDir && (!a.pdh || !a.certChain))
		return usage(argv[0], "--pdh and --cert-chain go together");
	if (a.cek && a.cekCache)
		return usage(argv[0], "--cek and --cek-cache exclude each other");
	return verify(a);
}

} // namespace cvm::cli
