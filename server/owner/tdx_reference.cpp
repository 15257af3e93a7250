// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-owner"

#include "tdx_reference.h"

#include <cerrno>
#include <cstdlib>
#include <string>

#include "cvm/common/file.h"

namespace cvm::owner {

namespace {

Error usage(const std::string &m)
{
	return Error(ErrorCode::InvalidArgument, m);
}

Result<uint64_t> parseU64(const char *what, const char *text)
{
	errno = 0;
	char *end = nullptr;
	unsigned long long v = strtoull(text, &end, 0);
	if (!*text || *text == '-' || errno || *end)
		return usage(std::string(what) + " must be a 64-bit number (decimal or 0x hex), not '" + text + "'");
	return static_cast<uint64_t>(v);
}

Result<tdx::Sha384Digest> digestOption(const char *what, const char *hex)
{
	auto d = tdx::sha384DigestFromHex(hex, what);
	if (!d)
		return usage(d.error().message());
	return d;
}

} // namespace

TdxReferenceOptions::~TdxReferenceOptions()
{
	for (gchar *p : { reference, mrConfigId, mrOwner, mrOwnerConfig, tdAttributes, xfam })
		g_free(p);
	g_strfreev(mrtd);
	g_strfreev(rtmr);
}

bool TdxReferenceOptions::given() const
{
	return reference || mrtd || rtmr || mrConfigId || mrOwner || mrOwnerConfig || tdAttributes || xfam;
}

std::vector<GOptionEntry> tdxReferenceEntries(TdxReferenceOptions &o)
{
	return {
		{ "reference", 0, 0, G_OPTION_ARG_FILENAME, &o.reference,
		  "intel-tdx: reference document (cvm-launch tdx reference --json)", "FILE" },
		{ "mrtd", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.mrtd, "intel-tdx: an accepted MRTD (repeatable)", "HEX" },
		{ "rtmr", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.rtmr, "intel-tdx: expected RTMR N (0-3)", "N:HEX" },
		{ "mrconfigid", 0, 0, G_OPTION_ARG_STRING, &o.mrConfigId, "intel-tdx: expected MRCONFIGID", "HEX" },
		{ "mrowner", 0, 0, G_OPTION_ARG_STRING, &o.mrOwner, "intel-tdx: expected MROWNER", "HEX" },
		{ "mrownerconfig", 0, 0, G_OPTION_ARG_STRING, &o.mrOwnerConfig, "intel-tdx: expected MROWNERCONFIG", "HEX" },
		{ "td-attributes", 0, 0, G_OPTION_ARG_STRING, &o.tdAttributes, "intel-tdx: expected TD attributes", "N" },
		{ "xfam", 0, 0, G_OPTION_ARG_STRING, &o.xfam, "intel-tdx: expected XFAM", "N" },
	};
}

Result<tdx::ReferenceValues> buildTdxReference(const TdxReferenceOptions &o)
{
	tdx::ReferenceValues v;
	if (o.reference) {
		auto text = readTextFile(o.reference);
		if (!text)
			return usage(text.error().message());
		auto doc = tdx::referenceDocumentFromJson(*text);
		if (!doc)
			return usage(std::string(o.reference) + ": " + doc.error().message());
		v = doc->values;
	}
	if (o.mrtd) {
		v.mrtd.clear();
		for (gchar **m = o.mrtd; *m; ++m)
			v.mrtd.push_back(CVM_TRY(digestOption("--mrtd", *m)));
	}
	for (gchar **r = o.rtmr; r && *r; ++r) {
		std::string spec = *r;
		if (spec.size() < 3 || spec[0] < '0' || spec[0] > '3' || spec[1] != ':')
			return usage("--rtmr '" + spec + "' must be N:HEX with N 0-3");
		v.rtmr[spec[0] - '0'] = CVM_TRY(digestOption("--rtmr", spec.c_str() + 2));
	}
	if (o.mrConfigId)
		v.mrConfigId = CVM_TRY(digestOption("--mrconfigid", o.mrConfigId));
	if (o.mrOwner)
		v.mrOwner = CVM_TRY(digestOption("--mrowner", o.mrOwner));
	if (o.mrOwnerConfig)
		v.mrOwnerConfig = CVM_TRY(digestOption("--mrownerconfig", o.mrOwnerConfig));
	if (o.tdAttributes)
		v.tdAttributes = CVM_TRY(parseU64("--td-attributes", o.tdAttributes));
	if (o.xfam)
		v.xfam = CVM_TRY(parseU64("--xfam", o.xfam));
	if (v.mrtd.empty())
		return usage("intel-tdx needs at least one MRTD: --reference FILE or --mrtd HEX");
	return v;
}

} // namespace cvm::owner
