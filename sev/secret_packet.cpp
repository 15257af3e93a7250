// SPDX-License-Identifier: Apache-2.0
//
// The LAUNCH_SECRET packet, both ends. The MAC covers the ciphertext: the
// firmware verifies it over the transport buffer before decrypting in place.
#define G_LOG_DOMAIN "cvm-sev"

#include "cvm/sev/secret.h"

#include <algorithm>

#include "crypto_internal.h"

namespace cvm::sev {

namespace {

namespace layout {
constexpr Field kFlags{ 0, 4 };
constexpr Field kIv{ 4, 16 };
constexpr Field kMac{ 20, 32 };
static_assert(kMac.end() == SecretHeader::kSize);
} // namespace layout

constexpr uint8_t kContextSecret = 0x01; // SEV_CHANNEL_CTX_SECRET

Result<Bytes> packetMac(ByteView tik, uint32_t flags, ByteView iv, ByteView ciphertext, ByteView measure)
{
	Bytes head = { kContextSecret };
	appendLe32(head, flags);
	Bytes lengths;
	appendLe32(lengths, static_cast<uint32_t>(ciphertext.size())); // GUEST_LENGTH
	appendLe32(lengths, static_cast<uint32_t>(ciphertext.size())); // TRANS_LENGTH
	return internal::hmacSha256(tik, { head, iv, lengths, ciphertext, measure });
}

Status checkKeys(ByteView tek, ByteView tik, ByteView measure)
{
	CVM_CHECK(internal::requireSize(tek, 16, "TEK"));
	CVM_CHECK(internal::requireSize(tik, 16, "TIK"));
	return internal::requireSize(measure, 32, "launch measurement (MEASURE)");
}

Status checkLength(size_t n)
{
	if (n == 0 || n % 16 != 0 || n > kMaxSecretPayload)
		return internal::tagged(ErrorCode::InvalidArgument,
					"launch secret payload of " + std::to_string(n) +
						" bytes: it must be a non-zero multiple of 16 of at most " +
						std::to_string(kMaxSecretPayload),
					kTagSecretLength);
	return {};
}

} // namespace

Result<SecretHeader> SecretHeader::parse(ByteView data)
{
	if (data.size() != kSize)
		return internal::tagged(ErrorCode::InvalidData,
					"launch secret header must be 52 bytes, not " + std::to_string(data.size()),
					kTagSecretHeader);
	SecretHeader h;
	h.flags = loadLe32(data, layout::kFlags.offset);
	ByteView iv = slice(data, layout::kIv);
	ByteView mac = slice(data, layout::kMac);
	std::copy(iv.begin(), iv.end(), h.iv.begin());
	std::copy(mac.begin(), mac.end(), h.mac.begin());
	return h;
}

Bytes SecretHeader::serialize() const
{
	Bytes out(kSize);
	storeLe32(out, layout::kFlags.offset, flags);
	storeBytes(out, layout::kIv.offset, iv);
	storeBytes(out, layout::kMac.offset, mac);
	return out;
}

Result<SecretPacket> sealSecretWithIv(ByteView tek, ByteView tik, ByteView measure, ByteView table, ByteView iv)
{
	CVM_CHECK(checkKeys(tek, tik, measure));
	CVM_CHECK(internal::requireSize(iv, 16, "IV"));
	CVM_CHECK(checkLength(table.size()));
	SecretPacket p;
	p.payload.resize(table.size());
	CVM_CHECK(internal::aes128Ctr(tek, iv, table, p.payload));
	SecretHeader h;
	h.flags = 0;
	std::copy(iv.begin(), iv.end(), h.iv.begin());
	Bytes mac = CVM_TRY(packetMac(tik, h.flags, iv, p.payload, measure));
	std::copy(mac.begin(), mac.end(), h.mac.begin());
	p.header = h.serialize();
	return p;
}

Result<SecretPacket> sealSecret(ByteView tek, ByteView tik, ByteView measure, ByteView table)
{
	SecureBuffer iv = CVM_TRY(SecureBuffer::random(16));
	return sealSecretWithIv(tek, tik, measure, table, iv);
}

Result<SecureBuffer> openSecret(ByteView tek, ByteView tik, ByteView measure, ByteView header, ByteView payload)
{
	CVM_CHECK(checkKeys(tek, tik, measure));
	SecretHeader h = CVM_TRY(SecretHeader::parse(header));
	if (h.flags != 0)
		return internal::tagged(ErrorCode::Unsupported,
					"launch secret header sets flags 0x" + toHex(slice(header, layout::kFlags)) +
						" (compressed secrets are not supported)",
					kTagSecretFlags);
	CVM_CHECK(checkLength(payload.size()));
	Bytes mac = CVM_TRY(packetMac(tik, h.flags, h.iv, payload, measure));
	if (!constantTimeEqual(mac, h.mac))
		return internal::tagged(ErrorCode::VerificationFailed,
					"launch secret: the header MAC does not verify (wrong TIK or measurement, "
					"or the packet was altered)",
					kTagSecretMac);
	SecureBuffer plain(payload.size());
	CVM_CHECK(internal::aes128Ctr(tek, h.iv, payload, plain.span()));
	return plain;
}

} // namespace cvm::sev
