// SPDX-License-Identifier: Apache-2.0
//
// A stand-in SEV platform for the server's tests and bench/as: its own AMD-format root
// (ARK, ASK: RSA-2048) and platform chain (CEK, OCA, PEK: ECDSA P-384; PDH:
// ECDH P-384) built with sev/'s construction API, with the private keys, so
// the test can play the firmware: open the session the server created with
// the PDH private key, measure the launch with the TIK, open the secret
// packet with TEK and TIK. All of it is sev/'s real math, in-process.
// No Catch2 here (bench/as builds this file too): failures to build the
// stand-in abort, which only a broken OpenSSL can cause.
#pragma once

#include <optional>
#include <string>

#include "cvm/attest/protocol.h"
#include "cvm/common/ossl.h"
#include "cvm/sev/amd_cert.h"
#include "cvm/sev/cert.h"
#include "cvm/sev/measurement.h"
#include "cvm/sev/secret.h"
#include "cvm/sev/session.h"

namespace cvm::test {

class TestPlatform
{
public:
	// A fresh hierarchy (one RSA-2048 root per process is shared: keygen is slow).
	TestPlatform();

	// DIR/<generation>/{ark,ask}.cert for the server's test-roots.
	void writeRoots(const std::string &dir) const;

	// What the host sends to POST …/launch: PDH, PEK ‖ OCA ‖ CEK, chip id.
	attest::LaunchRequest launchRequest(bool withChipId = true) const;
	const Bytes &chipId() const { return chipId_; }
	const sev::SevCert &cek() const { return cek_; }
	// The CEK with its ASK signature cleared, as real Genoa hosts export it.
	Bytes unsignedCek() const;

	// The firmware's LAUNCH_START with the server's answer.
	Result<sev::TransportKeys> open(const attest::LaunchResponse &launch) const;
	// LAUNCH_MEASURE over `launchDigest`: the report the host validates with.
	attest::ValidateRequest measure(const sev::TransportKeys &keys, uint32_t policy, ByteView launchDigest) const;
	// LAUNCH_SECRET: the secret table the guest would find.
	Result<std::vector<sev::SecretEntry>> openSecret(const sev::TransportKeys &keys,
							 const attest::ValidateRequest &report,
							 const attest::ValidateResponse &secret) const;

	sev::PlatformVersion version{ 0, 24, 15 };

private:
	EvpPkeyPtr cekKey_, ocaKey_, pekKey_, pdhKey_;
	sev::SevCert cek_, oca_, pek_, pdh_;
	Bytes chipId_;
};

} // namespace cvm::test
