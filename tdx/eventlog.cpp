// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-tdx"

#include "cvm/tdx/eventlog.h"

#include <algorithm>
#include <cstring>

#include "cvm/common/digest.h"

namespace cvm::tdx {

namespace {

// ACPI CCEL table: the 36-byte system description header, then
// u8 CC type, u8 subtype, u16 reserved, u64 LAML, u64 LASA.
constexpr size_t kCcelSize = 56;
constexpr Field kAcpiSignature{ 0, 4 };
constexpr Field kAcpiLength{ 4, 4 };
constexpr Field kAcpiRevision{ 8, 1 };
constexpr Field kAcpiOemId{ 10, 6 };
constexpr Field kAcpiOemTableId{ 16, 8 };
constexpr Field kAcpiOemRevision{ 24, 4 };
constexpr Field kCcelCcType{ 36, 1 };
constexpr Field kCcelCcSubtype{ 37, 1 };
constexpr Field kCcelLaml{ 40, 8 };
constexpr Field kCcelLasa{ 48, 8 };

// TCG_PCR_EVENT (the SHA-1-format first event): u32 index, u32 type,
// 20-byte digest, u32 event size.
constexpr size_t kLegacyDigestSize = 20;
constexpr char kSpecIdSignature[] = "Spec ID Event03"; // 16 bytes with the NUL
constexpr uint32_t kMaxAlgorithms = 16;

Error logError(size_t offset, const std::string &what)
{
	return Error(ErrorCode::InvalidData, "event log: at offset " + std::to_string(offset) + ": " + what);
}

std::string fieldText(ByteView table, Field f)
{
	std::string s(reinterpret_cast<const char *>(table.data() + f.offset), f.size);
	for (char &c : s)
		if (c < 0x20 || c > 0x7e)
			c = '.';
	return s;
}

uint16_t knownDigestSize(uint16_t alg)
{
	switch (alg) {
	case tcg::kAlgSha1:
		return 20;
	case tcg::kAlgSha256:
	case tcg::kAlgSm3_256:
		return 32;
	case tcg::kAlgSha384:
		return 48;
	case tcg::kAlgSha512:
		return 64;
	default:
		return 0;
	}
}

Result<SpecIdEvent> parseSpecId(ByteView event, size_t offset)
{
	ByteReader r(event, "Spec ID event");
	ByteView sig = CVM_TRY(r.bytes(16, "signature"));
	if (std::memcmp(sig.data(), kSpecIdSignature, 16) != 0)
		return logError(offset, "the first event is not a \"Spec ID Event03\" (not a crypto-agile log)");
	SpecIdEvent s;
	s.platformClass = CVM_TRY(r.le32("platformClass"));
	s.specVersionMinor = CVM_TRY(r.u8("specVersionMinor"));
	s.specVersionMajor = CVM_TRY(r.u8("specVersionMajor"));
	s.specErrata = CVM_TRY(r.u8("specErrata"));
	s.uintnSize = CVM_TRY(r.u8("uintnSize"));
	uint32_t n = CVM_TRY(r.le32("numberOfAlgorithms"));
	if (n == 0 || n > kMaxAlgorithms)
		return logError(offset, "the Spec ID event lists " + std::to_string(n) + " digest algorithms");
	for (uint32_t i = 0; i < n; ++i) {
		SpecIdAlgorithm a;
		a.id = CVM_TRY(r.le16("algorithmId"));
		a.digestSize = CVM_TRY(r.le16("digestSize"));
		uint16_t known = knownDigestSize(a.id);
		if (a.digestSize == 0 || a.digestSize > 64 || (known && known != a.digestSize))
			return logError(offset, "algorithm " + tcgAlgorithmName(a.id) + " has digest size " +
							std::to_string(a.digestSize));
		for (const auto &b : s.algorithms)
			if (b.id == a.id)
				return logError(offset, "algorithm " + tcgAlgorithmName(a.id) + " is listed twice");
		s.algorithms.push_back(a);
	}
	uint8_t vendorSize = CVM_TRY(r.u8("vendorInfoSize"));
	ByteView vendor = CVM_TRY(r.bytes(vendorSize, "vendorInfo"));
	s.vendorInfo.assign(vendor.begin(), vendor.end());
	if (!r.atEnd())
		return logError(offset, "the Spec ID event has " + std::to_string(r.remaining()) + " stray bytes");
	auto sha384 = std::find_if(s.algorithms.begin(), s.algorithms.end(),
				   [](const SpecIdAlgorithm &a) { return a.id == tcg::kAlgSha384; });
	if (sha384 == s.algorithms.end())
		return logError(offset, "the log records no SHA-384 digests (TDX RTMRs are SHA-384)");
	return s;
}

// The unused tail of a log area is all 0xff (CCEL) or all zeros.
bool unusedArea(ByteView rest)
{
	if (rest.empty())
		return true;
	uint8_t fill = rest[0];
	if (fill != 0xff && fill != 0x00)
		return false;
	return std::all_of(rest.begin(), rest.end(), [fill](uint8_t b) { return b == fill; });
}

Result<LogEvent> parseEvent(ByteReader &r, const SpecIdEvent &spec, size_t index)
{
	LogEvent e;
	e.offset = r.offset();
	e.mrIndex = CVM_TRY(r.le32("event index"));
	e.type = CVM_TRY(r.le32("event type"));
	uint32_t count = CVM_TRY(r.le32("digest count"));
	if (count == 0 || count > spec.algorithms.size())
		return logError(e.offset, "event " + std::to_string(index) + " has " + std::to_string(count) +
						  " digests, the log declares " +
						  std::to_string(spec.algorithms.size()) + " algorithms");
	for (uint32_t i = 0; i < count; ++i) {
		EventDigest d;
		d.algorithm = CVM_TRY(r.le16("digest algorithm"));
		auto a = std::find_if(spec.algorithms.begin(), spec.algorithms.end(),
				      [&d](const SpecIdAlgorithm &x) { return x.id == d.algorithm; });
		if (a == spec.algorithms.end())
			return logError(e.offset, "event " + std::to_string(index) + " uses algorithm " +
							  tcgAlgorithmName(d.algorithm) +
							  ", which the Spec ID event does not declare");
		if (e.digest(d.algorithm))
			return logError(e.offset, "event " + std::to_string(index) + " has two " +
							  tcgAlgorithmName(d.algorithm) + " digests");
		ByteView v = CVM_TRY(r.bytes(a->digestSize, "digest"));
		d.digest.assign(v.begin(), v.end());
		e.digests.push_back(std::move(d));
	}
	uint32_t size = CVM_TRY(r.le32("event size"));
	ByteView data = CVM_TRY(r.bytes(size, "event data"));
	e.data.assign(data.begin(), data.end());
	return e;
}

} // namespace

const Bytes *LogEvent::digest(uint16_t algorithm) const
{
	for (const auto &d : digests)
		if (d.algorithm == algorithm)
			return &d.digest;
	return nullptr;
}

Result<CcelTable> parseCcelTable(ByteView table)
{
	auto fail = [](const std::string &what) { return Error(ErrorCode::InvalidData, "CCEL table: " + what); };
	if (table.size() < kCcelSize)
		return fail(std::to_string(table.size()) + " bytes, a CCEL table has at least 56");
	if (std::memcmp(table.data() + kAcpiSignature.offset, "CCEL", 4) != 0)
		return fail("the signature is \"" + fieldText(table, kAcpiSignature) + "\", not \"CCEL\"");
	uint32_t length = loadLe32(table, kAcpiLength.offset);
	if (length != table.size())
		return fail("the header says " + std::to_string(length) + " bytes, the table has " +
			    std::to_string(table.size()));
	uint8_t sum = 0;
	for (uint8_t b : table)
		sum = static_cast<uint8_t>(sum + b);
	if (sum != 0)
		return fail("checksum mismatch (the bytes sum to " + std::to_string(sum) + ", not 0 mod 256)");
	CcelTable t;
	t.revision = table[kAcpiRevision.offset];
	t.oemId = fieldText(table, kAcpiOemId);
	t.oemTableId = fieldText(table, kAcpiOemTableId);
	t.oemRevision = loadLe32(table, kAcpiOemRevision.offset);
	t.ccType = table[kCcelCcType.offset];
	t.ccSubtype = table[kCcelCcSubtype.offset];
	t.logAreaMinimumLength = loadLe64(table, kCcelLaml.offset);
	t.logAreaStartAddress = loadLe64(table, kCcelLasa.offset);
	if (t.ccType != kCcTypeTdx)
		return fail("CC type " + std::to_string(t.ccType) + " is not Intel TDX (2)");
	return t;
}

Result<EventLog> parseEventLog(ByteView log)
{
	ByteReader r(log, "event log");
	EventLog out;
	uint32_t firstIndex = CVM_TRY(r.le32("first event index"));
	uint32_t firstType = CVM_TRY(r.le32("first event type"));
	if (firstType != tcg::kEvNoAction)
		return logError(0, "the first event has type " + eventTypeName(firstType) +
					   ", not EV_NO_ACTION (not a crypto-agile log)");
	CVM_CHECK(r.skip(kLegacyDigestSize, "first event digest"));
	uint32_t specSize = CVM_TRY(r.le32("first event size"));
	ByteView specData = CVM_TRY(r.bytes(specSize, "Spec ID event"));
	out.specId = CVM_TRY(parseSpecId(specData, 0));
	out.specId.mrIndex = firstIndex;

	while (!r.atEnd()) {
		ByteView rest = log.subspan(r.offset());
		if (unusedArea(rest))
			break;
		LogEvent e = CVM_TRY(parseEvent(r, out.specId, out.events.size()));
		out.events.push_back(std::move(e));
	}
	out.usedBytes = r.offset();
	return out;
}

Result<EventLog> parseCcelEventLog(const CcelTable &table, ByteView data)
{
	if (data.size() > table.logAreaMinimumLength)
		return Error(ErrorCode::InvalidData,
			     "the CCEL log data (" + std::to_string(data.size()) +
				     " bytes) is longer than the table's log area (" +
				     std::to_string(table.logAreaMinimumLength) +
				     " bytes): is it the log that belongs to this table?");
	return parseEventLog(data);
}

Result<RtmrReplay> replayRtmrs(const EventLog &log)
{
	RtmrReplay out;
	for (size_t i = 0; i < log.events.size(); ++i) {
		const LogEvent &e = log.events[i];
		if (e.type == tcg::kEvNoAction)
			continue;
		if (e.mrIndex == 0 || e.mrIndex > 4)
			return logError(e.offset, "event " + std::to_string(i) + " (" + eventTypeName(e.type) +
							  ") extends MR index " + std::to_string(e.mrIndex) +
							  (e.mrIndex == 0 ? " (MRTD, which is never extended at run time)"
									  : ", which is not an RTMR"));
		const Bytes *d = e.digest(tcg::kAlgSha384);
		if (!d)
			return logError(e.offset, "event " + std::to_string(i) + " has no SHA-384 digest");
		Sha384Digest &reg = out.rtmr[e.mrIndex - 1];
		Bytes next = CVM_TRY(digest(DigestAlgorithm::Sha384, { reg, *d }));
		reg = toSha384Digest(next);
		++out.extends[e.mrIndex - 1];
	}
	return out;
}

} // namespace cvm::tdx
