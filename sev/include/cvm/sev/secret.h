// SPDX-License-Identifier: Apache-2.0
//
// Launch secrets: the OVMF secret table (the guest's EFI secret area, Linux
// efi_secret "coco") and the LAUNCH_SECRET packet that carries it.
//
// Table (plaintext):
//   GUID 1e74f542-71dd-4d66-963e-ef4287ff173b || u32 length ||
//   entries GUID[16] || u32 entry length (incl. its 20-byte header) || data
//   || zero padding to a multiple of 16.
// Length convention: the length field counts header and entries but not the
// padding (sevctl, simple-kbs; sevctl's published vectors), and the padding
// is the minimum to a multiple of 16 (none when already aligned).
// virt-qemu-sev-validate writes the same length field but always pads (16
// bytes when aligned); the guest's parser and parseSecretTable() accept
// both, and a length that includes the padding.
//
// Packet:
//   IV  = 16 random bytes;  CT = AES-128-CTR(TEK, IV, table)
//   MAC = HMAC-SHA256(TIK, 0x01 || LE32 FLAGS || IV || LE32 len(CT) || LE32 len(CT) || CT || MEASURE)
//   header = LE32 FLAGS(0) || IV || MAC  (52 bytes); payload = CT
// where MEASURE is the 32-byte launch measurement (not the mnonce).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "cvm/common/bytes.h"
#include "cvm/common/error.h"
#include "cvm/common/secure_buffer.h"

namespace cvm::sev {

namespace secret_guid {
const Guid &table();   // 1e74f542-71dd-4d66-963e-ef4287ff173b
const Guid &luksKey(); // 736869e5-84f0-4973-92ec-06879ce3da0b, alias "luks-key"
} // namespace secret_guid

// "luks-key" or a GUID in text form (any case).
Result<Guid> secretGuid(std::string_view aliasOrGuid);

struct SecretEntry {
	Guid guid;
	SecureBuffer value;
};

// The firmware refuses LAUNCH_SECRET payloads above its scratch buffer.
inline constexpr size_t kMaxSecretPayload = 0x5000;

// The padded table. Refuses duplicate GUIDs and a table above kMaxSecretPayload.
Result<SecureBuffer> buildSecretTable(const std::vector<SecretEntry> &entries);
// Entries of a table (the guest's view). Bytes after the length are ignored
// (the guest's area is larger than the table); a remainder smaller than an
// entry header inside the length must be zero padding.
Result<std::vector<SecretEntry>> parseSecretTable(ByteView table);

// Platform-side refusals of LAUNCH_SECRET, one tag each.
inline constexpr std::string_view kTagSecretHeader = "secret-header"; // not 52 bytes
inline constexpr std::string_view kTagSecretFlags = "secret-flags";   // FLAGS != 0 (compression unsupported)
inline constexpr std::string_view kTagSecretLength = "secret-length"; // 0, not a multiple of 16, > 0x5000
inline constexpr std::string_view kTagSecretMac = "secret-mac";       // MAC mismatch

struct SecretHeader {
	static constexpr size_t kSize = 52;

	uint32_t flags = 0;
	std::array<uint8_t, 16> iv{};
	std::array<uint8_t, 32> mac{};

	static Result<SecretHeader> parse(ByteView data); // exactly 52 bytes (tag kTagSecretHeader)
	Bytes serialize() const;
};

struct SecretPacket {
	Bytes header;  // 52 bytes
	Bytes payload; // ciphertext
};

// Owner side: encrypts and MACs `table` (a multiple of 16 bytes, at most
// kMaxSecretPayload) for the launch whose MEASURE (32 bytes) was verified.
Result<SecretPacket> sealSecret(ByteView tek, ByteView tik, ByteView measure, ByteView table);
// With a given IV: for reproducing vectors only.
Result<SecretPacket> sealSecretWithIv(ByteView tek, ByteView tik, ByteView measure, ByteView table,
				      ByteView iv);

// Platform side (LAUNCH_SECRET): header checks, MAC over the ciphertext with
// TIK, then decryption with TEK. guest_len = trans_len = payload.size().
Result<SecureBuffer> openSecret(ByteView tek, ByteView tik, ByteView measure, ByteView header,
				ByteView payload);

} // namespace cvm::sev
