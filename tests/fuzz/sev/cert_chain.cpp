// SPDX-License-Identifier: Apache-2.0
// Fuzzes the platform chain encodings (raw PDH followed by the PEK||OCA||CEK
// blob; the base64 pair on two lines) and verifies whatever parses against a
// fixed test hierarchy's roots.
#include <cstdint>
#include <string_view>

#include "cvm/sev/chain.h"

namespace {

const cvm::sev::AmdRoots &testRoots()
{
	using namespace cvm::sev;
	static const AmdRoots roots = [] {
		cvm::EvpPkeyPtr key = generateRsaKey(2048).value();
		AmdKeyId id{ 0xf0 };
		AmdCert ark = AmdCert::create(id, id, KeyUsage::Ark, key.get()).value();
		(void)ark.sign(key.get());
		AmdCert ask = AmdCert::create(id, id, KeyUsage::Ask, key.get()).value();
		(void)ask.sign(key.get());
		return makeRoots("fuzz", ark, ask, TrustMode::AsGiven, "fuzz").value();
	}();
	return roots;
}

void check(const cvm::Result<cvm::sev::PlatformChain> &chain)
{
	if (!chain.ok())
		return;
	cvm::sev::ChainVerdict v = cvm::sev::verifyChain(*chain, testRoots(), { &chain->cek, "00" });
	if (v.valid() != v.failure.empty() || v.links.size() != 7)
		__builtin_trap();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	using namespace cvm::sev;
	cvm::ByteView in(data, size);
	if (size >= kSevCertificateSize)
		check(parsePlatformChain(in.first(kSevCertificateSize), in.subspan(kSevCertificateSize)));
	std::string_view text = cvm::asString(in);
	size_t nl = text.find('\n');
	if (nl != std::string_view::npos)
		check(parsePlatformChainBase64(text.substr(0, nl), text.substr(nl + 1)));
	return 0;
}
