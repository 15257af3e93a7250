// SPDX-License-Identifier: Apache-2.0
#include "sev_test_support.h"

#include <cstdio>
#include <cstdlib>

#include <openssl/rand.h>

#include "cvm/sev/ovmf.h"

namespace cvm::sev::test {

void requireFile(const std::string &path)
{
	if (!fileExists(path)) {
		fprintf(stderr, "SKIP: %s not installed (Debian package ovmf)\n", path.c_str());
		exit(77);
	}
}

std::string writeKernelHashesFirmware(const TempDir &dir, const std::string &name, uint32_t base, uint32_t size)
{
	requireFile(kDebianOvmf);
	Bytes image = readFile(kDebianOvmf).value();
	OvmfFooterTable table = OvmfFooterTable::parse(image).value();
	std::vector<OvmfTableEntry> entries = table.entries();
	bool patched = false;
	for (auto &e : entries) {
		if (e.guid == ovmf_guid::sevHashTable()) {
			e.data = Bytes(8);
			storeLe32(e.data, 0, base);
			storeLe32(e.data, 4, size);
			patched = true;
		}
	}
	if (!patched)
		abort();
	Bytes footer = buildOvmfFooterTable(entries);
	storeBytes(image, image.size() - 32 - footer.size(), footer);
	std::string path = dir.file(name);
	if (!writeFileAtomic(path, image))
		abort();
	return path;
}

Bytes randomBytes(size_t n)
{
	Bytes b(n);
	if (n && RAND_bytes(b.data(), static_cast<int>(n)) != 1)
		abort();
	return b;
}

} // namespace cvm::sev::test
