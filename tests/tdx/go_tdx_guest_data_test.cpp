// SPDX-License-Identifier: Apache-2.0
//
// A MANUAL check, not part of any suite: real data from go-tdx-guest's public
// test data (Apache-2.0), which this project does not carry. Built as
// build/tests/tdx/tdx-manual-go-tdx-guest-data; run it by hand with
// $CVM_GO_TDX_GUEST_TESTDATA naming a checkout's testing/testdata directory
// (docs/tdx.md, "The go-tdx-guest check"):
//   ccel/ccel_table.dat, ccel/ccel_data.dat  the CCEL table and log of a GCE TD
//   ccel/cos-113-tdx-quote.dat               that TD's quote
//   quote_v5_sample.dat                      a real v5 (TDX 1.5) quote
// The RTMRs replayed from the log must be the quote's: an independent check
// of the replay against what the TDX module computed. A missing file is an
// error (exit 1), not a skip: whoever runs this wants the answer.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>

#include "cvm/common/file.h"
#include "cvm/tdx/appraisal.h"
#include "cvm/tdx/eventlog.h"
#include "cvm/tdx/quote_verify.h"
#include "tdx_test_support.h"

using namespace cvm;
using namespace cvm::tdx;

namespace {

Bytes need(const char *rel)
{
	const char *dir = getenv("CVM_GO_TDX_GUEST_TESTDATA");
	if (!dir || !*dir) {
		fprintf(stderr, "set CVM_GO_TDX_GUEST_TESTDATA to go-tdx-guest's testing/testdata directory "
				"(docs/tdx.md, \"The go-tdx-guest check\")\n");
		exit(1);
	}
	auto b = readFile(std::string(dir) + "/" + rel);
	if (!b) {
		fprintf(stderr, "%s\n", b.error().message().c_str());
		exit(1);
	}
	return *b;
}

QuoteVerifyOptions at2026()
{
	QuoteVerifyOptions o;
	o.atTime = 1780272000; // 2026-06-01, inside every certificate's validity
	return o;
}

} // namespace

TEST_CASE("the GCE CCEL log replays to the RTMRs of its quote")
{
	Bytes tableBytes = need("ccel/ccel_table.dat");
	Bytes data = need("ccel/ccel_data.dat");
	Bytes quoteBytes = need("ccel/cos-113-tdx-quote.dat");

	auto table = parseCcelTable(tableBytes);
	REQUIRE(table.ok());
	CHECK(table->oemId == "INTEL ");
	auto log = parseCcelEventLog(*table, data);
	REQUIRE(log.ok());
	auto replay = replayRtmrs(*log);
	REQUIRE(replay.ok());

	auto q = parseQuote(quoteBytes);
	REQUIRE(q.ok());
	CHECK(q->trailingBytes == quoteBytes.size() - q->size); // zero padded
	for (size_t i = 0; i < 4; ++i) {
		INFO("RTMR" << i);
		CHECK(replay->rtmr[i] == q->body.rtmr[i]);
	}
	// The full-length log area (0xff after the log) gives the same.
	Bytes full = data;
	full.resize(table->logAreaMinimumLength, 0xff);
	auto fullLog = parseCcelEventLog(*table, full);
	REQUIRE(fullLog.ok());
	CHECK(fullLog->events.size() == log->events.size());

	// Every event can be described, and the firmware's first RTMR0 event is the TD HOB.
	for (const auto &e : log->events)
		CHECK_FALSE(describeEvent(e).empty());
	CHECK(describeEvent(log->events.front()) == "TdxTable");

	// The quote verifies, and its report data binds the all-zero nonce of the
	// same test data with the raw binding.
	CHECK(verifyQuote(*q, at2026()).ok());
	AppraisalOptions o;
	o.verify = at2026();
	o.binding = ReportDataBinding::Raw;
	ReferenceValues ref;
	ref.mrtd.push_back(q->body.mrTd);
	for (size_t i = 0; i < 4; ++i)
		ref.rtmr[i] = replay->rtmr[i];
	Appraisal a = appraiseQuote(*q, ref, Bytes(64, 0), {}, o);
	CHECK(a.ok());
}

TEST_CASE("the real v5 quote (TDX 1.5 body) verifies")
{
	Bytes bytes = need("quote_v5_sample.dat");
	auto q = parseQuote(bytes);
	REQUIRE(q.ok());
	CHECK(q->header.version == 5);
	CHECK(q->bodyType == quote::kBodyTypeTdx15);
	CHECK(q->body.mrServiceTd.has_value());
	CHECK(q->trailingBytes == 0);
	CHECK(encodeQuote(*q) == bytes);
	QuoteVerification v = verifyQuote(*q, at2026());
	for (const auto &c : v.checks)
		INFO(quoteCheckName(c.id) << ": " << c.detail);
	CHECK(v.ok());
	// The v5 signature covers the body descriptor too.
	Bytes tampered = bytes;
	tampered[48] ^= 1; // body type 3 -> 2: the sizes no longer match
	CHECK_FALSE(parseQuote(tampered).ok());
	tampered = bytes;
	tampered[54 + 600] ^= 1; // MRSERVICETD
	auto t = parseQuote(tampered);
	REQUIRE(t.ok());
	CHECK_FALSE(verifyQuote(*t, at2026()).checks[0].passed);
}
