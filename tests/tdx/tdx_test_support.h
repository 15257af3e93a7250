// SPDX-License-Identifier: Apache-2.0
//
// Builders shared by the tdx tests (and usable by the attestation server's
// tests): a test PCK hierarchy, sample quotes signed by it, synthetic TDVF
// images and crypto-agile event logs built from the spec layouts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cvm/common/bytes.h"
#include "cvm/common/ossl.h"
#include "cvm/tdx/quote.h"
#include "cvm/tdx/tdvf.h"

namespace cvm::test::tdx {

// 2026-01-01T00:00:00Z: the test certificates are valid around it, and
// verification runs "at" it, so that the tests do not depend on the clock.
constexpr int64_t kTestNow = 1767225600;

struct PkiOptions {
	int64_t notBefore = kTestNow - 86400;     // every certificate
	int64_t notAfter = kTestNow + 86400 * 365;
	int64_t leafNotBefore = 0; // 0: as above
	int64_t leafNotAfter = 0;
	bool leafIsCa = false;
	bool leafSignedByRoot = false; // skip the intermediate
};

// Root CA -> "PCK Platform CA" -> "PCK Certificate", all P-256, and a
// separate attestation key.
struct TestPki {
	EvpPkeyPtr rootKey, intermediateKey, pckKey, attestationKey;
	X509Ptr root, intermediate, pck;

	std::string pem(X509 *cert) const;
	std::string chainPem() const; // PCK, intermediate, root
	Bytes rootDer() const;
};

TestPki makeTestPki(const PkiOptions &options = {});

// A quote with every field set to a distinct recognisable pattern (not yet
// signed): version 4, or 5 with body type 2 or 3.
cvm::tdx::Quote sampleQuote(uint16_t version, uint16_t bodyType = cvm::tdx::quote::kBodyTypeTdx10);

// Signs `quote` with the PKI (signQuote) and returns the encoded bytes.
Bytes signWith(const TestPki &pki, const cvm::tdx::Quote &quote);

// A synthetic OVMF-style image: `size` bytes of a pattern, the TDVF
// descriptor with `sections` at `descriptorOffset`, preceded by the metadata
// GUID, and an OVMF GUIDed table at the end pointing at it.
struct ImageSpec {
	size_t size = 64 * 1024;
	size_t descriptorOffset = 48 * 1024;
	std::vector<cvm::tdx::TdvfSection> sections;
	bool ovmfTable = true;        // else the td-shim pointer at size-0x20
	bool metadataGuid = true;
	uint32_t version = 1;
	int lengthAdjust = 0;         // corrupt the descriptor length
	uint32_t offsetEntryDataSize = 4;
};
Bytes buildTdvfImage(const ImageSpec &spec);

// Sections that QEMU accepts: BFV (extended) at 0xffff0000.., CFV, TD_HOB, TEMP_MEM.
std::vector<cvm::tdx::TdvfSection> qemuSections(uint32_t bfvOffset, uint32_t bfvSize, uint32_t cfvOffset,
						uint32_t cfvSize);

// The small (16 KiB) images whose MRTD was cross-checked with td-shim's
// td_shim_tee_info_hash.py (tests/tdx/mrtd_crosscheck_test.cpp, docs/tdx.md)
// and which seed the tdvf_metadata fuzz target: "ovmf-table",
// "td-shim-pointer", "page-aug", "raw-shorter-than-memory", "no-metadata-guid".
// Deterministic: the same bytes on every run.
struct NamedImage {
	std::string name;
	Bytes image;
};
std::vector<NamedImage> crossCheckImages();

// A TCG2 crypto-agile log: Spec ID event listing `algorithms` (id, size),
// then the events added.
class EventLogBuilder
{
public:
	explicit EventLogBuilder(std::vector<std::pair<uint16_t, uint16_t>> algorithms = { { 0x000c, 48 } },
				 uint32_t specIdIndex = 0);
	// Adds an event with digests of `data` for every algorithm of the log
	// (or only `onlyAlgorithms`, when given).
	EventLogBuilder &add(uint32_t mrIndex, uint32_t type, ByteView data,
			     std::vector<uint16_t> onlyAlgorithms = {});
	// Adds an event with explicit digests.
	EventLogBuilder &addRaw(uint32_t mrIndex, uint32_t type, const std::vector<std::pair<uint16_t, Bytes>> &digests,
				ByteView data);
	Bytes bytes(size_t padTo = 0, uint8_t fill = 0xff) const;

private:
	std::vector<std::pair<uint16_t, uint16_t>> algorithms_;
	Bytes log_;
};

Bytes digestOf(uint16_t tcgAlgorithm, ByteView data);

// A CCEL ACPI table for a log area of `laml` bytes, checksum fixed up.
Bytes buildCcelTable(uint64_t laml, uint8_t ccType = 2);

} // namespace cvm::test::tdx
