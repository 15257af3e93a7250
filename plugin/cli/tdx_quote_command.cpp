// SPDX-License-Identifier: Apache-2.0
//
// cvm-launch tdx eventlog | quote: a CCEL event log replayed into RTMR0-3, and
// a TD quote's fields with the verdict of its signature checks (no TCB or
// collateral evaluation: said in the output).
#define G_LOG_DOMAIN "cvm-cli"

#include <cstdio>
#include <string>

#include "cli.h"
#include "cvm/common/file.h"
#include "cvm/common/json.h"
#include "cvm/tdx/eventlog.h"
#include "cvm/tdx/quote.h"
#include "cvm/tdx/quote_verify.h"
#include "sev_measure_command.h"
#include "tdx_command.h"

namespace cvm::cli {

namespace {

constexpr size_t kMaxInput = 16u << 20;

struct Replayed {
	tdx::CcelTable table;
	tdx::EventLog log;
	tdx::RtmrReplay replay;
};

Result<Replayed> replayCcel(const std::string &tablePath, const std::string &dataPath)
{
	Bytes tableBytes = CVM_TRY(readFile(tablePath, 1u << 16));
	Bytes data = CVM_TRY(readFile(dataPath, kMaxInput));
	Replayed r;
	r.table = CVM_TRY(tdx::parseCcelTable(tableBytes));
	r.log = CVM_TRY(tdx::parseCcelEventLog(r.table, data));
	r.replay = CVM_TRY(tdx::replayRtmrs(r.log));
	return r;
}

// "RTMR2" for CC MR index 3; "MRTD" for 0.
std::string mrName(uint32_t mrIndex)
{
	return mrIndex == 0 ? "MRTD" : "RTMR" + std::to_string(mrIndex - 1);
}

JsonNodePtr eventJson(const tdx::LogEvent &e)
{
	json::ObjectBuilder digests;
	for (const auto &d : e.digests)
		digests.setHex(tdx::tcgAlgorithmName(d.algorithm), d.digest);
	json::ObjectBuilder b;
	b.setInt("offset", static_cast<int64_t>(e.offset))
		.setInt("mr-index", e.mrIndex)
		.setString("register", mrName(e.mrIndex))
		.setString("type", tdx::eventTypeName(e.type))
		.setInt("type-value", e.type)
		.setObject("digests", std::move(digests))
		.setInt("data-size", static_cast<int64_t>(e.data.size()))
		.setString("description", tdx::describeEvent(e));
	return b.build();
}

void printEventlogJson(const Replayed &r)
{
	JsonArrayPtr events(json_array_new());
	for (const auto &e : r.log.events)
		json_array_add_element(events.get(), eventJson(e).release());
	JsonNodePtr eventsNode(json_node_alloc());
	json_node_init_array(eventsNode.get(), events.get());
	json::ObjectBuilder rtmrs;
	for (size_t i = 0; i < 4; ++i)
		rtmrs.setHex("rtmr" + std::to_string(i), r.replay.rtmr[i]);
	json::ObjectBuilder table;
	table.setString("oem-id", r.table.oemId)
		.setString("oem-table-id", r.table.oemTableId)
		.setInt("cc-type", r.table.ccType)
		.setInt("log-area-minimum-length", static_cast<int64_t>(r.table.logAreaMinimumLength))
		.setInt("log-area-start-address", static_cast<int64_t>(r.table.logAreaStartAddress));
	json::ObjectBuilder out;
	out.setObject("ccel", std::move(table))
		.setNode("events", std::move(eventsNode))
		.setInt("used-bytes", static_cast<int64_t>(r.log.usedBytes))
		.setObject("rtmrs", std::move(rtmrs));
	printJson(out.build().get());
}

void printEventlogText(const Replayed &r)
{
	for (const auto &e : r.log.events) {
		const Bytes *d = e.digest(tdx::tcg::kAlgSha384);
		printf("%6zu %-5s %-28s %s  %s\n", e.offset, mrName(e.mrIndex).c_str(),
		       tdx::eventTypeName(e.type).c_str(), d ? toHex(*d).substr(0, 16).c_str() : "-",
		       tdx::describeEvent(e).c_str());
	}
	for (size_t i = 0; i < 4; ++i)
		printf("rtmr%zu %s (%zu events)\n", i, toHex(r.replay.rtmr[i]).c_str(), r.replay.extends[i]);
}

} // namespace

int runTdxEventlogCommand(int argc, char **argv)
{
	struct Options {
		gchar *table = nullptr, *data = nullptr;
		gboolean json = FALSE;
		~Options() { g_free(table), g_free(data); }
	} o;
	GOptionEntry entries[] = {
		{ "ccel-table", 0, 0, G_OPTION_ARG_FILENAME, &o.table, "The CCEL ACPI table (/sys/firmware/acpi/tables/CCEL)", "F" },
		{ "ccel-data", 0, 0, G_OPTION_ARG_FILENAME, &o.data, "Its log area (/sys/firmware/acpi/tables/data/CCEL)", "F" },
		{ "json", 0, 0, G_OPTION_ARG_NONE, &o.json, "Print the result as JSON", nullptr },
		{},
	};
	if (!parseOptions(argv[0], "", "Print a TD's CCEL event log and replay it into RTMR0-3.", entries, argc, argv))
		return kExitUsage;
	if (argc > 1)
		return usage(argv[0], std::string("unexpected argument ") + argv[1]);
	if (!o.table || !o.data)
		return usage(argv[0], "--ccel-table and --ccel-data are required");
	auto r = replayCcel(o.table, o.data);
	if (!r)
		return fail(r.error());
	if (o.json)
		printEventlogJson(*r);
	else
		printEventlogText(*r);
	return kExitOk;
}

namespace {

void printQuoteText(const tdx::Quote &q, const tdx::QuoteVerification &v)
{
	const tdx::TdReportBody &b = q.body;
	printf("version %u, body type %u, %zu bytes (%zu trailing ignored)\n", q.header.version, q.bodyType, q.size,
	       q.trailingBytes);
	printf("qe-vendor-id   %s\n", toHex(q.header.qeVendorId).c_str());
	printf("tee-tcb-svn    %s\n", toHex(b.teeTcbSvn).c_str());
	printf("mrseam         %s\n", toHex(b.mrSeam).c_str());
	printf("mrsignerseam   %s\n", toHex(b.mrSignerSeam).c_str());
	printf("seam-attributes %016llx\n", static_cast<unsigned long long>(b.seamAttributes));
	printf("td-attributes  %016llx (%s)\n", static_cast<unsigned long long>(b.tdAttributes),
	       tdx::tdAttributesText(b.tdAttributes).c_str());
	printf("xfam           %016llx\n", static_cast<unsigned long long>(b.xfam));
	printf("mrtd           %s\n", toHex(b.mrTd).c_str());
	printf("mrconfigid     %s\n", toHex(b.mrConfigId).c_str());
	printf("mrowner        %s\n", toHex(b.mrOwner).c_str());
	printf("mrownerconfig  %s\n", toHex(b.mrOwnerConfig).c_str());
	for (size_t i = 0; i < 4; ++i)
		printf("rtmr%zu          %s\n", i, toHex(b.rtmr[i]).c_str());
	printf("report-data    %s\n", toHex(b.reportData).c_str());
	if (b.teeTcbSvn2)
		printf("tee-tcb-svn2   %s\n", toHex(*b.teeTcbSvn2).c_str());
	if (b.mrServiceTd)
		printf("mrservicetd    %s\n", toHex(*b.mrServiceTd).c_str());
	for (const auto &c : v.checks)
		printf("%-26s %s  %s\n", tdx::quoteCheckName(c.id), c.passed ? "ok    " : "FAILED", c.detail.c_str());
	printf("verdict: %s (signatures and PCK chain only; TCB status and collateral are not evaluated)\n",
	       v.ok() ? "ok" : "failed");
}

Result<tdx::QuoteVerifyOptions> verifyOptions(const gchar *rootCa, const gchar *at)
{
	tdx::QuoteVerifyOptions options;
	if (rootCa) {
		Bytes text = CVM_TRY(readFile(rootCa, 1u << 20));
		options.rootCaDer = CVM_TRY(tdx::loadRootCertificate(text));
	}
	if (at) {
		auto t = parseUnsignedOption(at, INT64_MAX);
		if (!t)
			return Error(ErrorCode::InvalidArgument, std::string("--at: not seconds since the epoch: ") + at);
		options.atTime = static_cast<int64_t>(*t);
	}
	return options;
}

} // namespace

int runTdxQuoteCommand(int argc, char **argv)
{
	struct Options {
		gchar *quote = nullptr, *rootCa = nullptr, *at = nullptr;
		gboolean json = FALSE;
		~Options() { g_free(quote), g_free(rootCa), g_free(at); }
	} o;
	GOptionEntry entries[] = {
		{ "quote", 0, 0, G_OPTION_ARG_FILENAME, &o.quote, "TD quote, version 4 or 5 (binary)", "F" },
		{ "root-ca", 0, 0, G_OPTION_ARG_FILENAME, &o.rootCa, "Trust anchor (PEM or DER) instead of the pinned Intel SGX Root CA", "F" },
		{ "at", 0, 0, G_OPTION_ARG_STRING, &o.at, "Check certificate validity at this time (seconds since the epoch), not now", "T" },
		{ "json", 0, 0, G_OPTION_ARG_NONE, &o.json, "Print the result as JSON", nullptr },
		{},
	};
	if (!parseOptions(argv[0], "", "Print a TD quote's fields and verify its signatures and PCK chain.", entries, argc, argv))
		return kExitUsage;
	if (argc > 1)
		return usage(argv[0], std::string("unexpected argument ") + argv[1]);
	if (!o.quote)
		return usage(argv[0], "--quote is required");
	auto options = verifyOptions(o.rootCa, o.at);
	if (!options) {
		bool usageLike = options.error().code() == ErrorCode::InvalidArgument && o.at;
		return fail(options.error(), usageLike ? kExitUsage : kExitFailure);
	}
	auto bytes = readFile(o.quote, kMaxInput);
	if (!bytes)
		return fail(bytes.error());
	auto q = tdx::parseQuote(*bytes);
	if (!q)
		return fail(q.error());
	tdx::QuoteVerification v = tdx::verifyQuote(*q, *options);
	if (o.json) {
		json::ObjectBuilder out;
		out.setString("file", o.quote)
			.setString("verdict", v.ok() ? "ok" : "failed")
			.setNode("quote", tdx::quoteToJson(*q))
			.setNode("verification", v.toJson());
		printJson(out.build().get());
	} else {
		printQuoteText(*q, v);
	}
	for (const auto &c : v.checks)
		if (!c.passed)
			fprintf(stderr, "%s: %s: %s\n", argv[0], tdx::quoteCheckName(c.id), c.detail.c_str());
	return v.ok() ? kExitOk : kExitFailure;
}

} // namespace cvm::cli
