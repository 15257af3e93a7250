// SPDX-License-Identifier: Apache-2.0
// Fuzzes what LAUNCH_START receives: the GODH certificate sanity check and the
// session buffer, then the platform side that opens them (a fixed PDH key).
#include <cstdint>

#include "cvm/sev/kdf.h"
#include "cvm/sev/session.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	using namespace cvm::sev;
	static cvm::EvpPkeyPtr pdh = generateP384Key().value();
	cvm::ByteView in(data, size);
	auto s = SessionBuffer::parse(in);
	if (s.ok() && s->serialize() != cvm::Bytes(in.begin(), in.end()))
		__builtin_trap();
	(void)checkGodhCertificate(in);
	if (size >= kSevCertificateSize) {
		cvm::ByteView cert = in.first(kSevCertificateSize), rest = in.subspan(kSevCertificateSize);
		uint32_t policy = rest.size() >= 4 ? cvm::loadLe32(rest, 0) : 0;
		(void)openSessionWithGodhCert(pdh.get(), cert, rest.size() >= 4 ? rest.subspan(4) : rest, policy);
	}
	return 0;
}
