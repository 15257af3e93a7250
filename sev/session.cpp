// SPDX-License-Identifier: Apache-2.0
//
// LAUNCH_START session: the 128-byte buffer, the owner side that builds it and
// the platform side that opens it. The order of the platform checks is the
// firmware's: WRAP_MAC before unwrapping, POLICY_MAC with the unwrapped TIK.
#define G_LOG_DOMAIN "cvm-sev"

#include "cvm/sev/session.h"

#include <algorithm>
#include <glib.h>

#include "cvm/sev/kdf.h"
#include "crypto_internal.h"

namespace cvm::sev {

namespace {

namespace layout {
constexpr Field kNonce{ 0x00, 16 };
constexpr Field kWrapTk{ 0x10, 32 };
constexpr Field kWrapIv{ 0x30, 16 };
constexpr Field kWrapMac{ 0x40, 32 };
constexpr Field kPolicyMac{ 0x60, 32 };
static_assert(kPolicyMac.end() == SessionBuffer::kSize);
} // namespace layout

template<size_t N>
void load(std::array<uint8_t, N> &out, ByteView data, Field f)
{
	ByteView s = slice(data, f);
	std::copy(s.begin(), s.end(), out.begin());
}

Result<Bytes> policyMac(ByteView tik, uint32_t policy)
{
	Bytes le;
	appendLe32(le, policy);
	return internal::hmacSha256(tik, { le });
}

} // namespace

Status checkPolicy(uint32_t p, uint8_t apiMajor, uint8_t apiMinor)
{
	if (p & policy::kReservedMask)
		return internal::tagged(ErrorCode::InvalidArgument,
					"guest policy sets reserved bits 6-15", kTagPolicyInvalid);
	unsigned minMajor = (p >> 16) & 0xff;
	unsigned minMinor = (p >> 24) & 0xff;
	if (minMajor > apiMajor || (minMajor == apiMajor && minMinor > apiMinor))
		return internal::tagged(ErrorCode::Unsupported,
					"guest policy requires SEV API " + std::to_string(minMajor) + "." +
						std::to_string(minMinor) + ", the platform has " +
						std::to_string(apiMajor) + "." + std::to_string(apiMinor),
					kTagPolicyInvalid);
	return {};
}

Result<SessionBuffer> SessionBuffer::parse(ByteView data)
{
	if (data.size() != kSize)
		return internal::tagged(ErrorCode::InvalidData,
					"launch session buffer must be 128 bytes, not " + std::to_string(data.size()),
					kTagSessionMalformed);
	SessionBuffer s;
	load(s.nonce, data, layout::kNonce);
	load(s.wrapTk, data, layout::kWrapTk);
	load(s.wrapIv, data, layout::kWrapIv);
	load(s.wrapMac, data, layout::kWrapMac);
	load(s.policyMac, data, layout::kPolicyMac);
	return s;
}

Bytes SessionBuffer::serialize() const
{
	Bytes out(kSize);
	storeBytes(out, layout::kNonce.offset, nonce);
	storeBytes(out, layout::kWrapTk.offset, wrapTk);
	storeBytes(out, layout::kWrapIv.offset, wrapIv);
	storeBytes(out, layout::kWrapMac.offset, wrapMac);
	storeBytes(out, layout::kPolicyMac.offset, policyMac);
	return out;
}

Result<SessionRandomness> SessionRandomness::fresh()
{
	SessionRandomness r;
	r.godhKey = CVM_TRY(generateP384Key());
	r.tek = CVM_TRY(SecureBuffer::random(16));
	r.tik = CVM_TRY(SecureBuffer::random(16));
	SecureBuffer nonce = CVM_TRY(SecureBuffer::random(16));
	SecureBuffer iv = CVM_TRY(SecureBuffer::random(16));
	std::copy_n(nonce.data(), 16, r.nonce.begin());
	std::copy_n(iv.data(), 16, r.wrapIv.begin());
	return r;
}

Result<OwnerSession> startSession(EVP_PKEY *pdhPublic, uint32_t policy, SessionRandomness r)
{
	CVM_CHECK(internal::requireSize(r.tek, 16, "TEK"));
	CVM_CHECK(internal::requireSize(r.tik, 16, "TIK"));
	if (!pdhPublic || !r.godhKey)
		return Error(ErrorCode::InvalidArgument, "a launch session needs the PDH and a GODH key");

	SecureBuffer z = CVM_TRY(ecdhSharedSecret(r.godhKey.get(), pdhPublic));
	ChannelKeys ck = CVM_TRY(deriveChannelKeys(z, r.nonce));

	OwnerSession out;
	out.policy = policy;
	out.session.nonce = r.nonce;
	out.session.wrapIv = r.wrapIv;
	SecureBuffer plain(32);
	std::copy_n(r.tek.data(), 16, plain.data());
	std::copy_n(r.tik.data(), 16, plain.data() + 16);
	CVM_CHECK(internal::aes128Ctr(ck.kek, r.wrapIv, plain, out.session.wrapTk));
	Bytes wrapMac = CVM_TRY(internal::hmacSha256(ck.kik, { out.session.wrapTk }));
	Bytes pmac = CVM_TRY(policyMac(r.tik, policy));
	std::copy(wrapMac.begin(), wrapMac.end(), out.session.wrapMac.begin());
	std::copy(pmac.begin(), pmac.end(), out.session.policyMac.begin());

	out.godhCert = CVM_TRY(makeGodhCertificate(r.godhKey.get()));
	out.keys.tek = std::move(r.tek);
	out.keys.tik = std::move(r.tik);
	g_debug("launch session started for policy 0x%x", policy);
	return out;
}

Result<OwnerSession> startSession(EVP_PKEY *pdhPublic, uint32_t policy)
{
	SessionRandomness r = CVM_TRY(SessionRandomness::fresh());
	return startSession(pdhPublic, policy, std::move(r));
}

Result<OwnerSession> startSessionWithPdhCert(ByteView pdhCert, uint32_t policy)
{
	EvpPkeyPtr pdh = CVM_TRY(pdhPublicKey(pdhCert));
	return startSession(pdh.get(), policy);
}

Result<TransportKeys> openSession(EVP_PKEY *pdhPrivate, EVP_PKEY *godhPublic, ByteView sessionBytes,
				  uint32_t policy)
{
	SessionBuffer s = CVM_TRY(SessionBuffer::parse(sessionBytes));
	if (!pdhPrivate || !godhPublic)
		return Error(ErrorCode::InvalidArgument, "opening a launch session needs the PDH and GODH keys");
	SecureBuffer z = CVM_TRY(ecdhSharedSecret(pdhPrivate, godhPublic));
	ChannelKeys ck = CVM_TRY(deriveChannelKeys(z, s.nonce));

	Bytes wrapMac = CVM_TRY(internal::hmacSha256(ck.kik, { s.wrapTk }));
	if (!constantTimeEqual(wrapMac, s.wrapMac))
		return internal::tagged(ErrorCode::VerificationFailed,
					"launch session: WRAP_MAC does not verify (session made for another "
					"PDH, or altered)",
					kTagWrapMac);

	SecureBuffer plain(32);
	CVM_CHECK(internal::aes128Ctr(ck.kek, s.wrapIv, s.wrapTk, plain.span()));
	TransportKeys keys;
	keys.tek = SecureBuffer(ByteView(plain.data(), 16));
	keys.tik = SecureBuffer(ByteView(plain.data() + 16, 16));

	Bytes pmac = CVM_TRY(policyMac(keys.tik, policy));
	if (!constantTimeEqual(pmac, s.policyMac))
		return internal::tagged(ErrorCode::VerificationFailed,
					"launch session: POLICY_MAC does not verify (the guest policy is not "
					"the one the owner authorised)",
					kTagPolicyMac);
	return keys;
}

Result<TransportKeys> openSessionWithGodhCert(EVP_PKEY *pdhPrivate, ByteView godhCert, ByteView session,
					      uint32_t policy)
{
	EvpPkeyPtr godh = CVM_TRY(checkGodhCertificate(godhCert));
	return openSession(pdhPrivate, godh.get(), session, policy);
}

} // namespace cvm::sev
