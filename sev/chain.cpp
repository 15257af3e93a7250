// SPDX-License-Identifier: Apache-2.0
//
// Parsing the platform chain encodings and verifying the chain link by link
// (the checks of virtee/sev's Chain::verify and the firmware's
// sev_cert_validate_sig: slot by signer usage, slot algorithm = signer's).
#include "cvm/sev/chain.h"

namespace cvm::sev {

namespace {

Result<SevCert> parseAs(ByteView raw, KeyUsage expected, const char *what)
{
	auto cert = SevCert::parse(raw);
	if (!cert)
		return cert.error().withContext(what);
	if (cert->usage() != expected)
		return Error(ErrorCode::InvalidData, std::string(what) + ": holds a " + usageName(cert->usage()) +
							     " key, not a " + usageName(expected));
	return cert;
}

class Verifier
{
public:
	Verifier(ChainVerdict &verdict) : v_(verdict) {}

	// Records one link; the first failure becomes the verdict's failure.
	void link(const char *cert, const char *signer, const Status &st)
	{
		LinkResult r{ cert, signer, st.ok(), st.ok() ? "" : st.error().message() };
		if (!r.ok && v_.failure.empty())
			v_.failure = std::string(cert) + ": " + r.message;
		v_.links.push_back(std::move(r));
	}

private:
	ChainVerdict &v_;
};

std::string signatureMessage(const Status &st, const char *signer)
{
	if (st.ok())
		return {};
	if (st.error().code() == ErrorCode::NotFound)
		return std::string("has no ") + signer + " signature";
	return st.error().message();
}

Status named(const Status &st, const char *signer)
{
	if (st.ok())
		return st;
	return Error(st.error().code(), signatureMessage(st, signer));
}

// The CEK that the ASK must have signed: the platform's, or when that is
// unsigned the supplied one (which must carry the same key).
Result<const SevCert *> signedCek(const PlatformChain &chain, const ChainOptions &options)
{
	if (options.signedCek) {
		if (!samePublicKey(options.signedCek->publicKey(), chain.cek.publicKey()))
			return Error(ErrorCode::VerificationFailed,
				     "the supplied signed CEK has a different public key than the platform's CEK");
		if (chain.cek.isUnsigned() || !chain.cek.slotFor(KeyUsage::Ask))
			return options.signedCek;
	}
	return &chain.cek;
}

} // namespace

Result<PlatformChain> makePlatformChain(ByteView pdh, ByteView pek, ByteView oca, ByteView cek)
{
	// One by one into locals: returning from inside a braced initializer
	// (CVM_TRY) would skip destroying the members already built.
	SevCert pdhCert = CVM_TRY(parseAs(pdh, KeyUsage::Pdh, "PDH certificate"));
	SevCert pekCert = CVM_TRY(parseAs(pek, KeyUsage::Pek, "PEK certificate"));
	SevCert ocaCert = CVM_TRY(parseAs(oca, KeyUsage::Oca, "OCA certificate"));
	SevCert cekCert = CVM_TRY(parseAs(cek, KeyUsage::Cek, "CEK certificate"));
	return PlatformChain{ std::move(pdhCert), std::move(pekCert), std::move(ocaCert), std::move(cekCert) };
}

Result<PlatformChain> parsePlatformChain(ByteView pdh, ByteView certChain)
{
	if (certChain.size() != kCertChainBlobSize)
		return Error(ErrorCode::InvalidData, "cert-chain: must be " + std::to_string(kCertChainBlobSize) +
							     " bytes (PEK, OCA, CEK), not " +
							     std::to_string(certChain.size()));
	const size_t n = kSevCertificateSize;
	return makePlatformChain(pdh, certChain.subspan(0, n), certChain.subspan(n, n), certChain.subspan(2 * n, n));
}

Result<PlatformChain> parsePlatformChainBase64(std::string_view pdhBase64, std::string_view certChainBase64)
{
	auto pdh = fromBase64(pdhBase64);
	if (!pdh)
		return pdh.error().withContext("PDH (base64)");
	auto chain = fromBase64(certChainBase64);
	if (!chain)
		return chain.error().withContext("cert-chain (base64)");
	return parsePlatformChain(*pdh, *chain);
}

std::string kdsCekUrl(std::string_view chipIdHex)
{
	return "https://kdsintf.amd.com/cek/id/" + std::string(chipIdHex);
}

std::string unsignedCekMessage(std::string_view chipIdHex)
{
	std::string id = chipIdHex.empty() ? std::string("<chip id>") : std::string(chipIdHex);
	std::string msg = "the platform's CEK is unsigned: fetch the AMD-signed CEK for chip id " + id +
			  " from AMD's Key Distribution Service (" + kdsCekUrl(id) +
			  ") and pass it with --cek, or put it in the CEK cache directory";
	if (chipIdHex.empty())
		msg += " (the chip id is the host's GET_ID / cpu0-id value: pass it with --cpu-id)";
	return msg;
}

ChainVerdict verifyChain(const PlatformChain &chain, const AmdRoots &roots, const ChainOptions &options)
{
	ChainVerdict verdict;
	verdict.generation = rootsGeneration(roots);
	verdict.amdRoots = isAmdRoots(roots);
	verdict.rootsSource = roots.source;
	Verifier check(verdict);
	// The roots were checked when they were loaded (makeRoots); their links
	// are listed so that the verdict shows the whole chain.
	check.link("ARK", "ARK", {});
	check.link("ASK", "ARK", {});

	auto cek = signedCek(chain, options);
	bool cekUnsigned = false;
	if (!cek) {
		check.link("CEK", "ASK", cek.error());
	} else if ((*cek)->isUnsigned() || !(*cek)->slotFor(KeyUsage::Ask)) {
		cekUnsigned = true;
		check.link("CEK", "ASK", Error(ErrorCode::VerificationFailed, unsignedCekMessage(options.chipIdHex)));
	} else {
		verdict.suppliedCekUsed = *cek == options.signedCek;
		check.link("CEK", "ASK", named((*cek)->verifySignedBy(roots.ask), "ASK"));
	}
	check.link("OCA", "OCA", named(chain.oca.verifySignedBy(chain.oca), "OCA"));
	check.link("PEK", "OCA", named(chain.pek.verifySignedBy(chain.oca), "OCA"));
	check.link("PEK", "CEK", named(chain.pek.verifySignedBy(chain.cek), "CEK"));
	check.link("PDH", "PEK", named(chain.pdh.verifySignedBy(chain.pek), "PEK"));

	if (verdict.failure.empty())
		verdict.status = ChainStatus::Valid;
	else if (cekUnsigned && verdict.failure.rfind("CEK: ", 0) == 0)
		verdict.status = ChainStatus::CekUnsigned;
	else
		verdict.status = ChainStatus::Invalid;
	return verdict;
}

ChainVerdict verifyChain(const PlatformChain &chain, const TrustStore &store, const ChainOptions &options)
{
	auto cek = signedCek(chain, options);
	const AmdRoots *fallback = nullptr;
	if (cek) {
		if (auto slot = (*cek)->slotFor(KeyUsage::Ask)) {
			Algorithm algorithm = (*cek)->slots()[*slot].algorithm;
			for (const AmdRoots &roots : store.roots()) {
				if (rsaAlgorithmForBits(roots.ask.modulusBits()) != algorithm)
					continue;
				if (!fallback)
					fallback = &roots;
				if ((*cek)->verifySignedBy(roots.ask))
					return verifyChain(chain, roots, options);
			}
		}
	}
	if (!fallback && !store.empty())
		fallback = &store.roots().front();
	if (fallback) {
		ChainVerdict verdict = verifyChain(chain, *fallback, options);
		// Nothing but the CEK's signature tells the generation.
		if (verdict.status == ChainStatus::CekUnsigned && store.roots().size() > 1) {
			verdict.generation.clear();
			verdict.amdRoots = false;
			verdict.rootsSource.clear();
		}
		return verdict;
	}
	ChainVerdict verdict;
	verdict.failure = "ASK: no trusted AMD roots are configured";
	verdict.links.push_back({ "ASK", "ARK", false, "no trusted AMD roots are configured" });
	return verdict;
}

} // namespace cvm::sev
