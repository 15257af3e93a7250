// SPDX-License-Identifier: Apache-2.0
//
// cvm-launch tdx mrtd | reference | eventlog | quote as processes: output,
// JSON, exit codes (0 ok, 1 failure or negative verdict, 2 usage). Inputs:
// synthetic images, logs and quotes from tdx_test_support, Debian's OVMF.fd
// (with td-shim's independently computed MRTD, see mrtd_ovmf_test.cpp), and
// the real v4 quote in the shared fixtures, intact and tampered.
#include <catch2/catch.hpp>

#include "cvm/common/digest.h"
#include "cvm/common/file.h"
#include "cvm/common/json.h"
#include "cvm/tdx/eventlog.h"
#include "cvm/tdx/mrtd.h"
#include "cvm/tdx/reference.h"
#include "tdx_test_support.h"
#include "test_support.h"

using namespace cvm;
using namespace cvm::tdx;
using namespace cvm::test::tdx;
using cvm::test::CommandResult;

namespace {

constexpr const char *kOvmf = "/usr/share/ovmf/OVMF.fd";
// td-shim 125eeab5 td_shim_tee_info_hash.py on Debian 12's OVMF.fd (docs/tdx.md).
constexpr const char *kOvmfMrtd = "4c7206f0f483c524f12c366c711e9049030a8d47c471ee5aa9c4999a08de4057"
				  "fb887fed0744d5631a212967fb231c47";
constexpr const char *kOvmfSha256 = "7b456907dd0786d415999e801a1ac4637b8ed4d7cf5378cfc6edbe5e574dd773";
constexpr const char *kRealQuote = "tdx/tdx_prod_quote_SPR_E4.dat";

// CI (or CVM_REQUIRE_FIXTURES) must not lose a check to a missing input.
bool requiredHere()
{
	for (const char *var : { "CVM_REQUIRE_FIXTURES", "CI" }) {
		const char *v = getenv(var);
		if (v && *v && std::string_view(v) != "0" && std::string_view(v) != "false")
			return true;
	}
	return false;
}
const std::string kAt = std::to_string(kTestNow);

CommandResult cli(std::vector<std::string> args)
{
	args.insert(args.begin(), { cvm::test::buildPath("plugin/cvm-launch"), "tdx" });
	return cvm::test::run(args);
}

std::string write(const TempDir &dir, const char *name, ByteView data)
{
	std::string p = dir.file(name);
	REQUIRE(writeFileAtomic(p, data).ok());
	return p;
}

JsonNodePtr parsed(const CommandResult &r)
{
	INFO(r.out << r.err);
	auto node = json::parseObject(r.out);
	REQUIRE(node.ok());
	return std::move(*node);
}

JsonObject *obj(const JsonNodePtr &n)
{
	return json_node_get_object(n.get());
}

std::string member(JsonObject *o, const char *path0, const char *path1 = nullptr)
{
	if (path1)
		o = json::getObject(o, path0).value(), path0 = path1;
	return json::getString(o, path0).value();
}

Bytes syntheticImage(bool pageAug = false)
{
	ImageSpec spec;
	spec.descriptorOffset = 56 * 1024;
	spec.sections = qemuSections(0, 0x8000, 0x8000, 0x2000);
	if (pageAug)
		spec.sections[3].attributes = tdvf::kAttrPageAug;
	return buildTdvfImage(spec);
}

std::string libraryMrtd(const Bytes &img, TdvfLoader loader)
{
	MemoryImage image(img);
	MrtdOptions o;
	o.loader = loader;
	return toHex(computeMrtd(image, o).value().mrtd);
}

// RTMR = SHA-384(RTMR || SHA-384(data)), from zeros: the definition, with OpenSSL.
std::string fold(std::initializer_list<ByteView> events)
{
	Bytes reg(48, 0);
	for (ByteView d : events)
		reg = digest(DigestAlgorithm::Sha384, { reg, sha384(d).value() }).value();
	return toHex(reg);
}

const TestPki &pki()
{
	static TestPki p = makeTestPki();
	return p;
}

} // namespace

TEST_CASE("tdx mrtd: synthetic images under both loaders, text and JSON")
{
	auto dir = TempDir::create("cvm-tdx-cli-").value();
	Bytes img = syntheticImage(true);
	std::string path = write(dir, "tdvf.fd", img);

	auto text = cli({ "mrtd", "--firmware", path });
	INFO(text.err);
	REQUIRE(text.exitStatus == 0);
	CHECK_THAT(text.out, Catch::StartsWith("mrtd " + libraryMrtd(img, TdvfLoader::Qemu) + "\n"));
	CHECK_THAT(text.out, Catch::Contains("TD_HOB"));

	auto q = cli({ "mrtd", "--firmware", path, "--json" });
	auto t = cli({ "mrtd", "--firmware", path, "--json", "--loader", "td-shim" });
	REQUIRE(q.exitStatus == 0);
	REQUIRE(t.exitStatus == 0);
	auto qj = parsed(q);
	auto tj = parsed(t);
	CHECK(member(obj(qj), "mrtd") == libraryMrtd(img, TdvfLoader::Qemu));
	CHECK(member(obj(tj), "mrtd") == libraryMrtd(img, TdvfLoader::TdShim));
	// PAGE.AUG: QEMU adds the section, td-shim's tool does not.
	CHECK(member(obj(qj), "mrtd") != member(obj(tj), "mrtd"));
	int64_t augPages = qemuSections(0, 0x8000, 0x8000, 0x2000)[3].memoryDataSize / tdvf::kPageSize;
	CHECK(json::getInt(obj(qj), "pages-added").value() == json::getInt(obj(tj), "pages-added").value() + augPages);
	CHECK(member(obj(tj), "loader") == "td-shim");
}

TEST_CASE("tdx mrtd: Debian's OVMF.fd gives td-shim's value")
{
	// Skips this case only (the others still run); required where
	// CVM_REQUIRE_FIXTURES or CI is set (see mrtd_ovmf_test.cpp).
	auto sha = digestFile(DigestAlgorithm::Sha256, kOvmf);
	std::string why = !sha ? sha.error().message()
			       : toHex(*sha) != kOvmfSha256 ? std::string(kOvmf) + " is another build (SHA-256 " +
								       toHex(*sha) + ")"
							    : "";
	if (!why.empty()) {
		if (requiredHere())
			FAIL(why + ": re-check against td-shim as docs/tdx.md describes");
		WARN("SKIPPED: " << why);
		return;
	}
	for (const char *loader : { "qemu", "td-shim" }) {
		auto r = cli({ "mrtd", "--firmware", kOvmf, "--loader", loader, "--json" });
		REQUIRE(r.exitStatus == 0);
		CHECK(member(obj(parsed(r)), "mrtd") == kOvmfMrtd);
	}
}

TEST_CASE("tdx mrtd: bad input fails with a message, bad usage exits 2")
{
	auto dir = TempDir::create("cvm-tdx-cli-").value();
	Bytes img = syntheticImage();
	std::string notTdvf = write(dir, "zeros.fd", Bytes(64 * 1024, 0));
	std::string truncated = write(dir, "trunc.fd", ByteView(img).subspan(0, img.size() - 100));

	auto r = cli({ "mrtd", "--firmware", notTdvf });
	CHECK(r.exitStatus == 1);
	CHECK_THAT(r.err, Catch::Contains("OVMF GUIDed table"));
	CHECK(cli({ "mrtd", "--firmware", truncated }).exitStatus == 1);
	CHECK(cli({ "mrtd", "--firmware", dir.file("absent") }).exitStatus == 1);
	CHECK(cli({ "mrtd" }).exitStatus == 2);
	CHECK(cli({ "mrtd", "--firmware", notTdvf, "--loader", "seabios" }).exitStatus == 2);
	CHECK(cli({ "mrtd", "--firmware", notTdvf, "extra" }).exitStatus == 2);
	CHECK(cli({}).exitStatus == 2);
	CHECK(cli({ "nonsense" }).exitStatus == 2);
	CHECK(cli({ "--help" }).exitStatus == 0);
	CHECK(cli({ "quote", "--help" }).exitStatus == 0);
}

TEST_CASE("tdx eventlog: events and RTMRs replayed from a CCEL")
{
	auto dir = TempDir::create("cvm-tdx-cli-").value();
	EventLogBuilder b({ { 0x000c, 48 }, { 0x000b, 32 } });
	b.add(1, 0x80000007, asBytes("firmware config"))
		.add(3, 0x0000000d, asBytes("kernel_cmdline: console=ttyS0"))
		.add(1, tcg::kEvSeparator, Bytes(4, 0))
		.add(2, tcg::kEvNoAction, asBytes("not measured"))
		.add(4, 0x0000000d, asBytes("app"));
	Bytes log = b.bytes(4096);
	std::string table = write(dir, "ccel.tbl", buildCcelTable(log.size()));
	std::string data = write(dir, "ccel.dat", log);

	auto r = cli({ "eventlog", "--ccel-table", table, "--ccel-data", data, "--json" });
	REQUIRE(r.exitStatus == 0);
	auto j = parsed(r);
	JsonObject *rtmrs = json::getObject(obj(j), "rtmrs").value();
	CHECK(member(rtmrs, "rtmr0") == fold({ asBytes("firmware config"), Bytes(4, 0) }));
	CHECK(member(rtmrs, "rtmr1") == toHex(Bytes(48, 0)));
	CHECK(member(rtmrs, "rtmr2") == fold({ asBytes("kernel_cmdline: console=ttyS0") }));
	CHECK(member(rtmrs, "rtmr3") == fold({ asBytes("app") }));
	JsonArray *events = json::getArray(obj(j), "events").value();
	REQUIRE(json_array_get_length(events) == 5);
	JsonObject *first = json_array_get_object_element(events, 0);
	CHECK(member(first, "register") == "RTMR0");
	CHECK(member(first, "digests", "sha256") == toHex(sha256(asBytes("firmware config")).value()));
	CHECK(member(json_array_get_object_element(events, 3), "type") == "EV_NO_ACTION");

	auto text = cli({ "eventlog", "--ccel-table", table, "--ccel-data", data });
	REQUIRE(text.exitStatus == 0);
	CHECK_THAT(text.out, Catch::Contains("rtmr3 " + fold({ asBytes("app") }) + " (1 events)"));
	CHECK_THAT(text.out, Catch::Contains("firmware config"));
}

TEST_CASE("tdx eventlog: broken tables and logs fail with exit 1")
{
	auto dir = TempDir::create("cvm-tdx-cli-").value();
	Bytes log = EventLogBuilder().add(1, 0x80000007, asBytes("x")).bytes(1024);
	Bytes table = buildCcelTable(log.size());
	Bytes badSum = table;
	badSum[20] ^= 1;
	Bytes longLog = log;
	longLog.resize(log.size() + 1, 0xff); // longer than the table's LAML
	Bytes noSha384 = EventLogBuilder({ { 0x000b, 32 } }).add(1, 0x80000007, asBytes("x")).bytes(1024);
	std::string t = write(dir, "t", table);
	std::string d = write(dir, "d", log);

	auto run = [&](const std::string &tbl, const std::string &dat) {
		return cli({ "eventlog", "--ccel-table", tbl, "--ccel-data", dat });
	};
	CHECK(run(t, d).exitStatus == 0);
	auto sum = run(write(dir, "sum", badSum), d);
	CHECK(sum.exitStatus == 1);
	CHECK_THAT(sum.err, Catch::Contains("checksum"));
	CHECK(run(t, write(dir, "long", longLog)).exitStatus == 1);
	CHECK(run(t, write(dir, "nosha", noSha384)).exitStatus == 1);
	CHECK(run(write(dir, "tdx", buildCcelTable(1024, 1)), d).exitStatus == 1); // SEV CC type
	CHECK(cli({ "eventlog", "--ccel-table", t }).exitStatus == 2);
}

TEST_CASE("tdx reference: a document the library reads back, with provenance")
{
	auto dir = TempDir::create("cvm-tdx-cli-").value();
	Bytes img = syntheticImage();
	std::string fw = write(dir, "tdvf.fd", img);
	Bytes log = EventLogBuilder().add(1, 0x80000007, asBytes("a")).add(4, 0x0000000d, asBytes("b")).bytes(2048);
	std::string table = write(dir, "ccel.tbl", buildCcelTable(log.size()));
	std::string data = write(dir, "ccel.dat", log);
	std::string owner(96, 'a');
	std::string out = dir.file("ref.json");

	auto r = cli({ "reference", "--firmware", fw, "--ccel-table", table, "--ccel-data", data, "--mrowner", owner,
		       "--td-attributes", "0x10000000", "--output", out, "--json" });
	INFO(r.err);
	REQUIRE(r.exitStatus == 0);
	auto doc = referenceDocumentFromJson(r.out);
	REQUIRE(doc.ok());
	CHECK(readTextFile(out).value() == r.out);
	REQUIRE(doc->values.mrtd.size() == 1);
	CHECK(toHex(doc->values.mrtd[0]) == libraryMrtd(img, TdvfLoader::Qemu));
	CHECK(toHex(*doc->values.rtmr[0]) == fold({ asBytes("a") }));
	CHECK(toHex(*doc->values.rtmr[3]) == fold({ asBytes("b") }));
	CHECK(toHex(*doc->values.mrOwner) == owner);
	CHECK(*doc->values.tdAttributes == 0x10000000);
	CHECK_FALSE(doc->values.mrConfigId);
	CHECK_THAT(doc->tool, Catch::StartsWith("cvm-launch "));
	CHECK(doc->mrtdMethod == "qemu");
	REQUIRE(doc->inputs.size() == 3);
	CHECK(doc->inputs[0].role == "firmware");
	CHECK(doc->inputs[0].file == fw);
	CHECK(doc->inputs[0].fingerprint.size == img.size());
	CHECK(toHex(doc->inputs[0].fingerprint.sha256) == toHex(sha256(img).value()));
	CHECK(doc->inputs[2].role == "ccel-data");
	CHECK(toHex(doc->inputs[2].fingerprint.sha256) == toHex(sha256(log).value()));

	auto text = cli({ "reference", "--firmware", fw });
	REQUIRE(text.exitStatus == 0);
	CHECK_THAT(text.out, Catch::Contains("tdx.mrtd           " + libraryMrtd(img, TdvfLoader::Qemu)));

	CHECK(cli({ "reference", "--firmware", fw, "--mrowner", "abcd" }).exitStatus == 2);
	CHECK(cli({ "reference", "--firmware", fw, "--ccel-table", table }).exitStatus == 2);
	CHECK(cli({ "reference", "--firmware", fw, "--xfam", "-1" }).exitStatus == 2);
	CHECK(cli({ "reference", "--firmware", data }).exitStatus == 1);
}

TEST_CASE("tdx quote: the real v4 quote verifies to Intel's root; tampering is named")
{
	if (!g_file_test(cvm::test::fixture(kRealQuote).c_str(), G_FILE_TEST_EXISTS)) {
		if (requiredHere())
			FAIL("the shared fixture " << cvm::test::fixture(kRealQuote) << " is missing");
		WARN("SKIPPED: the shared fixtures are absent (" << cvm::test::fixture("") << ")");
		return;
	}
	auto dir = TempDir::create("cvm-tdx-cli-").value();
	Bytes real = cvm::test::readFixture(kRealQuote);
	std::string path = write(dir, "quote.dat", real);

	auto r = cli({ "quote", "--quote", path, "--at", kAt, "--json" });
	INFO(r.err);
	REQUIRE(r.exitStatus == 0);
	auto j = parsed(r);
	CHECK(member(obj(j), "verdict") == "ok");
	auto q = parseQuote(real).value();
	JsonObject *body = json::getObject(json::getObject(obj(j), "quote").value(), "body").value();
	CHECK(member(body, "mrtd") == toHex(q.body.mrTd));
	CHECK(member(body, "rtmr2") == toHex(q.body.rtmr[2]));
	CHECK(member(body, "report-data") == toHex(q.body.reportData));
	CHECK(member(body, "xfam") == "0x0000000000061ae7");
	JsonObject *verification = json::getObject(obj(j), "verification").value();
	CHECK_FALSE(json::getBool(verification, "tcb-evaluated").value());

	auto text = cli({ "quote", "--quote", path, "--at", kAt });
	REQUIRE(text.exitStatus == 0);
	CHECK_THAT(text.out, Catch::Contains("mrtd           " + toHex(q.body.mrTd)));
	CHECK_THAT(text.out, Catch::Contains("verdict: ok (signatures and PCK chain only; TCB status and collateral are not evaluated)"));

	// One byte in each region: TD report body, attestation key, QE report.
	struct Tamper {
		size_t offset;
		const char *check;
	};
	for (Tamper t : { Tamper{ 48 + 136 + 10, "attestation-key-signature" }, // MRTD
			  Tamper{ 48 + 584 + 4 + 64 + 5, "qe-report-binding" },  // attestation key
			  Tamper{ 48 + 584 + 4 + 128 + 6 + 40, "qe-report-signature" } }) {
		Bytes b = real;
		b[t.offset] ^= 0x01;
		auto bad = cli({ "quote", "--quote", write(dir, "bad.dat", b), "--at", kAt, "--json" });
		INFO(t.check);
		CHECK(bad.exitStatus == 1);
		CHECK_THAT(bad.err, Catch::Contains(std::string(t.check) + ": "));
		auto bj = parsed(bad);
		JsonObject *v = json::getObject(obj(bj), "verification").value();
		CHECK(member(v, "verdict") == "failed");
	}
	auto truncated = cli({ "quote", "--quote", write(dir, "short.dat", ByteView(real).subspan(0, 1000)) });
	CHECK(truncated.exitStatus == 1);
	CHECK_THAT(truncated.err, Catch::Contains("TD quote"));
	// Certificates checked at a time after the PCK certificate expired.
	auto late = cli({ "quote", "--quote", path, "--at", "4102444800" });
	CHECK(late.exitStatus == 1);
	CHECK_THAT(late.err, Catch::Contains("pck-chain: "));
}

TEST_CASE("tdx quote: our v5 quotes need their test root; usage errors exit 2")
{
	auto dir = TempDir::create("cvm-tdx-cli-").value();
	Quote sample = sampleQuote(5, quote::kBodyTypeTdx15);
	std::string path = write(dir, "v5.dat", signWith(pki(), sample));
	std::string rootPem = write(dir, "root.pem", asBytes(pki().pem(pki().root.get())));
	std::string rootDer = write(dir, "root.der", pki().rootDer());

	auto pinned = cli({ "quote", "--quote", path, "--at", kAt });
	CHECK(pinned.exitStatus == 1);
	CHECK_THAT(pinned.err, Catch::Contains("root-ca: "));
	for (const std::string &root : { rootPem, rootDer }) {
		auto r = cli({ "quote", "--quote", path, "--root-ca", root, "--at", kAt, "--json" });
		INFO(r.err);
		REQUIRE(r.exitStatus == 0);
		auto j = parsed(r);
		JsonObject *body = json::getObject(json::getObject(obj(j), "quote").value(), "body").value();
		CHECK(json::getInt(body, "type").value() == 3);
		CHECK(member(body, "mrservicetd") == toHex(*sample.body.mrServiceTd));
		CHECK(member(body, "mrconfigid") == toHex(sample.body.mrConfigId));
	}
	auto text = cli({ "quote", "--quote", path, "--root-ca", rootPem, "--at", kAt });
	CHECK_THAT(text.out, Catch::Contains("mrservicetd    " + toHex(*sample.body.mrServiceTd)));

	CHECK(cli({ "quote" }).exitStatus == 2);
	CHECK(cli({ "quote", "--quote", path, "--at", "yesterday" }).exitStatus == 2);
	CHECK(cli({ "quote", "--quote", path, "--root-ca", path }).exitStatus == 1); // not a certificate
	CHECK(cli({ "quote", "--quote", dir.file("absent") }).exitStatus == 1);
}
