// SPDX-License-Identifier: Apache-2.0
// Fuzzes the AMD ARK/ASK parser: accepted input round-trips, and checking the
// self-signature (RSA-PSS) of whatever key it holds never crashes.
#include <cstdint>

#include "cvm/sev/amd_cert.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	using namespace cvm::sev;
	cvm::ByteView in(data, size);
	auto cert = AmdCert::parse(in);
	if (!cert.ok())
		return 0;
	if (cert->bytes() != cvm::Bytes(in.begin(), in.end()) || !cert->publicKey() ||
	    cert->signedPart().size() + cert->signatureLe().size() != size)
		__builtin_trap();
	(void)cert->verifySignedBy(*cert);
	return 0;
}
