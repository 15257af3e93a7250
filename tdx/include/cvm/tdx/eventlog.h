// SPDX-License-Identifier: Apache-2.0
//
// The TD's run-time measurement log: the ACPI CCEL table (Confidential
// Computing Event Log, ACPI 6.5 §5.2.34) pointing at a TCG2 crypto-agile event
// log (TCG PC Client Platform Firmware Profile §10), and the replay of that log
// into RTMR0-3.
//
// In the CCEL the event's "PCR index" is the CC measurement-register index:
// 0 = MRTD (never extended at run time), 1..4 = RTMR0..3. Every event except
// EV_NO_ACTION extends its RTMR: RTMR = SHA-384(RTMR || event's SHA-384 digest),
// starting from zeros.
//
// Replay proves that the log is the one the quote's RTMRs were built from; it
// does not check that each digest is the hash of its event data (the meaning
// of events is the verifier's policy).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "cvm/common/bytes.h"
#include "cvm/common/error.h"
#include "cvm/tdx/types.h"

namespace cvm::tdx {

struct CcelTable {
	uint8_t revision = 0;
	std::string oemId;      // 6 characters
	std::string oemTableId; // 8 characters
	uint32_t oemRevision = 0;
	uint8_t ccType = 0; // 2 = Intel TDX
	uint8_t ccSubtype = 0;
	uint64_t logAreaMinimumLength = 0; // LAML
	uint64_t logAreaStartAddress = 0;  // LASA
};

constexpr uint8_t kCcTypeTdx = 2;

// Checks signature, length, checksum and that the CC type is TDX.
Result<CcelTable> parseCcelTable(ByteView table);

namespace tcg {
constexpr uint16_t kAlgSha1 = 0x0004;
constexpr uint16_t kAlgSha256 = 0x000b;
constexpr uint16_t kAlgSha384 = 0x000c;
constexpr uint16_t kAlgSha512 = 0x000d;
constexpr uint16_t kAlgSm3_256 = 0x0012;

constexpr uint32_t kEvNoAction = 0x00000003;
constexpr uint32_t kEvSeparator = 0x00000004;
constexpr uint32_t kEvEfiEventBase = 0x80000000;
} // namespace tcg

struct SpecIdAlgorithm {
	uint16_t id = 0;
	uint16_t digestSize = 0;
};

// The "Spec ID Event03" header event.
struct SpecIdEvent {
	uint32_t mrIndex = 0;
	uint32_t platformClass = 0;
	uint8_t specVersionMinor = 0;
	uint8_t specVersionMajor = 0;
	uint8_t specErrata = 0;
	uint8_t uintnSize = 0;
	std::vector<SpecIdAlgorithm> algorithms;
	Bytes vendorInfo;
};

struct EventDigest {
	uint16_t algorithm = 0;
	Bytes digest;
};

struct LogEvent {
	size_t offset = 0; // in the log
	uint32_t mrIndex = 0;
	uint32_t type = 0;
	std::vector<EventDigest> digests;
	Bytes data;

	// The digest for `algorithm`, or nullptr.
	const Bytes *digest(uint16_t algorithm) const;
};

struct EventLog {
	SpecIdEvent specId;
	std::vector<LogEvent> events; // after the Spec ID event
	size_t usedBytes = 0;         // where the unused (0xff or zero) log area begins
};

// Parses a crypto-agile log. The log ends at the end of `log` or where the
// unused area (all 0xff, or all zeros) begins. Requires SHA-384 among the
// log's algorithms.
Result<EventLog> parseEventLog(ByteView log);

// Parses the CCEL log area: `data` may be shorter than the table's LAML (a
// trimmed copy) but not longer.
Result<EventLog> parseCcelEventLog(const CcelTable &table, ByteView data);

struct RtmrReplay {
	std::array<Sha384Digest, 4> rtmr{};
	std::array<size_t, 4> extends{}; // events folded into each RTMR
};

// Folds the log into RTMR0-3. Fails on an event for MR index 0 or > 4, or an
// extending event without a SHA-384 digest.
Result<RtmrReplay> replayRtmrs(const EventLog &log);

// "EV_EFI_ACTION", "EV_SEPARATOR", ... or "0x%08x".
std::string eventTypeName(uint32_t type);
// "sha384", "sha256", ... or "0x%04x".
std::string tcgAlgorithmName(uint16_t algorithm);
// A short printable (ASCII) summary of the event data: the action text, the
// UEFI variable name, the firmware blob description, or a hex prefix.
std::string describeEvent(const LogEvent &event);

} // namespace cvm::tdx
