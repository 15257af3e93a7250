// SPDX-License-Identifier: Apache-2.0
//
// The intel-tdx half of the attestation service: a launch issues a single-use
// nonce and tells the host the launch configuration the owner registered
// (TD attributes, MRCONFIGID, MROWNER, MROWNERCONFIG); the TD's quote for that launch is verified (signatures and PCK chain
// up to the configured root), appraised against the registration's reference
// values (tdx.mrtd, RTMRs, MRCONFIGID/MROWNER/MROWNERCONFIG, attributes,
// XFAM, no debug TD) and the binding report_data = SHA-512(nonce ||
// tee-public-key), and only then are the VM's secrets released, encrypted to
// the TD's key (cvm/attest/tdx_secrets.h). As for SEV: validation is single
// use, a refused quote burns the launch, every attempt and verdict is audited,
// and the launch bound, expiry and end/revoke rules are shared.
//
// Not evaluated: TCB status and collateral (TCB info, QE identity, CRLs); the
// verdict says the quote comes from a quoting enclave with a PCK key under the
// root, not that the platform is up to date.
#pragma once

#include <optional>
#include <string>

#include "cvm/attest/protocol_tdx.h"
#include "cvm/common/error.h"
#include "service.h"

namespace cvm::server {

struct TdxServiceOptions {
	unsigned launchExpiry = 600;
	// Trust anchor (DER) instead of the pinned Intel SGX Root CA (tests, private PKIs).
	std::optional<Bytes> rootCaDer;
};

class TdxService
{
public:
	TdxService(TdxServiceOptions options, StorePool &stores, const SecretSealer &sealer, Metrics &metrics,
		   Clock clock = systemClock);

	Result<attest::TdxLaunchResponse> launch(const std::string &vmId);
	Result<attest::TdxQuoteResponse> quote(const std::string &vmId, const std::string &launchId,
					       const attest::TdxQuoteRequest &request);

private:
	// The verdict on a quote and, when it passes, the wrapped secrets. A
	// refusal (VerificationFailed) has been recorded in `store` already.
	Result<attest::TdxQuoteResponse> judge(Store &store, const VmRecord &vm, const LaunchRecord &launch,
					       const attest::TdxQuoteRequest &request, int64_t now, std::string &reported);
	Status refuse(Store &store, const LaunchRecord &launch, const Error &error, const std::string &reported,
		      const std::string &expected, int64_t now);

	TdxServiceOptions options_;
	StorePool &stores_;
	const SecretSealer &sealer_;
	Metrics &metrics_;
	Clock clock_;
};

} // namespace cvm::server
