// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-sev"

#include "cvm/sev/secret.h"

#include <algorithm>


#include "crypto_internal.h"

namespace cvm::sev {

namespace {

constexpr size_t kHeaderSize = 16 + 4; // GUID || u32 length, of the table and of each entry

namespace layout {
constexpr Field kGuid{ 0, 16 };
constexpr Field kLength{ 16, 4 };
} // namespace layout

Error tableError(const std::string &why)
{
	return Error(ErrorCode::InvalidData, "secret table: " + why);
}

bool allZero(ByteView b)
{
	for (uint8_t c : b)
		if (c)
			return false;
	return true;
}

} // namespace

namespace secret_guid {
const Guid &table()
{
	static const Guid g = Guid::parse("1e74f542-71dd-4d66-963e-ef4287ff173b").value();
	return g;
}
const Guid &luksKey()
{
	static const Guid g = Guid::parse("736869e5-84f0-4973-92ec-06879ce3da0b").value();
	return g;
}
} // namespace secret_guid

Result<Guid> secretGuid(std::string_view aliasOrGuid)
{
	if (aliasOrGuid == "luks-key")
		return secret_guid::luksKey();
	auto g = Guid::parse(aliasOrGuid);
	if (!g)
		return Error(ErrorCode::InvalidArgument, "secret name '" + std::string(aliasOrGuid) +
								 "' is neither a GUID nor a known alias (luks-key)");
	return g;
}

Result<SecureBuffer> buildSecretTable(const std::vector<SecretEntry> &entries)
{
	size_t used = kHeaderSize;
	for (size_t i = 0; i < entries.size(); ++i) {
		for (size_t j = 0; j < i; ++j)
			if (entries[j].guid == entries[i].guid)
				return Error(ErrorCode::InvalidArgument,
					     "secret " + entries[i].guid.toString() + " is given twice");
		if (entries[i].value.size() > kMaxSecretPayload)
			return Error(ErrorCode::LimitExceeded, "secret " + entries[i].guid.toString() + " is too large");
		used += kHeaderSize + entries[i].value.size();
	}
	size_t padded = (used + 15) & ~size_t(15);
	if (padded > kMaxSecretPayload)
		return Error(ErrorCode::LimitExceeded, "the secret table would be " + std::to_string(padded) +
							       " bytes; LAUNCH_SECRET takes at most " +
							       std::to_string(kMaxSecretPayload));
	SecureBuffer out(padded);
	MutableByteView t = out.span();
	storeBytes(t, layout::kGuid.offset, secret_guid::table().bytes);
	storeLe32(t, layout::kLength.offset, static_cast<uint32_t>(used));
	size_t off = kHeaderSize;
	for (const auto &e : entries) {
		storeBytes(t, off, e.guid.bytes);
		storeLe32(t, off + 16, static_cast<uint32_t>(kHeaderSize + e.value.size()));
		storeBytes(t, off + kHeaderSize, e.value);
		off += kHeaderSize + e.value.size();
	}
	return out;
}

// What the guest reads. OVMF only reserves the secret area and publishes it
// (EFI configuration table); the guest OS parses it (Linux efi_secret):
// the header's length bounds the table and everything after it
// in the area is not looked at, so neither is it here. Inside the length we
// are stricter than Linux, which skips a remainder shorter than an entry
// header whatever it holds: we want it to be zero padding.
Result<std::vector<SecretEntry>> parseSecretTable(ByteView table)
{
	if (table.size() < kHeaderSize)
		return tableError("only " + std::to_string(table.size()) + " bytes, less than its 20-byte header");
	if (!(Guid::fromBytes(slice(table, layout::kGuid)) == secret_guid::table()))
		return tableError("wrong table GUID " + Guid::fromBytes(slice(table, layout::kGuid)).toString());
	uint32_t len = loadLe32(table, layout::kLength.offset);
	if (len < kHeaderSize || len > table.size())
		return tableError("length " + std::to_string(len) + " outside [20, " + std::to_string(table.size()) + "]");

	std::vector<SecretEntry> out;
	size_t off = kHeaderSize;
	while (off < len) {
		size_t left = len - off;
		if (left < kHeaderSize) {
			// A length that counts the padding leaves less than a header.
			if (!allZero(table.subspan(off, left)))
				return tableError("non-zero bytes after the last entry");
			break;
		}
		Guid guid = Guid::fromBytes(table.subspan(off, 16));
		uint32_t entryLen = loadLe32(table, off + 16);
		if (entryLen < kHeaderSize || entryLen > left)
			return tableError("entry at offset " + std::to_string(off) + " has length " +
					  std::to_string(entryLen) + ", outside [20, " + std::to_string(left) + "]");
		// A null GUID marks an entry the guest deleted.
		if (!(guid == Guid{})) {
			for (const auto &e : out)
				if (e.guid == guid)
					return tableError("secret " + guid.toString() + " appears twice");
			out.push_back({ guid, SecureBuffer(table.subspan(off + kHeaderSize, entryLen - kHeaderSize)) });
		}
		off += entryLen;
	}
	return out;
}

} // namespace cvm::sev
