// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-tdx"

#include "cvm/tdx/tdvf.h"

#include <algorithm>
#include <cstdio>

#include <glib.h>

#include "ovmf_table.h"

namespace cvm::tdx {

namespace {

// TDVF descriptor and section entry (TDVF Design Guide, tables 1.1-1 and 1.1-2).
constexpr uint32_t kSignature = 0x46564454; // "TDVF"
constexpr size_t kDescriptorSize = 16;
constexpr Field kDescSignature{ 0, 4 };
constexpr Field kDescLength{ 4, 4 };
constexpr Field kDescVersion{ 8, 4 };
constexpr Field kDescCount{ 12, 4 };
constexpr size_t kSectionSize = 32;
constexpr Field kSecDataOffset{ 0, 4 };
constexpr Field kSecRawDataSize{ 4, 4 };
constexpr Field kSecMemoryAddress{ 8, 8 };
constexpr Field kSecMemoryDataSize{ 16, 8 };
constexpr Field kSecType{ 24, 4 };
constexpr Field kSecAttributes{ 28, 4 };
// td-shim images without the OVMF table: u32 absolute descriptor offset here.
constexpr uint64_t kTdShimPointerFromEnd = 0x20;
constexpr uint32_t kMaxTdShimType = tdvf::kTypeTdParams;

const Guid &metadataOffsetGuid()
{
	static const Guid g = Guid::parse("e47a6535-984a-4798-865e-4685a7bf8ec2").value();
	return g;
}

const Guid &metadataGuid()
{
	static const Guid g = Guid::parse("e9eaf9f3-168e-44d5-a8eb-7f4d8738f6ae").value();
	return g;
}

std::string hex(uint64_t v)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(v));
	return buf;
}

Error metadataError(const ImageReader &image, const std::string &what)
{
	return Error(ErrorCode::InvalidData, image.name() + ": TDVF metadata: " + what);
}

// Where the descriptor is, by the OVMF table (both loaders) or td-shim's pointer.
Result<TdvfMetadata> locate(const ImageReader &image, TdvfLoader loader)
{
	TdvfMetadata md;
	auto table = CVM_TRY(internal::readOvmfTable(image));
	const internal::OvmfTableEntry *entry =
		table ? internal::findOvmfEntry(*table, metadataOffsetGuid()) : nullptr;
	uint64_t size = image.size();

	if (entry) {
		if (entry->data.size() != 4)
			return metadataError(image, "the OVMF table's TDX metadata entry has " +
							    std::to_string(entry->data.size()) +
							    " data bytes, expected 4");
		uint32_t fromEnd = loadLe32(entry->data, 0);
		if (fromEnd > size || fromEnd < kDescriptorSize)
			return metadataError(image, "the descriptor offset " + hex(fromEnd) +
							    " (from the end) is outside the image");
		md.location = TdvfLocation::OvmfTable;
		md.descriptorOffset = size - fromEnd;
		return md;
	}
	if (loader == TdvfLoader::Qemu)
		return metadataError(image, table ? "the OVMF GUIDed table has no TDX metadata entry "
						    "(e47a6535-984a-4798-865e-4685a7bf8ec2): this "
						    "firmware was built without TDX support"
						  : "no OVMF GUIDed table (footer GUID 48 bytes before "
						    "the end): not an OVMF/TDVF image QEMU can launch as a TD");
	if (size < kTdShimPointerFromEnd)
		return metadataError(image, "the image is too small to hold a td-shim metadata pointer");
	uint8_t ptr[4];
	CVM_CHECK(image.readAt(size - kTdShimPointerFromEnd, ptr, "td-shim metadata pointer"));
	uint32_t offset = loadLe32(ptr, 0);
	if (offset < 16 || offset > size - kDescriptorSize)
		return metadataError(image, "neither an OVMF TDX metadata entry nor a td-shim "
					    "metadata pointer (u32 at size-0x20 = " + hex(offset) + ")");
	md.location = TdvfLocation::TdShimPointer;
	md.descriptorOffset = offset;
	return md;
}

Status checkGuid(const ImageReader &image, TdvfLoader loader, TdvfMetadata &md)
{
	if (md.descriptorOffset >= 16) {
		uint8_t g[16];
		CVM_CHECK(image.readAt(md.descriptorOffset - 16, g, "TDVF metadata GUID"));
		md.guidPresent = Guid::fromBytes(g) == metadataGuid();
	}
	// QEMU does not look at the GUID; td-shim's tool insists on it.
	if (loader == TdvfLoader::TdShim && !md.guidPresent)
		return metadataError(image, "the descriptor at " + hex(md.descriptorOffset) +
					    " is not preceded by the TDX metadata GUID "
					    "e9eaf9f3-168e-44d5-a8eb-7f4d8738f6ae");
	return {};
}

TdvfSection decodeSection(ByteView raw)
{
	TdvfSection s;
	s.dataOffset = loadLe32(raw, kSecDataOffset.offset);
	s.rawDataSize = loadLe32(raw, kSecRawDataSize.offset);
	s.memoryAddress = loadLe64(raw, kSecMemoryAddress.offset);
	s.memoryDataSize = loadLe64(raw, kSecMemoryDataSize.offset);
	s.type = loadLe32(raw, kSecType.offset);
	s.attributes = loadLe32(raw, kSecAttributes.offset);
	return s;
}

// hw/i386/tdvf.c tdvf_parse_and_check_section_entry(), plus what QEMU relies
// on without checking: BFV/CFV copy MemoryDataSize bytes from the image.
std::string qemuSectionProblem(const TdvfSection &s, uint64_t imageSize)
{
	if (s.memoryDataSize < s.rawDataSize)
		return "RawDataSize " + hex(s.rawDataSize) + " exceeds MemoryDataSize " +
		       hex(s.memoryDataSize);
	if (s.memoryAddress % tdvf::kPageSize)
		return "MemoryAddress " + hex(s.memoryAddress) + " is not page aligned";
	if (s.memoryDataSize % tdvf::kPageSize)
		return "MemoryDataSize " + hex(s.memoryDataSize) + " is not page aligned";
	switch (s.type) {
	case tdvf::kTypeBfv:
	case tdvf::kTypeCfv:
		if (s.rawDataSize == 0)
			return "RawDataSize is 0, but this section is copied from the image";
		if (s.memoryDataSize > imageSize || s.dataOffset > imageSize - s.memoryDataSize)
			return "QEMU copies MemoryDataSize " + hex(s.memoryDataSize) +
			       " bytes from DataOffset " + hex(s.dataOffset) +
			       ", past the end of the image";
		return {};
	case tdvf::kTypeTdHob:
	case tdvf::kTypeTempMem:
		if (s.rawDataSize != 0)
			return "RawDataSize " + hex(s.rawDataSize) +
			       " must be 0: this section is not copied from the image";
		return {};
	default:
		return "QEMU supports only BFV, CFV, TD_HOB and TEMP_MEM sections";
	}
}

// td-shim-tools tee_info_hash.rs build_mrtd() sanity checks.
std::string tdShimSectionProblem(const TdvfSection &s, uint64_t imageSize)
{
	if (s.memoryAddress % tdvf::kPageSize)
		return "MemoryAddress " + hex(s.memoryAddress) + " is not page aligned";
	if (s.type != tdvf::kTypeTdInfo && (s.memoryAddress || s.memoryDataSize) &&
	    s.memoryDataSize < s.rawDataSize)
		return "RawDataSize " + hex(s.rawDataSize) + " exceeds MemoryDataSize " +
		       hex(s.memoryDataSize);
	if (s.memoryDataSize % tdvf::kPageSize)
		return "MemoryDataSize " + hex(s.memoryDataSize) + " is not page aligned";
	if (s.type > kMaxTdShimType)
		return "unknown section type";
	if (uint64_t(s.dataOffset) + s.rawDataSize > imageSize)
		return "the raw data (" + hex(s.rawDataSize) + " bytes at " + hex(s.dataOffset) +
		       ") runs past the end of the image";
	return {};
}

// Pages added by TDH.MEM.PAGE.ADD must not be added twice: the TDX module
// refuses, so such an image cannot launch and has no MRTD.
Status checkOverlaps(const ImageReader &image, TdvfLoader loader, const std::vector<TdvfSection> &sections)
{
	struct Range {
		uint64_t start, end;
		size_t index;
	};
	std::vector<Range> ranges;
	for (size_t i = 0; i < sections.size(); ++i) {
		const TdvfSection &s = sections[i];
		if (s.memoryDataSize == 0 || (loader == TdvfLoader::TdShim && s.pageAug()))
			continue;
		ranges.push_back({ s.memoryAddress, s.memoryAddress + s.memoryDataSize, i });
	}
	std::sort(ranges.begin(), ranges.end(), [](const Range &a, const Range &b) { return a.start < b.start; });
	for (size_t i = 1; i < ranges.size(); ++i)
		if (ranges[i].start < ranges[i - 1].end)
			return metadataError(image, "sections " + std::to_string(ranges[i - 1].index) +
							    " and " + std::to_string(ranges[i].index) +
							    " overlap in guest memory (the TDX module "
							    "refuses to add a page twice)");
	return {};
}

Status checkSections(const ImageReader &image, TdvfLoader loader, const std::vector<TdvfSection> &sections)
{
	bool hob = false;
	for (size_t i = 0; i < sections.size(); ++i) {
		const TdvfSection &s = sections[i];
		std::string problem;
		if (s.memoryAddress + s.memoryDataSize < s.memoryAddress)
			problem = "MemoryAddress + MemoryDataSize overflows";
		else if (loader == TdvfLoader::Qemu)
			problem = qemuSectionProblem(s, image.size());
		else
			problem = tdShimSectionProblem(s, image.size());
		if (!problem.empty())
			return metadataError(image, "section " + std::to_string(i) + " (" +
							    tdvfSectionTypeName(s.type) + "): " + problem);
		hob = hob || s.type == tdvf::kTypeTdHob;
	}
	if (loader == TdvfLoader::Qemu && !hob)
		return metadataError(image, "no TD_HOB section (QEMU needs one to hand the memory map to the firmware)");
	return checkOverlaps(image, loader, sections);
}

} // namespace

const char *tdvfLoaderName(TdvfLoader loader)
{
	return loader == TdvfLoader::Qemu ? "qemu" : "td-shim";
}

Result<TdvfMetadata> parseTdvfMetadata(const ImageReader &image, TdvfLoader loader)
{
	TdvfMetadata md = CVM_TRY(locate(image, loader));
	CVM_CHECK(checkGuid(image, loader, md));

	uint8_t desc[kDescriptorSize];
	CVM_CHECK(image.readAt(md.descriptorOffset, desc, "TDVF descriptor"));
	if (loadLe32(desc, kDescSignature.offset) != kSignature)
		return metadataError(image, "no \"TDVF\" signature at " + hex(md.descriptorOffset));
	uint32_t length = loadLe32(desc, kDescLength.offset);
	md.version = loadLe32(desc, kDescVersion.offset);
	uint32_t count = loadLe32(desc, kDescCount.offset);
	if (md.version != 1)
		return metadataError(image, "version " + std::to_string(md.version) + " (only 1 is defined)");
	uint32_t minSections = loader == TdvfLoader::Qemu ? 2 : 1;
	if (count < minSections)
		return metadataError(image, std::to_string(count) + " sections (at least " +
					    std::to_string(minSections) + " needed)");
	if (uint64_t(length) != kDescriptorSize + uint64_t(count) * kSectionSize)
		return metadataError(image, "length " + std::to_string(length) + " does not match " +
					    std::to_string(count) + " sections (16 + 32 per section)");
	if (length > image.size() - md.descriptorOffset)
		return metadataError(image, "the " + std::to_string(count) +
					    " section entries run past the end of the image");

	Bytes raw(uint64_t(count) * kSectionSize);
	CVM_CHECK(image.readAt(md.descriptorOffset + kDescriptorSize, raw, "TDVF section entries"));
	md.sections.reserve(count);
	for (uint32_t i = 0; i < count; ++i)
		md.sections.push_back(decodeSection(ByteView(raw.data() + size_t(i) * kSectionSize, kSectionSize)));
	CVM_CHECK(checkSections(image, loader, md.sections));
	g_debug("%s: TDVF metadata at %s, %u sections (%s rules)", image.name().c_str(),
		hex(md.descriptorOffset).c_str(), count, tdvfLoaderName(loader));
	return md;
}

std::string tdvfSectionTypeName(uint32_t type)
{
	static const char *const names[] = { "BFV",	"CFV",		 "TD_HOB",  "TEMP_MEM", "PERM_MEM",
					     "PAYLOAD", "PAYLOAD_PARAM", "TD_INFO", "TD_PARAMS" };
	if (type < std::size(names))
		return names[type];
	return "type " + std::to_string(type);
}

std::string tdvfAttributesText(uint32_t attributes)
{
	std::string out;
	auto add = [&out](const std::string &s) { out += (out.empty() ? "" : "|") + s; };
	if (attributes & tdvf::kAttrMrExtend)
		add("MR.EXTEND");
	if (attributes & tdvf::kAttrPageAug)
		add("PAGE.AUG");
	uint32_t rest = attributes & ~(tdvf::kAttrMrExtend | tdvf::kAttrPageAug);
	if (rest)
		add(hex(rest));
	return out.empty() ? "none" : out;
}

} // namespace cvm::tdx
