// SPDX-License-Identifier: Apache-2.0
//
// TD quotes, version 4 and 5 (Intel TDX DCAP: header, TD report body, ECDSA
// P-256 signature data with certification data type 6 = QE report, which
// nests type 5 = the PCK certificate chain in PEM).
//
// Parsing follows the lengths inside the quote: bytes after the signature
// data are ignored and counted (real quotes come zero padded, or with junk).
// Nothing here says whether a quote is genuine; see quote_verify.h.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "cvm/common/bytes.h"
#include "cvm/common/error.h"
#include "cvm/common/gptr.h"
#include "cvm/tdx/types.h"

namespace cvm::tdx {

namespace quote {
constexpr uint16_t kVersion4 = 4;
constexpr uint16_t kVersion5 = 5;
constexpr uint16_t kAttestationKeyEcdsaP256 = 2;
constexpr uint32_t kTeeTypeTdx = 0x81;
constexpr uint16_t kBodyTypeTdx10 = 2; // 584-byte body
constexpr uint16_t kBodyTypeTdx15 = 3; // 648-byte body
constexpr uint16_t kCertDataPckChain = 5;
constexpr uint16_t kCertDataQeReport = 6;
// The QE vendor ID of Intel's quoting enclave.
extern const std::array<uint8_t, 16> kIntelQeVendorId;
} // namespace quote

// TD attributes bits the verifier cares about (TDX module ABI, ATTRIBUTES).
namespace tdattr {
constexpr uint64_t kDebug = 1ull << 0;
constexpr uint64_t kSeptVeDisable = 1ull << 28;
constexpr uint64_t kPks = 1ull << 30;
constexpr uint64_t kKl = 1ull << 31;
constexpr uint64_t kPerfmon = 1ull << 63;
} // namespace tdattr

// "DEBUG|SEPT_VE_DISABLE", "none", unknown bits as hex.
std::string tdAttributesText(uint64_t attributes);

struct QuoteHeader {
	uint16_t version = quote::kVersion4;
	uint16_t attestationKeyType = quote::kAttestationKeyEcdsaP256;
	uint32_t teeType = quote::kTeeTypeTdx;
	std::array<uint8_t, 4> reserved{}; // QE/PCE SVNs in some documents
	std::array<uint8_t, 16> qeVendorId{};
	std::array<uint8_t, 20> userData{};
};

struct TdReportBody {
	std::array<uint8_t, 16> teeTcbSvn{};
	Sha384Digest mrSeam{};
	Sha384Digest mrSignerSeam{};
	uint64_t seamAttributes = 0;
	uint64_t tdAttributes = 0;
	uint64_t xfam = 0;
	Sha384Digest mrTd{};
	Sha384Digest mrConfigId{};
	Sha384Digest mrOwner{};
	Sha384Digest mrOwnerConfig{};
	std::array<Sha384Digest, 4> rtmr{};
	std::array<uint8_t, 64> reportData{};
	// TDX 1.5 body (v5, body type 3) only.
	std::optional<std::array<uint8_t, 16>> teeTcbSvn2;
	std::optional<Sha384Digest> mrServiceTd;
};

// The quoting enclave's SGX report body.
struct QeReport {
	std::array<uint8_t, 16> cpuSvn{};
	uint32_t miscSelect = 0;
	std::array<uint8_t, 16> attributes{};
	std::array<uint8_t, 32> mrEnclave{};
	std::array<uint8_t, 32> mrSigner{};
	uint16_t isvProdId = 0;
	uint16_t isvSvn = 0;
	std::array<uint8_t, 64> reportData{};
};

struct Quote {
	QuoteHeader header;
	uint16_t bodyType = quote::kBodyTypeTdx10; // v4 bodies are TDX 1.0
	TdReportBody body;
	// What the attestation key signs: header || (v5: body type, body size) || body.
	Bytes signedRegion;
	std::array<uint8_t, 64> signature{};      // ECDSA r || s, big endian
	std::array<uint8_t, 64> attestationKey{}; // P-256 point x || y
	QeReport qeReport;
	Bytes qeReportBytes; // the 384 bytes the PCK key signs
	std::array<uint8_t, 64> qeReportSignature{};
	Bytes qeAuthData;
	std::string pckChainPem; // as carried (may end with NULs)
	size_t size = 0;          // bytes the quote occupies in its input
	size_t trailingBytes = 0; // input bytes after it, ignored
};

// Parses by the lengths in the quote; every length checked first. Errors name
// the structure and field ("TD quote: signature data: certification data type
// 3, expected 6 (QE report)").
Result<Quote> parseQuote(ByteView bytes);

// The writer, for tests and tools that build quotes: encodes the fixed parts
// from the fields and recomputes every length. signedRegion, qeReportBytes,
// size and trailingBytes are outputs of the parser and ignored here.
Bytes encodeQuoteSignedRegion(const Quote &quote);
// The QE report's reserved areas (where SGX2 keeps CONFIGID, ISVEXTPRODID,
// CONFIGSVN, ISVFAMILYID) are not in QeReport and are written as zeros: a
// quote whose QE report uses them does not re-encode byte for byte (its
// verification uses qeReportBytes, the bytes as carried).
Bytes encodeQeReport(const QeReport &report);
Bytes encodeQuote(const Quote &quote);

// Every field, binary values as lower-case hex (for --json and audit trails).
JsonNodePtr quoteToJson(const Quote &quote);

} // namespace cvm::tdx
