// SPDX-License-Identifier: Apache-2.0
//
// The guest-owner launch session (LAUNCH_START): both ends.
//
// Owner side: from the platform's PDH public key and the guest policy, a fresh
// guest-owner DH (GODH) key, fresh TEK/TIK, the 128-byte session buffer and
// the GODH certificate QEMU passes to the firmware (dh-cert-file,
// session-file; libvirt <dhCert>, <session>).
//
// Platform side (the simulator's LAUNCH_START): from the PDH private key, the
// GODH certificate or key, the session buffer and the policy, the TEK/TIK the
// owner wrapped — checking WRAP_MAC before unwrapping and POLICY_MAC after,
// as the firmware does. Each refusal carries its own Error tag (below) so the
// simulator can map it to the firmware status the real PSP returns.
//
// Nothing here verifies the platform's certificate chain: callers pass a PDH
// that `sev verify-chain` (or the attestation server) has already verified.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "cvm/common/bytes.h"
#include "cvm/common/error.h"
#include "cvm/common/ossl.h"
#include "cvm/common/secure_buffer.h"
#include "cvm/sev/cert_types.h"

namespace cvm::sev {

// --- Guest policy: a raw u32 everywhere (MACed and measured as LE32) ---
namespace policy {
inline constexpr uint32_t kNoDebug = 1u << 0;
inline constexpr uint32_t kNoKeySharing = 1u << 1;
inline constexpr uint32_t kEncryptedState = 1u << 2; // SEV-ES
inline constexpr uint32_t kNoSend = 1u << 3;
inline constexpr uint32_t kDomain = 1u << 4;
inline constexpr uint32_t kSev = 1u << 5;
inline constexpr uint32_t kReservedMask = 0x0000ffc0; // bits 6-15 must be zero
} // namespace policy

inline bool isSevEs(uint32_t p) { return (p & policy::kEncryptedState) != 0; }

// The firmware's LAUNCH_START policy checks: reserved bits clear and the
// policy's minimum API version (bits 16-23 major, 24-31 minor) not above the
// platform's. Tag kTagPolicyInvalid.
Status checkPolicy(uint32_t policy, uint8_t apiMajor, uint8_t apiMinor);

// Error tags of the platform side, one per firmware refusal.
inline constexpr std::string_view kTagGodhInvalid = "godh-invalid";         // INVALID_CERTIFICATE
inline constexpr std::string_view kTagSessionMalformed = "session-malformed"; // INVALID_LENGTH
inline constexpr std::string_view kTagWrapMac = "wrap-mac";                 // BAD_MEASUREMENT
inline constexpr std::string_view kTagPolicyMac = "policy-mac";             // BAD_MEASUREMENT
inline constexpr std::string_view kTagPolicyInvalid = "policy-invalid";     // POLICY_FAILURE

// TEK and TIK, 16 bytes each.
struct TransportKeys {
	SecureBuffer tek;
	SecureBuffer tik;
};

// The LAUNCH_START session buffer, exactly 128 bytes:
//   0x00 NONCE[16]  0x10 WRAP_TK[32]  0x30 WRAP_IV[16]  0x40 WRAP_MAC[32]  0x60 POLICY_MAC[32]
// WRAP_TK is TEK||TIK under AES-128-CTR(KEK): nothing here is plaintext key material.
struct SessionBuffer {
	static constexpr size_t kSize = 128;

	std::array<uint8_t, 16> nonce{};
	std::array<uint8_t, 32> wrapTk{};
	std::array<uint8_t, 16> wrapIv{};
	std::array<uint8_t, 32> wrapMac{};
	std::array<uint8_t, 32> policyMac{};

	// Fails (InvalidData, tag kTagSessionMalformed) unless exactly 128 bytes.
	static Result<SessionBuffer> parse(ByteView data);
	Bytes serialize() const;
};

// Everything random in a session. fresh() draws it all from the CSPRNG; tests
// set fields to reproduce fixed vectors. Never reuse one across launches.
struct SessionRandomness {
	EvpPkeyPtr godhKey;            // P-384 key pair
	SecureBuffer tek;              // 16 bytes
	SecureBuffer tik;              // 16 bytes
	std::array<uint8_t, 16> nonce{};
	std::array<uint8_t, 16> wrapIv{};

	static Result<SessionRandomness> fresh();
};

struct OwnerSession {
	uint32_t policy = 0;
	Bytes godhCert;               // 2084-byte SEV certificate of the GODH public key
	SessionBuffer session;
	TransportKeys keys;
};

// Owner side. `pdhPublic` is the platform's (verified) PDH key.
Result<OwnerSession> startSession(EVP_PKEY *pdhPublic, uint32_t policy);
Result<OwnerSession> startSession(EVP_PKEY *pdhPublic, uint32_t policy, SessionRandomness randomness);
// The same from the PDH certificate (2084 bytes, ECDH P-384 key); its chain
// is not checked here.
Result<OwnerSession> startSessionWithPdhCert(ByteView pdhCert, uint32_t policy);

// Platform side: checks WRAP_MAC (tag kTagWrapMac: wrong PDH key, tampered
// wrap), unwraps, then checks POLICY_MAC against `policy` (kTagPolicyMac).
Result<TransportKeys> openSession(EVP_PKEY *pdhPrivate, EVP_PKEY *godhPublic, ByteView session,
				  uint32_t policy);
// The same with the GODH certificate, first put through the firmware's sanity
// check (checkGodhCertificate, tag kTagGodhInvalid).
Result<TransportKeys> openSessionWithGodhCert(EVP_PKEY *pdhPrivate, ByteView godhCert, ByteView session,
					      uint32_t policy);

// --- The GODH certificate ---

// A 2084-byte SEV certificate for `godhKey`: version 1, usage PDH (0x1003),
// algorithm ECDH_SHA256 (0x3), curve P-384, both signature slots empty
// (usage 0x1000, algorithm 0). The firmware never checks a signature on it.
Result<Bytes> makeGodhCertificate(EVP_PKEY *godhKey);

// The firmware's sanity check of the certificate LAUNCH_START receives
// (sev_cert_sanity_check(cert, PDH, ECDH_SHA256)): exactly 2084 bytes,
// version 1, usage 0x1003, algorithm 0x3, curve P-384, point on the curve.
// Returns its public key; failures carry tag kTagGodhInvalid.
Result<EvpPkeyPtr> checkGodhCertificate(ByteView cert);

// The ECDH public key of a PDH certificate (same checks: the PDH the owner
// receives has exactly the GODH's shape).
Result<EvpPkeyPtr> pdhPublicKey(ByteView pdhCert);

} // namespace cvm::sev
