// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-sev"

#include "cvm/sev/ovmf.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cvm/common/file.h"

namespace cvm::sev {

namespace {

constexpr size_t kTrailer = 2 + 16;           // u16 length + GUID, of entries and of the footer
constexpr size_t kFooterEndGap = 32;           // the footer GUID ends 32 bytes before the image end
constexpr size_t kFooterSize = kTrailer + kFooterEndGap;

Error tableError(const std::string &why)
{
	return Error(ErrorCode::InvalidData, "OVMF footer table: " + why);
}

Result<GuestArea> areaOf(const OvmfTableEntry &e, const char *what)
{
	if (e.data.size() != 8)
		return tableError(std::string(what) + " entry has " + std::to_string(e.data.size()) +
				  " bytes of data, expected 8 ({u32 base, u32 size})");
	return GuestArea{ loadLe32(e.data, 0), loadLe32(e.data, 4) };
}

} // namespace

namespace ovmf_guid {
#define CVM_OVMF_GUID(name, text)                                      \
	const Guid &name()                                             \
	{                                                              \
		static const Guid g = Guid::parse(text).value();       \
		return g;                                              \
	}
CVM_OVMF_GUID(footer, "96b582de-1fb2-45f7-baea-a366c55a082d")
CVM_OVMF_GUID(sevHashTable, "7255371f-3a3b-4b04-927b-1da6efa8d454")
CVM_OVMF_GUID(sevSecret, "4c2eb361-7d9b-4cc3-8081-127c90d3d294")
CVM_OVMF_GUID(sevEsResetBlock, "00f771de-1a7e-4fcb-890e-68c77e2fb44e")
CVM_OVMF_GUID(sevMetadata, "dc886566-984a-4798-a75e-5585a7bf67cc")
CVM_OVMF_GUID(tdxMetadata, "e47a6535-984a-4798-865e-4685a7bf8ec2")
#undef CVM_OVMF_GUID
} // namespace ovmf_guid

Result<OvmfFooterTable> OvmfFooterTable::parse(ByteView image)
{
	if (image.size() < kFooterSize)
		return Error(ErrorCode::NotFound, "no OVMF footer table: the image is only " +
							  std::to_string(image.size()) + " bytes");
	size_t footerStart = image.size() - kFooterSize; // the u16 total length
	if (!(Guid::fromBytes(image.subspan(footerStart + 2, 16)) == ovmf_guid::footer()))
		return Error(ErrorCode::NotFound, "no OVMF footer table (footer GUID not found)");

	uint16_t total = loadLe16(image, footerStart);
	if (total < kTrailer)
		return tableError("total length " + std::to_string(total) +
				  " is smaller than the 18-byte footer it includes");
	size_t tableLen = total - kTrailer;
	if (tableLen > footerStart)
		return tableError("total length " + std::to_string(total) + " reaches before the start of the image");
	ByteView table = image.subspan(footerStart - tableLen, tableLen);

	OvmfFooterTable out;
	size_t end = table.size();
	while (end > 0) {
		if (end < kTrailer)
			return tableError(std::to_string(end) + " stray bytes before the first entry "
						       "(an entry needs at least 18)");
		uint16_t len = loadLe16(table, end - kTrailer);
		if (len < kTrailer)
			return tableError("entry ending at table offset " + std::to_string(end) + " has length " +
					  std::to_string(len) + ", less than its 18-byte trailer");
		if (len > end)
			return tableError("entry ending at table offset " + std::to_string(end) + " has length " +
					  std::to_string(len) + ", but only " + std::to_string(end) +
					  " bytes of table precede it");
		OvmfTableEntry e;
		e.guid = Guid::fromBytes(table.subspan(end - 16, 16));
		if (out.find(e.guid))
			return tableError("GUID " + e.guid.toString() + " appears twice");
		ByteView data = table.subspan(end - len, len - kTrailer);
		e.data.assign(data.begin(), data.end());
		out.entries_.push_back(std::move(e));
		end -= len;
	}
	return out;
}

Result<OvmfFooterTable> OvmfFooterTable::readFile(const std::string &path)
{
	UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
	struct stat st;
	if (!fd.isValid() || fstat(fd.get(), &st) != 0)
		return Error(errno == ENOENT ? ErrorCode::NotFound : ErrorCode::Io,
			     "cannot open " + path + ": " + std::strerror(errno));
	if (!S_ISREG(st.st_mode))
		return Error(ErrorCode::InvalidArgument, path + " is not a regular file");
	uint64_t size = static_cast<uint64_t>(st.st_size);
	size_t want = static_cast<size_t>(std::min<uint64_t>(size, kOvmfTableMaxTail));
	Bytes tail(want);
	size_t done = 0;
	while (done < want) {
		ssize_t n = pread(fd.get(), tail.data() + done, want - done,
				  static_cast<off_t>(size - want + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return Error(ErrorCode::Io, "cannot read " + path + ": " +
						    (n < 0 ? std::strerror(errno) : "file shrank while reading"));
		done += static_cast<size_t>(n);
	}
	auto table = parse(tail);
	if (!table)
		return table.error().withContext(path);
	return table;
}

const OvmfTableEntry *OvmfFooterTable::find(const Guid &guid) const
{
	for (const auto &e : entries_)
		if (e.guid == guid)
			return &e;
	return nullptr;
}

Result<std::optional<GuestArea>> OvmfFooterTable::sevHashTableArea() const
{
	const OvmfTableEntry *e = find(ovmf_guid::sevHashTable());
	if (!e)
		return std::optional<GuestArea>();
	GuestArea a = CVM_TRY(areaOf(*e, "SEV hash table"));
	if (a.base == 0 || a.size == 0)
		return std::optional<GuestArea>();
	return std::optional<GuestArea>(a);
}

Result<std::optional<GuestArea>> OvmfFooterTable::sevSecretArea() const
{
	const OvmfTableEntry *e = find(ovmf_guid::sevSecret());
	if (!e)
		return std::optional<GuestArea>();
	GuestArea a = CVM_TRY(areaOf(*e, "SEV secret"));
	if (a.base == 0 || a.size == 0)
		return std::optional<GuestArea>();
	return std::optional<GuestArea>(a);
}

Result<std::optional<uint32_t>> OvmfFooterTable::sevEsResetAddress() const
{
	const OvmfTableEntry *e = find(ovmf_guid::sevEsResetBlock());
	if (!e)
		return std::optional<uint32_t>();
	if (e->data.size() != 4)
		return tableError("SEV-ES reset block entry has " + std::to_string(e->data.size()) +
				  " bytes of data, expected 4 (u32 reset address)");
	return std::optional<uint32_t>(loadLe32(e->data, 0));
}

Bytes buildOvmfFooterTable(const std::vector<OvmfTableEntry> &entries)
{
	Bytes out;
	for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
		append(out, it->data);
		appendLe16(out, static_cast<uint16_t>(it->data.size() + kTrailer));
		append(out, it->guid.bytes);
	}
	appendLe16(out, static_cast<uint16_t>(out.size() + kTrailer));
	append(out, ovmf_guid::footer().bytes);
	return out;
}

} // namespace cvm::sev
