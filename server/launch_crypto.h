// SPDX-License-Identifier: Apache-2.0
//
// The SEV cryptography the server needs, as four operations on top of sev/:
// verify a platform's certificate chain, start a fresh guest-owner session,
// check a launch measurement against reference digests, and build the secret
// packet. Nothing here re-implements SEV crypto; it adds what a server needs
// around it: trust-root selection, the unsigned-CEK lookup, and a cache of
// chains already verified (a platform presents the same chain for every
// launch, so re-verifying four ECDSA and one RSA signature each time is waste).
//
// Thread-safe: called from the worker threads concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <openssl/types.h>

#include "cvm/attest/protocol.h"
#include "cvm/common/bytes.h"
#include "cvm/common/error.h"
#include "cvm/common/secure_buffer.h"

namespace cvm::server {

class CekSource;
class Metrics;

struct VerifiedPlatform {
	Bytes pdh;                   // the PDH certificate the chain vouches for
	// Its public key, parsed and checked (on P-384) once per verified chain
	// and shared by every launch on the platform (read-only, thread-safe).
	std::shared_ptr<EVP_PKEY> pdhKey;
	Bytes ocaDigest;             // SHA-256 of the OCA certificate (per-VM pins)
	// Hex of the chip id: the one that found the AMD-signed CEK when the
	// platform's CEK is unsigned (then `chipVerified`), else what the host
	// sent as cpu-id (unchecked; "" when it sent none).
	std::string chipId;
	bool chipVerified = false;
	std::string generation;      // of the root that verified the chain
};

struct LaunchSession {
	Bytes ownerCert;             // GODH certificate (2084 bytes)
	Bytes session;               // LAUNCH_START session buffer (128 bytes)
	SecureBuffer tek;
	SecureBuffer tik;
};

struct SecretPacket {
	SecureBuffer header;
	SecureBuffer payload;
};

class LaunchCrypto
{
public:
	struct Options {
		std::string amdRoots;        // pinned AMD roots directory ("" = none)
		std::string testRoots;       // explicitly trusted roots ("" = none)
		size_t chainCacheSize = 256; // 0 disables the cache
	};

	static Result<std::unique_ptr<LaunchCrypto>> create(Options options, CekSource *cek, Metrics *metrics);
	~LaunchCrypto();

	// Errors carry an AS code: chain-invalid, cek-unsigned (no cpu-id to look
	// the signed CEK up with), cek-unavailable (the KDS failed).
	Result<VerifiedPlatform> verifyPlatform(const attest::LaunchRequest &request);

	// A fresh GODH key, TEK and TIK: never reused across launches.
	Result<LaunchSession> startSession(const VerifiedPlatform &platform, uint32_t policy);

	// The index of the reference digest the measurement proves, or nullopt.
	// Every digest is tried, compared in constant time.
	Result<std::optional<size_t>> matchMeasurement(ByteView tik, const attest::ValidateRequest &report,
						       const std::vector<Bytes> &digests);

	// The secret table of `secrets`, encrypted and MACed for this launch.
	Result<SecretPacket> buildSecret(ByteView tek, ByteView tik, ByteView measurement,
					 const std::vector<attest::SecretEntry> &secrets);

	struct Impl;

private:
	explicit LaunchCrypto(std::unique_ptr<Impl> impl);
	std::unique_ptr<Impl> impl_;
};

} // namespace cvm::server
