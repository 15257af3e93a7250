// SPDX-License-Identifier: Apache-2.0
//
// The quote writer (same layout tables as the parser) and the JSON view.
#define G_LOG_DOMAIN "cvm-tdx"

#include <cstdio>

#include "cvm/common/json.h"
#include "cvm/tdx/quote.h"
#include "quote_layout.h"

namespace cvm::tdx {

namespace {

std::string hex64(uint64_t v)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "0x%016llx", static_cast<unsigned long long>(v));
	return buf;
}

Bytes encodeHeader(const QuoteHeader &h)
{
	Bytes out(layout::kHeaderSize);
	storeLe16(out, layout::kHeaderVersion.offset, h.version);
	storeLe16(out, layout::kHeaderAttestationKeyType.offset, h.attestationKeyType);
	storeLe32(out, layout::kHeaderTeeType.offset, h.teeType);
	storeBytes(out, layout::kHeaderReserved.offset, h.reserved);
	storeBytes(out, layout::kHeaderQeVendorId.offset, h.qeVendorId);
	storeBytes(out, layout::kHeaderUserData.offset, h.userData);
	return out;
}

Bytes encodeBody(const TdReportBody &b, bool tdx15)
{
	Bytes out(tdx15 ? layout::kBodySizeTdx15 : layout::kBodySizeTdx10);
	storeBytes(out, layout::kBodyTeeTcbSvn.offset, b.teeTcbSvn);
	storeBytes(out, layout::kBodyMrSeam.offset, b.mrSeam);
	storeBytes(out, layout::kBodyMrSignerSeam.offset, b.mrSignerSeam);
	storeLe64(out, layout::kBodySeamAttributes.offset, b.seamAttributes);
	storeLe64(out, layout::kBodyTdAttributes.offset, b.tdAttributes);
	storeLe64(out, layout::kBodyXfam.offset, b.xfam);
	storeBytes(out, layout::kBodyMrTd.offset, b.mrTd);
	storeBytes(out, layout::kBodyMrConfigId.offset, b.mrConfigId);
	storeBytes(out, layout::kBodyMrOwner.offset, b.mrOwner);
	storeBytes(out, layout::kBodyMrOwnerConfig.offset, b.mrOwnerConfig);
	for (size_t i = 0; i < 4; ++i)
		storeBytes(out, layout::kBodyRtmr0.offset + i * kSha384Size, b.rtmr[i]);
	storeBytes(out, layout::kBodyReportData.offset, b.reportData);
	if (tdx15) {
		if (b.teeTcbSvn2)
			storeBytes(out, layout::kBodyTeeTcbSvn2.offset, *b.teeTcbSvn2);
		if (b.mrServiceTd)
			storeBytes(out, layout::kBodyMrServiceTd.offset, *b.mrServiceTd);
	}
	return out;
}

// The PEM as text for JSON: up to the first NUL, non-ASCII replaced (the
// bytes are untrusted and JSON strings must be valid UTF-8).
std::string pemText(const std::string &pem)
{
	std::string out(pem.c_str());
	for (char &c : out)
		if ((c < 0x20 && c != '\n' && c != '\r') || static_cast<unsigned char>(c) > 0x7e)
			c = '?';
	return out;
}

} // namespace

std::string tdAttributesText(uint64_t attributes)
{
	struct Bit {
		uint64_t mask;
		const char *name;
	};
	static const Bit bits[] = {
		{ tdattr::kDebug, "DEBUG" },	 { tdattr::kSeptVeDisable, "SEPT_VE_DISABLE" },
		{ tdattr::kPks, "PKS" },	 { tdattr::kKl, "KL" },
		{ tdattr::kPerfmon, "PERFMON" },
	};
	std::string out;
	uint64_t rest = attributes;
	for (const auto &b : bits) {
		if (attributes & b.mask) {
			out += (out.empty() ? "" : "|") + std::string(b.name);
			rest &= ~b.mask;
		}
	}
	if (rest) {
		char buf[32];
		snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(rest));
		out += (out.empty() ? "" : "|") + std::string(buf);
	}
	return out.empty() ? "none" : out;
}

Bytes encodeQuoteSignedRegion(const Quote &q)
{
	bool tdx15 = q.header.version == quote::kVersion5 && q.bodyType == quote::kBodyTypeTdx15;
	Bytes out = encodeHeader(q.header);
	Bytes body = encodeBody(q.body, tdx15);
	if (q.header.version == quote::kVersion5) {
		appendLe16(out, q.bodyType);
		appendLe32(out, static_cast<uint32_t>(body.size()));
	}
	append(out, body);
	return out;
}

Bytes encodeQeReport(const QeReport &r)
{
	Bytes out(layout::kQeReportSize);
	storeBytes(out, layout::kQeCpuSvn.offset, r.cpuSvn);
	storeLe32(out, layout::kQeMiscSelect.offset, r.miscSelect);
	storeBytes(out, layout::kQeAttributes.offset, r.attributes);
	storeBytes(out, layout::kQeMrEnclave.offset, r.mrEnclave);
	storeBytes(out, layout::kQeMrSigner.offset, r.mrSigner);
	storeLe16(out, layout::kQeIsvProdId.offset, r.isvProdId);
	storeLe16(out, layout::kQeIsvSvn.offset, r.isvSvn);
	storeBytes(out, layout::kQeReportData.offset, r.reportData);
	return out;
}

Bytes encodeQuote(const Quote &q)
{
	Bytes pck;
	appendLe16(pck, quote::kCertDataPckChain);
	appendLe32(pck, static_cast<uint32_t>(q.pckChainPem.size()));
	append(pck, asBytes(q.pckChainPem));

	Bytes qeCert = encodeQeReport(q.qeReport);
	append(qeCert, q.qeReportSignature);
	appendLe16(qeCert, static_cast<uint16_t>(q.qeAuthData.size()));
	append(qeCert, q.qeAuthData);
	append(qeCert, pck);

	Bytes sigData;
	append(sigData, q.signature);
	append(sigData, q.attestationKey);
	appendLe16(sigData, quote::kCertDataQeReport);
	appendLe32(sigData, static_cast<uint32_t>(qeCert.size()));
	append(sigData, qeCert);

	Bytes out = encodeQuoteSignedRegion(q);
	appendLe32(out, static_cast<uint32_t>(sigData.size()));
	append(out, sigData);
	return out;
}

JsonNodePtr quoteToJson(const Quote &q)
{
	json::ObjectBuilder header;
	header.setInt("version", q.header.version)
		.setInt("attestation-key-type", q.header.attestationKeyType)
		.setInt("tee-type", q.header.teeType)
		.setHex("reserved", q.header.reserved)
		.setHex("qe-vendor-id", q.header.qeVendorId)
		.setBool("qe-vendor-is-intel", q.header.qeVendorId == quote::kIntelQeVendorId)
		.setHex("user-data", q.header.userData);

	const TdReportBody &b = q.body;
	json::ObjectBuilder body;
	body.setInt("type", q.bodyType)
		.setHex("tee-tcb-svn", b.teeTcbSvn)
		.setHex("mrseam", b.mrSeam)
		.setHex("mrsignerseam", b.mrSignerSeam)
		.setString("seam-attributes", hex64(b.seamAttributes))
		.setString("td-attributes", hex64(b.tdAttributes))
		.setString("td-attributes-flags", tdAttributesText(b.tdAttributes))
		.setString("xfam", hex64(b.xfam))
		.setHex("mrtd", b.mrTd)
		.setHex("mrconfigid", b.mrConfigId)
		.setHex("mrowner", b.mrOwner)
		.setHex("mrownerconfig", b.mrOwnerConfig);
	for (size_t i = 0; i < 4; ++i)
		body.setHex("rtmr" + std::to_string(i), b.rtmr[i]);
	body.setHex("report-data", b.reportData);
	if (b.teeTcbSvn2)
		body.setHex("tee-tcb-svn2", *b.teeTcbSvn2);
	if (b.mrServiceTd)
		body.setHex("mrservicetd", *b.mrServiceTd);

	const QeReport &r = q.qeReport;
	json::ObjectBuilder qe;
	qe.setHex("cpu-svn", r.cpuSvn)
		.setInt("misc-select", r.miscSelect)
		.setHex("attributes", r.attributes)
		.setHex("mrenclave", r.mrEnclave)
		.setHex("mrsigner", r.mrSigner)
		.setInt("isv-prod-id", r.isvProdId)
		.setInt("isv-svn", r.isvSvn)
		.setHex("report-data", r.reportData);

	json::ObjectBuilder sig;
	sig.setHex("signature", q.signature)
		.setHex("attestation-key", q.attestationKey)
		.setObject("qe-report", std::move(qe))
		.setHex("qe-report-signature", q.qeReportSignature)
		.setHex("qe-auth-data", q.qeAuthData)
		.setString("pck-chain-pem", pemText(q.pckChainPem));

	json::ObjectBuilder out;
	out.setObject("header", std::move(header))
		.setObject("body", std::move(body))
		.setObject("signature-data", std::move(sig))
		.setInt("size", static_cast<int64_t>(q.size))
		.setInt("trailing-bytes", static_cast<int64_t>(q.trailingBytes));
	return out.build();
}

} // namespace cvm::tdx
