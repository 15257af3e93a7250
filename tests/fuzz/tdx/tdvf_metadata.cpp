// SPDX-License-Identifier: Apache-2.0
// Fuzzes the OVMF GUIDed table, TDVF metadata and MRTD over an image (the
// input is the whole firmware image), with both loaders' rules.
#include <cstdint>

#include "cvm/tdx/mrtd.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	using namespace cvm::tdx;
	MemoryImage image(cvm::ByteView(data, size));
	for (TdvfLoader loader : { TdvfLoader::Qemu, TdvfLoader::TdShim }) {
		auto md = parseTdvfMetadata(image, loader);
		if (!md.ok())
			continue;
		for (const auto &s : md->sections) {
			(void)tdvfSectionTypeName(s.type);
			(void)tdvfAttributesText(s.attributes);
			// The raw data the metadata accepted lies inside the image. A
			// section with no raw data (TD_HOB, TEMP_MEM) copies nothing,
			// and QEMU ignores its DataOffset, so that offset is not bounded.
			if (s.rawDataSize != 0 && uint64_t(s.dataOffset) + s.rawDataSize > size)
				__builtin_trap();
		}
		MrtdOptions o;
		o.loader = loader;
		o.maxPages = 256; // bounded work per input; the budget check is part of the code under test
		auto r = computeMrtd(image, o);
		if (r.ok() && r->pagesAdded > o.maxPages)
			__builtin_trap();
	}
	return 0;
}
