// SPDX-License-Identifier: Apache-2.0
//
// CCEL table and crypto-agile event log, on logs built from the TCG layout.
// Expected RTMRs are folded here straight from the definition
// (RTMR = SHA-384(RTMR || digest)) with OpenSSL.
#include <catch2/catch.hpp>

#include "cvm/tdx/eventlog.h"
#include "tdx_test_support.h"

using namespace cvm;
using namespace cvm::tdx;
using namespace cvm::test::tdx;

namespace {

constexpr uint32_t kEvEfiAction = 0x80000007;
constexpr uint32_t kEvIpl = 0x0000000d;

Sha384Digest fold(const std::vector<ByteView> &eventData)
{
	Bytes reg(48, 0);
	for (ByteView d : eventData) {
		Bytes digest = digestOf(tcg::kAlgSha384, d);
		reg = digestOf(tcg::kAlgSha384, concat({ reg, digest }));
	}
	return toSha384Digest(reg);
}

std::string errorOf(const Bytes &log)
{
	auto parsed = parseEventLog(log);
	if (!parsed)
		return parsed.error().message();
	auto replay = replayRtmrs(*parsed);
	REQUIRE_FALSE(replay.ok());
	return replay.error().message();
}

} // namespace

TEST_CASE("a log replays into RTMR0-3; EV_NO_ACTION extends nothing")
{
	EventLogBuilder b;
	b.add(1, kEvEfiAction, asBytes("firmware config"))
		.add(2, kEvEfiAction, asBytes("Calling EFI Application from Boot Option"))
		.add(3, kEvIpl, asBytes("kernel_cmdline: console=ttyS0"))
		.add(1, tcg::kEvSeparator, Bytes(4, 0))
		.add(3, tcg::kEvNoAction, asBytes("not measured"))
		.add(4, kEvIpl, asBytes("application"));
	Bytes log = b.bytes(8192);
	auto parsed = parseEventLog(log);
	REQUIRE(parsed.ok());
	CHECK(parsed->events.size() == 6);
	CHECK(parsed->usedBytes < log.size());
	CHECK(parsed->specId.algorithms.size() == 1);
	auto r = replayRtmrs(*parsed);
	REQUIRE(r.ok());
	Bytes sep(4, 0);
	CHECK(r->rtmr[0] == fold({ asBytes("firmware config"), sep }));
	CHECK(r->rtmr[1] == fold({ asBytes("Calling EFI Application from Boot Option") }));
	CHECK(r->rtmr[2] == fold({ asBytes("kernel_cmdline: console=ttyS0") }));
	CHECK(r->rtmr[3] == fold({ asBytes("application") }));
	CHECK(r->extends == std::array<size_t, 4>{ 2, 1, 1, 1 });
}

TEST_CASE("the log ends at its end, at a 0xff area or at a zero area")
{
	EventLogBuilder b;
	b.add(1, kEvEfiAction, asBytes("x"));
	for (Bytes log : { b.bytes(), b.bytes(4096, 0xff), b.bytes(4096, 0x00) }) {
		auto parsed = parseEventLog(log);
		REQUIRE(parsed.ok());
		CHECK(parsed->events.size() == 1);
	}
	// Garbage after the last event is an error, not an end.
	Bytes junk = b.bytes();
	junk.insert(junk.end(), { 0xff, 0xff, 0x00, 0x01 });
	CHECK_FALSE(parseEventLog(junk).ok());
}

TEST_CASE("logs with several algorithms replay the SHA-384 digests")
{
	EventLogBuilder b({ { tcg::kAlgSha256, 32 }, { tcg::kAlgSha384, 48 } });
	b.add(1, kEvEfiAction, asBytes("a")).add(1, kEvEfiAction, asBytes("b"));
	auto parsed = parseEventLog(b.bytes());
	REQUIRE(parsed.ok());
	REQUIRE(parsed->events[0].digests.size() == 2);
	CHECK(*parsed->events[0].digest(tcg::kAlgSha256) == digestOf(tcg::kAlgSha256, asBytes("a")));
	auto r = replayRtmrs(*parsed);
	REQUIRE(r.ok());
	CHECK(r->rtmr[0] == fold({ asBytes("a"), asBytes("b") }));

	EventLogBuilder missing({ { tcg::kAlgSha256, 32 }, { tcg::kAlgSha384, 48 } });
	missing.add(1, kEvEfiAction, asBytes("a"), { tcg::kAlgSha256 });
	CHECK_THAT(errorOf(missing.bytes()), Catch::Contains("has no SHA-384 digest"));
}

TEST_CASE("malformed logs are refused with the offset and the reason")
{
	SECTION("no SHA-384 in the log")
	{
		EventLogBuilder b({ { tcg::kAlgSha256, 32 } });
		CHECK_THAT(errorOf(b.bytes()), Catch::Contains("no SHA-384"));
	}
	SECTION("a known algorithm with the wrong size")
	{
		EventLogBuilder b({ { tcg::kAlgSha384, 32 } });
		CHECK_THAT(errorOf(b.bytes()), Catch::Contains("digest size 32"));
	}
	SECTION("an algorithm listed twice")
	{
		EventLogBuilder b({ { tcg::kAlgSha384, 48 }, { tcg::kAlgSha384, 48 } });
		CHECK_THAT(errorOf(b.bytes()), Catch::Contains("listed twice"));
	}
	SECTION("not a crypto-agile log")
	{
		Bytes log = EventLogBuilder().bytes();
		storeLe32(log, 4, 1); // first event type
		CHECK_THAT(errorOf(log), Catch::Contains("not EV_NO_ACTION"));
		log = EventLogBuilder().bytes();
		log[32] = 'X'; // "Spec ID Event03"
		CHECK_THAT(errorOf(log), Catch::Contains("Spec ID Event03"));
	}
	SECTION("stray bytes in the Spec ID event")
	{
		Bytes log = EventLogBuilder().bytes();
		storeLe32(log, 28, loadLe32(log, 28) + 1);
		log.insert(log.begin() + 32 + loadLe32(log, 28) - 1, 0x5a);
		CHECK_THAT(errorOf(log), Catch::Contains("stray bytes"));
	}
	SECTION("an undeclared algorithm in an event")
	{
		EventLogBuilder b;
		b.addRaw(1, kEvEfiAction, { { tcg::kAlgSha256, Bytes(32, 1) } }, asBytes("x"));
		CHECK_THAT(errorOf(b.bytes()), Catch::Contains("does not declare"));
	}
	SECTION("zero digests")
	{
		EventLogBuilder b;
		b.addRaw(1, kEvEfiAction, {}, asBytes("x"));
		CHECK_THAT(errorOf(b.bytes()), Catch::Contains("has 0 digests"));
	}
	SECTION("the same digest twice")
	{
		EventLogBuilder b;
		b.addRaw(1, kEvEfiAction, { { tcg::kAlgSha384, Bytes(48, 1) }, { tcg::kAlgSha384, Bytes(48, 1) } },
			 asBytes("x"));
		CHECK_THAT(errorOf(b.bytes()), Catch::Contains("has 2 digests") || Catch::Contains("two sha384"));
	}
	SECTION("a truncated event")
	{
		EventLogBuilder b;
		b.add(1, kEvEfiAction, asBytes("0123456789"));
		Bytes log = b.bytes();
		log.resize(log.size() - 3);
		CHECK_THAT(errorOf(log), Catch::Contains("truncated") && Catch::Contains("event data"));
	}
	SECTION("an event for MRTD")
	{
		EventLogBuilder b;
		b.add(0, kEvEfiAction, asBytes("x"));
		CHECK_THAT(errorOf(b.bytes()), Catch::Contains("MR index 0 (MRTD"));
	}
	SECTION("an event for a register that does not exist")
	{
		EventLogBuilder b;
		b.add(5, kEvEfiAction, asBytes("x"));
		CHECK_THAT(errorOf(b.bytes()), Catch::Contains("MR index 5, which is not an RTMR"));
	}
	SECTION("an empty input")
	{
		CHECK_THAT(errorOf(Bytes()), Catch::Contains("truncated"));
	}
}

TEST_CASE("the CCEL table is checked")
{
	Bytes t = buildCcelTable(65536);
	auto table = parseCcelTable(t);
	REQUIRE(table.ok());
	CHECK(table->ccType == kCcTypeTdx);
	CHECK(table->logAreaMinimumLength == 65536);
	CHECK(table->oemId == "CVMTST");

	Bytes bad = t;
	bad[0] = 'X';
	CHECK_THAT(parseCcelTable(bad).error().message(), Catch::Contains("not \"CCEL\""));
	bad = t;
	bad[50] ^= 1;
	CHECK_THAT(parseCcelTable(bad).error().message(), Catch::Contains("checksum"));
	CHECK_THAT(parseCcelTable(buildCcelTable(65536, 1)).error().message(), Catch::Contains("not Intel TDX"));
	bad = t;
	bad.push_back(0);
	CHECK_THAT(parseCcelTable(bad).error().message(), Catch::Contains("the header says 56"));
	CHECK_THAT(parseCcelTable(ByteView(t.data(), 40)).error().message(), Catch::Contains("at least 56"));

	EventLogBuilder b;
	b.add(1, kEvEfiAction, asBytes("x"));
	CHECK(parseCcelEventLog(*table, b.bytes(65536)).ok());
	CHECK(parseCcelEventLog(*table, b.bytes(100)).ok()); // a trimmed copy
	CHECK_THAT(parseCcelEventLog(*table, b.bytes(65537)).error().message(), Catch::Contains("longer than"));
}

TEST_CASE("events are named and described in printable ASCII")
{
	CHECK(eventTypeName(kEvEfiAction) == "EV_EFI_ACTION");
	CHECK(eventTypeName(0x800000e0) == "EV_EFI_VARIABLE_AUTHORITY");
	CHECK(eventTypeName(0x12345678) == "0x12345678");
	CHECK(tcgAlgorithmName(tcg::kAlgSha384) == "sha384");
	CHECK(tcgAlgorithmName(0x99) == "0x0099");

	LogEvent e;
	e.type = kEvEfiAction;
	e.data = Bytes(asBytes("Exit Boot Services Invocation").begin(), asBytes("Exit Boot Services Invocation").end());
	CHECK(describeEvent(e) == "Exit Boot Services Invocation");

	// UEFI_VARIABLE_DATA for SecureBoot (EFI global variable GUID).
	Bytes var;
	Guid global = Guid::parse("8be4df61-93ca-11d2-aa0d-00e098032b8c").value();
	append(var, global.bytes);
	appendLe64(var, 10);
	appendLe64(var, 1);
	for (char c : std::string("SecureBoot"))
		appendLe16(var, static_cast<uint16_t>(c));
	var.push_back(0);
	e.type = 0x80000001;
	e.data = var;
	CHECK(describeEvent(e) == "8be4df61-93ca-11d2-aa0d-00e098032b8c:SecureBoot (1 bytes)");

	Bytes blob2 = { 8 };
	append(blob2, asBytes("TdxTable"));
	e.type = 0x8000000b;
	e.data = blob2;
	CHECK(describeEvent(e) == "TdxTable");

	e.type = tcg::kEvSeparator;
	e.data = Bytes(4, 0);
	CHECK(describeEvent(e) == "00000000 (4 bytes)");

	e.type = kEvIpl;
	e.data = Bytes{ 0x01, 0xfe, 0x41 };
	CHECK(describeEvent(e) == "01fe41 (3 bytes)");

	e.data = Bytes(1000, 'a');
	CHECK(describeEvent(e).size() < 200);
}
