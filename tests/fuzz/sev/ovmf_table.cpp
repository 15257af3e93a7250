// SPDX-License-Identifier: Apache-2.0
// Fuzzes the OVMF footer GUID table parser (the tail of a firmware image).
#include <cstdint>

#include "cvm/sev/ovmf.h"
#include "cvm/sev/vmsa.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	using namespace cvm::sev;
	auto table = OvmfFooterTable::parse(cvm::ByteView(data, size));
	if (!table.ok())
		return 0;
	(void)table->sevHashTableArea();
	(void)table->sevSecretArea();
	(void)table->sevEsResetAddress();
	(void)buildVmsas(*table, {});
	// What parses must serialise back to a table that parses the same.
	cvm::Bytes again = buildOvmfFooterTable(table->entries());
	again.resize(again.size() + 32);
	auto back = OvmfFooterTable::parse(again);
	if (!back.ok() || back->entries().size() != table->entries().size())
		__builtin_trap();
	for (size_t i = 0; i < back->entries().size(); ++i)
		if (!(back->entries()[i].guid == table->entries()[i].guid) ||
		    back->entries()[i].data != table->entries()[i].data)
			__builtin_trap();
	return 0;
}
