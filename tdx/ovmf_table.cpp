// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-tdx"

#include "ovmf_table.h"

namespace cvm::tdx::internal {

namespace {

constexpr size_t kFooterFromEnd = 48; // footer GUID at [size-48, size-32)
constexpr size_t kEntryTrailer = 2 + 16; // u16 length + GUID
// QEMU ignores the table of images smaller than a page.
constexpr uint64_t kMinImageSize = 4096;

const Guid &footerGuid()
{
	static const Guid g = Guid::parse("96b582de-1fb2-45f7-baea-a366c55a082d").value();
	return g;
}

Error tableError(const ImageReader &image, const std::string &what)
{
	return Error(ErrorCode::InvalidData, image.name() + ": OVMF GUIDed table: " + what);
}

} // namespace

Result<std::optional<std::vector<OvmfTableEntry>>> readOvmfTable(const ImageReader &image)
{
	uint64_t size = image.size();
	if (size < kMinImageSize)
		return std::optional<std::vector<OvmfTableEntry>>();

	uint8_t footer[kEntryTrailer];
	uint64_t footerStart = size - kFooterFromEnd - 2;
	CVM_CHECK(image.readAt(footerStart, footer, "OVMF table footer"));
	if (!(Guid::fromBytes(ByteView(footer + 2, 16)) == footerGuid()))
		return std::optional<std::vector<OvmfTableEntry>>();

	uint16_t total = loadLe16(footer, 0);
	if (total < kEntryTrailer)
		return tableError(image, "total length " + std::to_string(total) +
						 " is smaller than its own footer (18 bytes)");
	uint64_t tableLen = total - kEntryTrailer;
	if (tableLen > footerStart)
		return tableError(image, "total length " + std::to_string(total) +
						 " reaches before the start of the image");

	Bytes table(tableLen);
	uint64_t tableStart = footerStart - tableLen;
	CVM_CHECK(image.readAt(tableStart, table, "OVMF table"));

	std::vector<OvmfTableEntry> entries;
	size_t end = table.size();
	while (end > 0) {
		if (end < kEntryTrailer)
			return tableError(image, std::to_string(end) +
							 " stray bytes before the first entry (an entry needs at least 18)");
		uint16_t len = loadLe16(table, end - kEntryTrailer);
		if (len < kEntryTrailer)
			return tableError(image, "entry at table offset " + std::to_string(end) +
							 " has length " + std::to_string(len) +
							 ", less than its 18-byte trailer");
		if (len > end)
			return tableError(image, "entry at table offset " + std::to_string(end) +
							 " has length " + std::to_string(len) + ", but only " +
							 std::to_string(end) + " bytes of table precede it");
		OvmfTableEntry e;
		e.guid = Guid::fromBytes(ByteView(table.data() + end - 16, 16));
		size_t dataLen = len - kEntryTrailer;
		size_t dataStart = end - len;
		e.dataOffset = tableStart + dataStart;
		e.data.assign(table.begin() + static_cast<ptrdiff_t>(dataStart),
			      table.begin() + static_cast<ptrdiff_t>(dataStart + dataLen));
		entries.push_back(std::move(e));
		end -= len;
	}
	return std::optional<std::vector<OvmfTableEntry>>(std::move(entries));
}

const OvmfTableEntry *findOvmfEntry(const std::vector<OvmfTableEntry> &entries, const Guid &guid)
{
	for (const auto &e : entries)
		if (e.guid == guid)
			return &e;
	return nullptr;
}

} // namespace cvm::tdx::internal
