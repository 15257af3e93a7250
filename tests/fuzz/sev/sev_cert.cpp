// SPDX-License-Identifier: Apache-2.0
// Fuzzes the SEV certificate parser: anything it accepts must serialize back
// to the same bytes, and the signature checks must cope with every slot.
#include <cstdint>

#include "cvm/sev/cert.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	using namespace cvm::sev;
	cvm::ByteView in(data, size);
	auto cert = SevCert::parse(in);
	if (!cert.ok())
		return 0;
	if (cert->bytes() != cvm::Bytes(in.begin(), in.end()) || !cert->publicKey())
		__builtin_trap();
	(void)cert->fingerprint();
	if (canSign(cert->algorithm()))
		(void)cert->verifySignedBy(*cert);
	SevCert copy = *cert;
	for (KeyUsage u : { KeyUsage::Ask, KeyUsage::Oca, KeyUsage::Pek, KeyUsage::Cek })
		copy.clearSignature(u);
	if (!copy.isUnsigned() || !SevCert::parse(copy.bytes()).ok())
		__builtin_trap();
	return 0;
}
