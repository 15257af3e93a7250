// SPDX-License-Identifier: Apache-2.0
//
// cvm-launch tdx mrtd | reference: MRTD of a TDVF image and the reference-value
// document verifiers consume (cvm/tdx/reference.h). The dispatcher of the
// `tdx` group is here too.
#define G_LOG_DOMAIN "cvm-cli"

#include <cstdio>
#include <cstring>
#include <string>

#include "cli.h"
#include "commands.h"
#include "cvm/common/file.h"
#include "cvm/common/json.h"
#include "cvm/tdx/eventlog.h"
#include "cvm/tdx/mrtd.h"
#include "cvm/tdx/reference.h"
#include "sev_measure_command.h"
#include "tdx_command.h"

namespace cvm::cli {

std::optional<tdx::TdvfLoader> parseLoaderOption(const char *text)
{
	if (!text || std::strcmp(text, "qemu") == 0)
		return tdx::TdvfLoader::Qemu;
	if (std::strcmp(text, "td-shim") == 0)
		return tdx::TdvfLoader::TdShim;
	return std::nullopt;
}

namespace {

constexpr const char *kLoaderHelp =
	"Loader rules: qemu (QEMU/KVM: MemoryDataSize bytes from the image, every section added; the default) "
	"or td-shim (td-shim-tee-info-hash: RawDataSize bytes zero padded, PAGE.AUG sections skipped)";

Result<tdx::MrtdResult> mrtdOf(const std::string &path, tdx::TdvfLoader loader, tdx::FileFingerprint *fp)
{
	auto image = CVM_TRY(tdx::FileImage::open(path));
	if (fp)
		*fp = CVM_TRY(tdx::fingerprint(image));
	tdx::MrtdOptions options;
	options.loader = loader;
	return tdx::computeMrtd(image, options);
}

JsonNodePtr sectionsJson(const tdx::TdvfMetadata &md)
{
	JsonArrayPtr a(json_array_new());
	for (const auto &s : md.sections) {
		json::ObjectBuilder b;
		b.setString("type", tdx::tdvfSectionTypeName(s.type))
			.setInt("data-offset", s.dataOffset)
			.setInt("raw-data-size", s.rawDataSize)
			.setInt("memory-address", static_cast<int64_t>(s.memoryAddress))
			.setInt("memory-data-size", static_cast<int64_t>(s.memoryDataSize))
			.setString("attributes", tdx::tdvfAttributesText(s.attributes));
		json_array_add_element(a.get(), b.build().release());
	}
	JsonNodePtr n(json_node_alloc());
	json_node_init_array(n.get(), a.get());
	return n;
}

void printMrtdText(const tdx::MrtdResult &r)
{
	printf("mrtd %s\n", toHex(r.mrtd).c_str());
	printf("pages added %llu, extended %llu\n", static_cast<unsigned long long>(r.pagesAdded),
	       static_cast<unsigned long long>(r.pagesExtended));
	for (size_t i = 0; i < r.metadata.sections.size(); ++i) {
		const auto &s = r.metadata.sections[i];
		printf("section %zu %-9s offset 0x%08x raw 0x%08x gpa 0x%016llx size 0x%08llx %s\n", i,
		       tdx::tdvfSectionTypeName(s.type).c_str(), s.dataOffset, s.rawDataSize,
		       static_cast<unsigned long long>(s.memoryAddress),
		       static_cast<unsigned long long>(s.memoryDataSize), tdx::tdvfAttributesText(s.attributes).c_str());
	}
}

} // namespace

int runTdxMrtdCommand(int argc, char **argv)
{
	struct Options {
		gchar *firmware = nullptr, *loader = nullptr;
		gboolean json = FALSE;
		~Options() { g_free(firmware), g_free(loader); }
	} o;
	GOptionEntry entries[] = {
		{ "firmware", 0, 0, G_OPTION_ARG_FILENAME, &o.firmware, "TDVF (OVMF with TDX metadata) or td-shim image", "F" },
		{ "loader", 0, 0, G_OPTION_ARG_STRING, &o.loader, kLoaderHelp, "qemu|td-shim" },
		{ "json", 0, 0, G_OPTION_ARG_NONE, &o.json, "Print the result as JSON", nullptr },
		{},
	};
	if (!parseOptions(argv[0], "", "Compute the MRTD a TD launched with this firmware will have.", entries, argc, argv))
		return kExitUsage;
	if (argc > 1)
		return usage(argv[0], std::string("unexpected argument ") + argv[1]);
	if (!o.firmware)
		return usage(argv[0], "--firmware is required");
	auto loader = parseLoaderOption(o.loader);
	if (!loader)
		return usage(argv[0], std::string("--loader: expected qemu or td-shim, got ") + o.loader);
	auto r = mrtdOf(o.firmware, *loader, nullptr);
	if (!r)
		return fail(r.error());
	if (!o.json) {
		printMrtdText(*r);
		return kExitOk;
	}
	json::ObjectBuilder b;
	b.setHex("mrtd", r->mrtd)
		.setString("firmware", o.firmware)
		.setString("loader", tdx::tdvfLoaderName(*loader))
		.setString("metadata-location",
			   r->metadata.location == tdx::TdvfLocation::OvmfTable ? "ovmf-table" : "td-shim-pointer")
		.setInt("pages-added", static_cast<int64_t>(r->pagesAdded))
		.setInt("pages-extended", static_cast<int64_t>(r->pagesExtended))
		.setNode("sections", sectionsJson(r->metadata));
	printJson(b.build().get());
	return kExitOk;
}

namespace {

struct ReferenceOptions {
	gchar *firmware = nullptr, *loader = nullptr, *ccelTable = nullptr, *ccelData = nullptr;
	gchar *mrConfigId = nullptr, *mrOwner = nullptr, *mrOwnerConfig = nullptr;
	gchar *tdAttributes = nullptr, *xfam = nullptr, *output = nullptr;
	gboolean json = FALSE;
	~ReferenceOptions()
	{
		for (gchar *p : { firmware, loader, ccelTable, ccelData, mrConfigId, mrOwner, mrOwnerConfig, tdAttributes, xfam, output })
			g_free(p);
	}
};

Error usageError(const std::string &m)
{
	return Error(ErrorCode::InvalidArgument, m);
}

// The owner-chosen values given on the command line.
Status addOwnerValues(const ReferenceOptions &o, tdx::ReferenceValues &v)
{
	struct Digest {
		const gchar *text;
		const char *what;
		std::optional<tdx::Sha384Digest> *out;
	};
	for (const Digest &d : { Digest{ o.mrConfigId, "--mrconfigid", &v.mrConfigId },
				 Digest{ o.mrOwner, "--mrowner", &v.mrOwner },
				 Digest{ o.mrOwnerConfig, "--mrownerconfig", &v.mrOwnerConfig } }) {
		if (d.text)
			*d.out = CVM_TRY(tdx::sha384DigestFromHex(d.text, d.what));
	}
	if (o.tdAttributes) {
		auto a = parseUnsignedOption(o.tdAttributes, UINT64_MAX);
		if (!a)
			return usageError(std::string("--td-attributes: not a 64-bit number: ") + o.tdAttributes);
		v.tdAttributes = *a;
	}
	if (o.xfam) {
		auto x = parseUnsignedOption(o.xfam, UINT64_MAX);
		if (!x)
			return usageError(std::string("--xfam: not a 64-bit number: ") + o.xfam);
		v.xfam = *x;
	}
	return {};
}

Result<tdx::ProvenanceInput> provenanceOf(const std::string &role, const std::string &path, Bytes *content)
{
	tdx::ProvenanceInput in{ role, path, {} };
	auto image = CVM_TRY(tdx::FileImage::open(path));
	in.fingerprint = CVM_TRY(tdx::fingerprint(image));
	if (content)
		*content = CVM_TRY(readFile(path, 64u << 20));
	return in;
}

// RTMR0-3 from the CCEL event log, with both files recorded as inputs.
Status addRtmrs(const ReferenceOptions &o, tdx::ReferenceDocument &doc)
{
	Bytes tableBytes, data;
	doc.inputs.push_back(CVM_TRY(provenanceOf("ccel-table", o.ccelTable, &tableBytes)));
	doc.inputs.push_back(CVM_TRY(provenanceOf("ccel-data", o.ccelData, &data)));
	auto table = CVM_TRY(tdx::parseCcelTable(tableBytes));
	auto log = CVM_TRY(tdx::parseCcelEventLog(table, data));
	auto replay = CVM_TRY(tdx::replayRtmrs(log));
	for (size_t i = 0; i < 4; ++i)
		doc.values.rtmr[i] = replay.rtmr[i];
	return {};
}

Result<tdx::ReferenceDocument> buildReference(const ReferenceOptions &o, tdx::TdvfLoader loader)
{
	tdx::ReferenceDocument doc;
	doc.tool = std::string("cvm-launch ") + CVM_VERSION;
	doc.mrtdMethod = tdx::tdvfLoaderName(loader);
	tdx::FileFingerprint fp;
	auto mrtd = CVM_TRY(mrtdOf(o.firmware, loader, &fp));
	doc.values.mrtd.push_back(mrtd.mrtd);
	doc.inputs.push_back({ "firmware", o.firmware, fp });
	if (o.ccelTable)
		CVM_CHECK(addRtmrs(o, doc));
	return doc;
}

void printReferenceText(const tdx::ReferenceDocument &doc)
{
	JsonNodePtr values = tdx::referenceValuesToJson(doc.values);
	JsonObjectIter it;
	const gchar *name;
	JsonNode *node;
	json_object_iter_init(&it, json_node_get_object(values.get()));
	while (json_object_iter_next(&it, &name, &node))
		printf("%-18s %s\n", name, json_node_get_string(node));
	for (const auto &in : doc.inputs)
		printf("input %s %s (%llu bytes, sha256 %s)\n", in.role.c_str(), in.file.c_str(),
		       static_cast<unsigned long long>(in.fingerprint.size), toHex(in.fingerprint.sha256).c_str());
	printf("tool %s, mrtd method %s\n", doc.tool.c_str(), doc.mrtdMethod.c_str());
}

} // namespace

int runTdxReferenceCommand(int argc, char **argv)
{
	ReferenceOptions o;
	GOptionEntry entries[] = {
		{ "firmware", 0, 0, G_OPTION_ARG_FILENAME, &o.firmware, "TDVF image the TD boots (MRTD)", "F" },
		{ "loader", 0, 0, G_OPTION_ARG_STRING, &o.loader, kLoaderHelp, "qemu|td-shim" },
		{ "ccel-table", 0, 0, G_OPTION_ARG_FILENAME, &o.ccelTable, "CCEL ACPI table of a reference boot (RTMR0-3)", "F" },
		{ "ccel-data", 0, 0, G_OPTION_ARG_FILENAME, &o.ccelData, "Its event log area", "F" },
		{ "mrconfigid", 0, 0, G_OPTION_ARG_STRING, &o.mrConfigId, "Expected MRCONFIGID (96 hex digits)", "HEX" },
		{ "mrowner", 0, 0, G_OPTION_ARG_STRING, &o.mrOwner, "Expected MROWNER (96 hex digits)", "HEX" },
		{ "mrownerconfig", 0, 0, G_OPTION_ARG_STRING, &o.mrOwnerConfig, "Expected MROWNERCONFIG (96 hex digits)", "HEX" },
		{ "td-attributes", 0, 0, G_OPTION_ARG_STRING, &o.tdAttributes, "Expected TD attributes (u64)", "N" },
		{ "xfam", 0, 0, G_OPTION_ARG_STRING, &o.xfam, "Expected XFAM (u64)", "N" },
		{ "output", 'o', 0, G_OPTION_ARG_FILENAME, &o.output, "Also write the document (JSON) to this file", "F" },
		{ "json", 0, 0, G_OPTION_ARG_NONE, &o.json, "Print the document as JSON", nullptr },
		{},
	};
	if (!parseOptions(argv[0], "", "Publish reference values for a TD (the document the AS and verifiers consume).",
			  entries, argc, argv))
		return kExitUsage;
	if (argc > 1)
		return usage(argv[0], std::string("unexpected argument ") + argv[1]);
	if (!o.firmware)
		return usage(argv[0], "--firmware is required");
	if (!o.ccelTable != !o.ccelData)
		return usage(argv[0], "--ccel-table and --ccel-data go together");
	auto loader = parseLoaderOption(o.loader);
	if (!loader)
		return usage(argv[0], std::string("--loader: expected qemu or td-shim, got ") + o.loader);
	auto doc = buildReference(o, *loader);
	if (!doc)
		return fail(doc.error());
	if (auto st = addOwnerValues(o, doc->values); !st)
		return usage(argv[0], st.error().message());
	JsonNodePtr node = tdx::referenceDocumentToJson(*doc);
	if (o.output) {
		std::string text = json::serialize(node.get(), true) + "\n";
		if (auto st = writeFileAtomic(o.output, asBytes(text)); !st)
			return fail(st.error());
	}
	if (o.json)
		printJson(node.get());
	else
		printReferenceText(*doc);
	return kExitOk;
}

int runTdxCommand(int argc, char **argv)
{
	struct Sub {
		const char *name;
		int (*run)(int, char **);
	};
	static const Sub kSubs[] = {
		{ "mrtd", runTdxMrtdCommand },
		{ "reference", runTdxReferenceCommand },
		{ "eventlog", runTdxEventlogCommand },
		{ "quote", runTdxQuoteCommand },
	};
	if (argc < 2)
		return usage(argv[0], "a subcommand is required: mrtd, reference, eventlog, quote");
	if (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
		printf("Usage: %s SUBCOMMAND [OPTIONS...]\n\n"
		       "  mrtd       MRTD of a TDVF image\n"
		       "  reference  reference-value document (tdx.mrtd, tdx.rtmr0..3, ...) with provenance\n"
		       "  eventlog   events of a CCEL event log and the RTMRs they replay to\n"
		       "  quote      fields and signature verdict of a TD quote (v4/v5)\n",
		       argv[0]);
		return kExitOk;
	}
	for (const auto &s : kSubs) {
		if (std::strcmp(argv[1], s.name) == 0) {
			std::string prg = std::string(argv[0]) + " " + s.name;
			argv[1] = const_cast<char *>(prg.c_str());
			return s.run(argc - 1, argv + 1);
		}
	}
	return usage(argv[0], std::string("unknown subcommand ") + argv[1]);
}

} // namespace cvm::cli
