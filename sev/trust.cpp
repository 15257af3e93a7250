// SPDX-License-Identifier: Apache-2.0
//
// Loading and pinning the AMD trust roots.
#define G_LOG_DOMAIN "cvm-sev"

#include "cvm/sev/trust.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "cvm/common/file.h"
#include "cvm/sev/cert.h"

namespace cvm::sev {

namespace {

// SHA-256 of AMD's published ARK certificates (ask_ark_<gen>.cert from the
// KDS, checked against the copies in virtee/sev's test data).
constexpr PinnedArk kPinnedArks[] = {
	{ "naples", "1bb987c359494606b174945601c9ea5b",
	  "dedabca561e1dece8cc00b7bda864cf5f20b95017864408cfe18eaee0dce24b9" },
	{ "rome", "e6002122fb58419399d15fee7b131351",
	  "865977b268c16d5b27772b00aaefb4e737ba9499e818ed8e9f65b0cecefbc529" },
	{ "milan", "94c38e4177d0479292a7ae671d083fb6",
	  "1246469862b78a7a8625579b0378d1f8e975eb8b82a1623b579d7968a5969888" },
	{ "genoa", "9f9d4a8fe761456599f6946c4c010f3a",
	  "8f4e3fd36589c23f1fe0c8338465bac7e2e066d97fc92f228bbee4fd356fb674" },
	{ "turin", "d05c3a8bde484904b49552422ceb3942",
	  "f6405e5096a6eee1eb7d5df75c49f9b9f7c8357a31c7fff150149d68588a7bf7" },
};

constexpr size_t kMaxAmdCertSize = 4096;

Result<AmdCert> loadAmdCert(const std::string &path)
{
	auto raw = readFile(path, kMaxAmdCertSize);
	if (!raw)
		return raw.error();
	auto cert = AmdCert::parse(*raw);
	if (!cert)
		return cert.error().withContext(path);
	return cert;
}

// Says which of the roots are not AMD's, so a test root is never mistaken
// for AMD's.
std::string asGivenWarning(const std::string &dir, const std::vector<AmdRoots> &roots)
{
	std::string notAmd;
	for (const AmdRoots &r : roots)
		if (!amdArk(r.ark))
			notAmd += (notAmd.empty() ? "" : ", ") + r.generation;
	std::string w = "trusting the roots in " + dir + " as given (named explicitly; not checked against " +
			"AMD's pinned ARK fingerprints)";
	if (!notAmd.empty())
		w += "; not AMD's: " + notAmd;
	return w;
}

} // namespace

std::span<const PinnedArk> pinnedArks()
{
	return kPinnedArks;
}

const PinnedArk *pinnedArkForKeyId(const AmdKeyId &keyId)
{
	std::string hex = toHex(keyId);
	for (const PinnedArk &p : kPinnedArks)
		if (hex == p.keyIdHex)
			return &p;
	return nullptr;
}

bool isPinnedArk(const AmdCert &ark, std::string_view generation)
{
	std::string fp = ark.fingerprint();
	return std::any_of(std::begin(kPinnedArks), std::end(kPinnedArks), [&](const PinnedArk &p) {
		return generation == p.generation && fp == p.sha256;
	});
}

const PinnedArk *amdArk(const AmdCert &ark)
{
	const PinnedArk *pin = pinnedArkForKeyId(ark.keyId());
	return pin && isPinnedArk(ark, pin->generation) ? pin : nullptr;
}

std::string rootsGeneration(const AmdRoots &roots)
{
	const PinnedArk *pin = amdArk(roots.ark);
	return pin ? pin->generation : roots.generation;
}

bool isAmdRoots(const AmdRoots &roots)
{
	return amdArk(roots.ark) != nullptr;
}

Result<AmdRoots> makeRoots(std::string generation, AmdCert ark, AmdCert ask, TrustMode mode, std::string source)
{
	auto bad = [&](const std::string &why) {
		return Error(ErrorCode::VerificationFailed, source + ": " + why);
	};
	if (ark.usage() != KeyUsage::Ark)
		return bad("ark.cert holds an ASK, not an ARK");
	if (ask.usage() != KeyUsage::Ask)
		return bad("ask.cert holds an ARK, not an ASK");
	if (mode == TrustMode::Pinned && !isPinnedArk(ark, generation)) {
		const PinnedArk *known = pinnedArkForKeyId(ark.keyId());
		std::string why = "ark.cert is not AMD's " + generation + " ARK (SHA-256 " + ark.fingerprint();
		why += known ? std::string(", key id of AMD's ") + known->generation + " ARK but other bytes)"
			     : ", unknown key id " + ark.keyIdHex() + ")";
		return bad(why + ": refusing it; to trust other roots, name their directory explicitly "
				 "(cvm-launch sev verify-chain --roots, the AS's test-roots)");
	}
	if (ark.certifyingId() != ark.keyId())
		return bad("the ARK is not self-certified (certifying id " + toHex(ark.certifyingId()) + ")");
	if (auto st = ark.verifySignedBy(ark); !st)
		return bad("ARK: " + st.error().message());
	if (auto st = ask.verifySignedBy(ark); !st)
		return bad("ASK: " + st.error().message());
	return AmdRoots{ std::move(generation), std::move(ark), std::move(ask), mode, std::move(source) };
}

Result<TrustStore> TrustStore::load(const std::string &dir, TrustMode mode)
{
	namespace fs = std::filesystem;
	std::error_code ec;
	if (!fs::is_directory(dir, ec))
		return Error(ErrorCode::NotFound, "AMD trust roots: " + dir + " is not a directory");
	std::vector<std::string> generations;
	for (const auto &entry : fs::directory_iterator(dir, ec))
		if (entry.is_directory(ec) && fs::exists(entry.path() / "ark.cert", ec))
			generations.push_back(entry.path().filename().string());
	if (ec)
		return Error(ErrorCode::Io, "AMD trust roots: cannot read " + dir + ": " + ec.message());
	std::sort(generations.begin(), generations.end());

	TrustStore store;
	for (const std::string &gen : generations) {
		std::string base = (fs::path(dir) / gen).string();
		AmdCert ark = CVM_TRY(loadAmdCert(base + "/ark.cert"));
		AmdCert ask = CVM_TRY(loadAmdCert(base + "/ask.cert"));
		store.add(CVM_TRY(makeRoots(gen, std::move(ark), std::move(ask), mode, base)));
	}
	if (store.empty())
		return Error(ErrorCode::NotFound, "AMD trust roots: " + dir + " has no <generation>/ark.cert");
	if (mode == TrustMode::AsGiven)
		store.warnings_.push_back(asGivenWarning(dir, store.roots_));
	return store;
}

void TrustStore::add(AmdRoots roots)
{
	roots_.push_back(std::move(roots));
}

void TrustStore::merge(const TrustStore &other)
{
	roots_.insert(roots_.end(), other.roots_.begin(), other.roots_.end());
	warnings_.insert(warnings_.end(), other.warnings_.begin(), other.warnings_.end());
}

const AmdRoots *TrustStore::find(std::string_view generation) const
{
	for (const AmdRoots &r : roots_)
		if (rootsGeneration(r) == generation)
			return &r;
	for (const AmdRoots &r : roots_)
		if (r.generation == generation)
			return &r;
	return nullptr;
}

Result<std::optional<SevCert>> loadCachedCek(const std::string &dir, std::string_view chipIdHex)
{
	std::string hex(chipIdHex);
	std::transform(hex.begin(), hex.end(), hex.begin(), [](unsigned char c) { return std::tolower(c); });
	if (hex.empty() || !fromHex(hex))
		return Error(ErrorCode::InvalidArgument, "CEK cache: the chip id must be hex, not \"" + hex + "\"");
	std::string path = (std::filesystem::path(dir) / (hex + ".cert")).string();
	std::error_code ec;
	if (!std::filesystem::exists(path, ec))
		return std::optional<SevCert>();
	auto raw = readFile(path, kSevCertificateSize + 1);
	if (!raw)
		return raw.error();
	auto cert = SevCert::parse(*raw);
	if (!cert)
		return cert.error().withContext(path);
	if (cert->usage() != KeyUsage::Cek)
		return Error(ErrorCode::InvalidData, path + ": holds a " + std::string(usageName(cert->usage())) +
							     " certificate, not a CEK");
	return std::optional<SevCert>(std::move(cert).value());
}

} // namespace cvm::sev
