// SPDX-License-Identifier: Apache-2.0
// Fuzzes the CCEL ACPI table and the TCG2 crypto-agile event log parsers,
// the RTMR replay and the event descriptions. Input: one byte n, then n bytes
// of CCEL table, then the log area.
#include <cstdint>

#include "cvm/tdx/eventlog.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	using namespace cvm::tdx;
	if (size < 1)
		return 0;
	size_t tableSize = data[0] < size - 1 ? data[0] : size - 1;
	cvm::ByteView tableBytes(data + 1, tableSize);
	cvm::ByteView logBytes(data + 1 + tableSize, size - 1 - tableSize);

	auto log = parseEventLog(logBytes);
	if (log.ok()) {
		if (log->usedBytes > logBytes.size())
			__builtin_trap();
		for (const auto &e : log->events) {
			(void)describeEvent(e);
			(void)eventTypeName(e.type);
			for (const auto &d : e.digests)
				(void)tcgAlgorithmName(d.algorithm);
		}
		(void)replayRtmrs(*log);
	}
	auto table = parseCcelTable(tableBytes);
	if (table.ok())
		(void)parseCcelEventLog(*table, logBytes);
	return 0;
}
