// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-tdx"

#include <cstdio>
#include <cstring>

#include "cvm/tdx/quote.h"
#include "quote_layout.h"

namespace cvm::tdx {

namespace quote {
const std::array<uint8_t, 16> kIntelQeVendorId = { 0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
						    0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07 };
} // namespace quote

namespace {

template<size_t N>
void copyField(std::array<uint8_t, N> &out, ByteView in, Field f)
{
	static_assert(N > 0);
	std::memcpy(out.data(), in.data() + f.offset, N);
}

Error quoteError(const std::string &what)
{
	return Error(ErrorCode::InvalidData, "TD quote: " + what);
}

Result<QuoteHeader> parseHeader(ByteView h)
{
	QuoteHeader out;
	out.version = loadLe16(h, layout::kHeaderVersion.offset);
	out.attestationKeyType = loadLe16(h, layout::kHeaderAttestationKeyType.offset);
	out.teeType = loadLe32(h, layout::kHeaderTeeType.offset);
	copyField(out.reserved, h, layout::kHeaderReserved);
	copyField(out.qeVendorId, h, layout::kHeaderQeVendorId);
	copyField(out.userData, h, layout::kHeaderUserData);
	if (out.version != quote::kVersion4 && out.version != quote::kVersion5)
		return quoteError("version " + std::to_string(out.version) + " (4 and 5 are TD quotes)");
	if (out.teeType != quote::kTeeTypeTdx) {
		char buf[64];
		snprintf(buf, sizeof(buf), "TEE type 0x%x is not TDX (0x81)", out.teeType);
		return quoteError(buf);
	}
	if (out.attestationKeyType != quote::kAttestationKeyEcdsaP256)
		return quoteError("attestation key type " + std::to_string(out.attestationKeyType) +
				  " is not ECDSA P-256 (2), the only one defined for TD quotes");
	return out;
}

TdReportBody parseBody(ByteView b)
{
	TdReportBody out;
	copyField(out.teeTcbSvn, b, layout::kBodyTeeTcbSvn);
	copyField(out.mrSeam, b, layout::kBodyMrSeam);
	copyField(out.mrSignerSeam, b, layout::kBodyMrSignerSeam);
	out.seamAttributes = loadLe64(b, layout::kBodySeamAttributes.offset);
	out.tdAttributes = loadLe64(b, layout::kBodyTdAttributes.offset);
	out.xfam = loadLe64(b, layout::kBodyXfam.offset);
	copyField(out.mrTd, b, layout::kBodyMrTd);
	copyField(out.mrConfigId, b, layout::kBodyMrConfigId);
	copyField(out.mrOwner, b, layout::kBodyMrOwner);
	copyField(out.mrOwnerConfig, b, layout::kBodyMrOwnerConfig);
	for (size_t i = 0; i < 4; ++i)
		std::memcpy(out.rtmr[i].data(), b.data() + layout::kBodyRtmr0.offset + i * kSha384Size, kSha384Size);
	copyField(out.reportData, b, layout::kBodyReportData);
	if (b.size() == layout::kBodySizeTdx15) {
		out.teeTcbSvn2.emplace();
		copyField(*out.teeTcbSvn2, b, layout::kBodyTeeTcbSvn2);
		out.mrServiceTd.emplace();
		copyField(*out.mrServiceTd, b, layout::kBodyMrServiceTd);
	}
	return out;
}

QeReport parseQeReport(ByteView q)
{
	QeReport out;
	copyField(out.cpuSvn, q, layout::kQeCpuSvn);
	out.miscSelect = loadLe32(q, layout::kQeMiscSelect.offset);
	copyField(out.attributes, q, layout::kQeAttributes);
	copyField(out.mrEnclave, q, layout::kQeMrEnclave);
	copyField(out.mrSigner, q, layout::kQeMrSigner);
	out.isvProdId = loadLe16(q, layout::kQeIsvProdId.offset);
	out.isvSvn = loadLe16(q, layout::kQeIsvSvn.offset);
	copyField(out.reportData, q, layout::kQeReportData);
	return out;
}

// v5 carries the body's type and size; v4's body is always TDX 1.0.
Result<size_t> bodySize(ByteReader &r, Quote &q)
{
	if (q.header.version == quote::kVersion4)
		return layout::kBodySizeTdx10;
	q.bodyType = CVM_TRY(r.le16("body type"));
	uint32_t size = CVM_TRY(r.le32("body size"));
	size_t expected;
	if (q.bodyType == quote::kBodyTypeTdx10)
		expected = layout::kBodySizeTdx10;
	else if (q.bodyType == quote::kBodyTypeTdx15)
		expected = layout::kBodySizeTdx15;
	else
		return quoteError("body type " + std::to_string(q.bodyType) +
				  (q.bodyType == 1 ? " is an SGX enclave report, not a TD report"
						   : " is unknown (2 = TDX 1.0, 3 = TDX 1.5)"));
	if (size != expected)
		return quoteError("body type " + std::to_string(q.bodyType) + " has " + std::to_string(expected) +
				  " bytes, the quote says " + std::to_string(size));
	return expected;
}

// Certification data type 6: QE report, its signature, QE auth data, then
// nested certification data type 5 (PCK chain).
Status parseQeCertification(ByteView data, Quote &q)
{
	ByteReader r(data, "TD quote QE report certification data");
	ByteView report = CVM_TRY(r.bytes(layout::kQeReportSize, "QE report"));
	q.qeReportBytes.assign(report.begin(), report.end());
	q.qeReport = parseQeReport(report);
	ByteView sig = CVM_TRY(r.bytes(layout::kEcdsaSignatureSize, "QE report signature"));
	std::memcpy(q.qeReportSignature.data(), sig.data(), sig.size());
	uint16_t authLen = CVM_TRY(r.le16("QE auth data size"));
	ByteView auth = CVM_TRY(r.bytes(authLen, "QE auth data"));
	q.qeAuthData.assign(auth.begin(), auth.end());
	uint16_t type = CVM_TRY(r.le16("type"));
	if (type != quote::kCertDataPckChain)
		return quoteError("PCK certification data type " + std::to_string(type) +
				  ", expected 5 (PCK certificate chain)");
	uint32_t size = CVM_TRY(r.le32("size"));
	ByteView pem = CVM_TRY(r.bytes(size, "PCK certificate chain"));
	if (!r.atEnd())
		return quoteError("QE report certification data: " + std::to_string(r.remaining()) +
				  " bytes after the PCK certificate chain");
	q.pckChainPem.assign(reinterpret_cast<const char *>(pem.data()), pem.size());
	return {};
}

Status parseSignatureData(ByteView data, Quote &q)
{
	ByteReader r(data, "TD quote signature data");
	ByteView sig = CVM_TRY(r.bytes(layout::kEcdsaSignatureSize, "quote signature"));
	std::memcpy(q.signature.data(), sig.data(), sig.size());
	ByteView key = CVM_TRY(r.bytes(layout::kEcdsaKeySize, "attestation key"));
	std::memcpy(q.attestationKey.data(), key.data(), key.size());
	uint16_t type = CVM_TRY(r.le16("certification data type"));
	if (type != quote::kCertDataQeReport)
		return quoteError("signature data: certification data type " + std::to_string(type) +
				  ", expected 6 (QE report)");
	uint32_t size = CVM_TRY(r.le32("certification data size"));
	ByteView cert = CVM_TRY(r.bytes(size, "certification data"));
	if (!r.atEnd())
		return quoteError("signature data: " + std::to_string(r.remaining()) +
				  " bytes after the certification data");
	return parseQeCertification(cert, q);
}

} // namespace

Result<Quote> parseQuote(ByteView bytes)
{
	ByteReader r(bytes, "TD quote");
	Quote q;
	ByteView header = CVM_TRY(r.bytes(layout::kHeaderSize, "header"));
	q.header = CVM_TRY(parseHeader(header));
	size_t size = CVM_TRY(bodySize(r, q));
	ByteView body = CVM_TRY(r.bytes(size, "TD report body"));
	q.body = parseBody(body);
	q.signedRegion.assign(bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(r.offset()));

	uint32_t sigLen = CVM_TRY(r.le32("signature data size"));
	ByteView sigData = CVM_TRY(r.bytes(sigLen, "signature data"));
	CVM_CHECK(parseSignatureData(sigData, q));
	q.size = r.offset();
	q.trailingBytes = r.remaining();
	return q;
}

} // namespace cvm::tdx
