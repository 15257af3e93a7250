// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-tdx"

#include "cvm/tdx/mrtd.h"

#include <algorithm>
#include <cstring>

#include <glib.h>

#include "cvm/common/digest.h"

namespace cvm::tdx {

namespace {

// The 128-byte buffers the TDX module hashes for TDH.MEM.PAGE.ADD and
// TDH.MR.EXTEND (TDX module ABI, "MRTD"): ASCII tag, GPA at byte 16, zeros.
constexpr size_t kRecordSize = 128;
constexpr Field kRecordGpa{ 16, 8 };
constexpr size_t kExtendChunk = 256;
constexpr uint64_t kPagesPerRead = 64; // 256 KiB per pread

class Measurer
{
public:
	explicit Measurer(Hasher h) : h_(std::move(h)) {}

	Status pageAdd(uint64_t gpa)
	{
		return h_.update(record("MEM.PAGE.ADD", gpa));
	}

	// The 16 records and chunks of a page go to the hash in one update: the
	// per-call overhead of EVP_DigestUpdate otherwise costs more than the
	// copy (bench/tdx).
	Status extendPage(uint64_t gpa, ByteView page)
	{
		uint8_t *out = page_;
		for (size_t k = 0; k < kChunksPerPage; ++k) {
			std::memset(out, 0, kRecordSize);
			std::memcpy(out, kExtendTag, sizeof(kExtendTag) - 1);
			storeLe64(MutableByteView(out, kRecordSize), kRecordGpa.offset, gpa + k * kExtendChunk);
			std::memcpy(out + kRecordSize, page.data() + k * kExtendChunk, kExtendChunk);
			out += kRecordSize + kExtendChunk;
		}
		return h_.update(ByteView(page_, sizeof(page_)));
	}

	Result<Sha384Digest> finish()
	{
		Bytes d = CVM_TRY(h_.finish());
		return toSha384Digest(d);
	}

private:
	ByteView record(const char *tag, uint64_t gpa)
	{
		std::memset(buf_, 0, sizeof(buf_));
		std::memcpy(buf_, tag, std::strlen(tag));
		storeLe64(buf_, kRecordGpa.offset, gpa);
		return ByteView(buf_, sizeof(buf_));
	}

	static constexpr char kExtendTag[] = "MR.EXTEND";
	static constexpr size_t kChunksPerPage = tdvf::kPageSize / kExtendChunk;

	Hasher h_;
	uint8_t buf_[kRecordSize];
	uint8_t page_[kChunksPerPage * (kRecordSize + kExtendChunk)];
};

bool addsPages(const TdvfSection &s, TdvfLoader loader)
{
	return loader == TdvfLoader::Qemu || !s.pageAug();
}

// How many bytes of the section's memory come from the image (the rest of an
// extended section is zeros).
uint64_t imageBytes(const TdvfSection &s, TdvfLoader loader)
{
	if (loader == TdvfLoader::TdShim)
		return s.rawDataSize;
	bool copied = s.type == tdvf::kTypeBfv || s.type == tdvf::kTypeCfv;
	return copied ? s.memoryDataSize : 0;
}

Status measureSection(const ImageReader &image, const TdvfSection &s, size_t index, TdvfLoader loader,
		      Measurer &m, MrtdResult &result)
{
	uint64_t pages = s.memoryDataSize / tdvf::kPageSize;
	bool add = addsPages(s, loader);
	if (!s.mrExtend()) {
		for (uint64_t p = 0; add && p < pages; ++p)
			CVM_CHECK(m.pageAdd(s.memoryAddress + p * tdvf::kPageSize));
		result.pagesAdded += add ? pages : 0;
		return {};
	}
	if (loader == TdvfLoader::Qemu && s.type == tdvf::kTypeTdHob)
		return Error(ErrorCode::Unsupported,
			     image.name() + ": section " + std::to_string(index) +
				     " (TD_HOB) is measured with MR.EXTEND, but QEMU builds its "
				     "contents from the VM's memory map: MRTD cannot be predicted "
				     "from the image alone");

	uint64_t available = imageBytes(s, loader);
	Bytes buf(kPagesPerRead * tdvf::kPageSize);
	for (uint64_t first = 0; first < pages; first += kPagesPerRead) {
		uint64_t n = std::min(kPagesPerRead, pages - first);
		uint64_t offset = first * tdvf::kPageSize;
		uint64_t chunk = n * tdvf::kPageSize;
		uint64_t fromImage = offset < available ? std::min(chunk, available - offset) : 0;
		std::fill(buf.begin(), buf.end(), 0);
		CVM_CHECK(image.readAt(s.dataOffset + offset, MutableByteView(buf.data(), fromImage),
				       "section " + std::to_string(index) + " data"));
		for (uint64_t p = 0; p < n; ++p) {
			uint64_t gpa = s.memoryAddress + offset + p * tdvf::kPageSize;
			if (add)
				CVM_CHECK(m.pageAdd(gpa));
			CVM_CHECK(m.extendPage(gpa, ByteView(buf.data() + p * tdvf::kPageSize, tdvf::kPageSize)));
		}
	}
	result.pagesAdded += add ? pages : 0;
	result.pagesExtended += pages;
	return {};
}

Status checkPageBudget(const ImageReader &image, const TdvfMetadata &md, const MrtdOptions &options)
{
	uint64_t total = 0;
	for (const auto &s : md.sections) {
		total += s.memoryDataSize / tdvf::kPageSize;
		if (total > options.maxPages)
			return Error(ErrorCode::LimitExceeded,
				     image.name() + ": the TDVF sections add more than " +
					     std::to_string(options.maxPages) +
					     " pages; refusing to measure an implausibly large TD image");
	}
	return {};
}

} // namespace

Result<MrtdResult> computeMrtd(const ImageReader &image, const MrtdOptions &options)
{
	MrtdResult result;
	result.metadata = CVM_TRY(parseTdvfMetadata(image, options.loader));
	CVM_CHECK(checkPageBudget(image, result.metadata, options));

	Measurer m(CVM_TRY(Hasher::create(DigestAlgorithm::Sha384)));
	const auto &sections = result.metadata.sections;
	for (size_t i = 0; i < sections.size(); ++i)
		CVM_CHECK(measureSection(image, sections[i], i, options.loader, m, result));
	result.mrtd = CVM_TRY(m.finish());
	g_debug("%s: MRTD over %llu added and %llu extended pages", image.name().c_str(),
		static_cast<unsigned long long>(result.pagesAdded),
		static_cast<unsigned long long>(result.pagesExtended));
	return result;
}

} // namespace cvm::tdx
