// SPDX-License-Identifier: Apache-2.0
//
// Writes the synthetic seed corpora of the tdx fuzz targets into DIR/<target>/
// (committed under tests/fuzz/tdx/corpus). Everything comes from the test
// support's builders, which follow the spec layouts; each seed is checked to
// parse before it is written, so the corpus starts on the accepting paths.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "cvm/attest/protocol_tdx.h"
#include "cvm/attest/tdx_secrets.h"
#include "cvm/common/file.h"
#include "cvm/common/json.h"
#include "cvm/tdx/eventlog.h"
#include "cvm/tdx/mrtd.h"
#include "cvm/tdx/reference.h"
#include "tdx_test_support.h"

using namespace cvm;
using namespace cvm::tdx;
using namespace cvm::test::tdx;

namespace {

std::string g_dir;

void put(const char *target, const std::string &name, ByteView data)
{
	std::string dir = g_dir + "/" + target;
	if (!makeDirectories(dir, 0755) || !writeFileAtomic(dir + "/" + name, data)) {
		fprintf(stderr, "cannot write %s/%s\n", dir.c_str(), name.c_str());
		exit(1);
	}
}

void require(bool ok, const std::string &what)
{
	if (!ok) {
		fprintf(stderr, "seed %s does not parse\n", what.c_str());
		exit(1);
	}
}

void tdvfSeeds()
{
	// The images td-shim's tool was run on (tests/tdx/mrtd_crosscheck_test.cpp);
	// each parses under at least one loader.
	for (const auto &[name, img] : crossCheckImages()) {
		MemoryImage image(img);
		bool any = false;
		for (TdvfLoader loader : { TdvfLoader::Qemu, TdvfLoader::TdShim }) {
			MrtdOptions o;
			o.loader = loader;
			any = any || computeMrtd(image, o).ok();
		}
		require(any, name);
		put("tdvf_metadata", name, img);
	}
}

void quoteSeeds()
{
	TestPki pki = makeTestPki();
	struct Seed {
		const char *name;
		uint16_t version, bodyType;
	};
	for (const Seed &s : { Seed{ "v4", 4, quote::kBodyTypeTdx10 }, Seed{ "v5-tdx10", 5, quote::kBodyTypeTdx10 },
			       Seed{ "v5-tdx15", 5, quote::kBodyTypeTdx15 } }) {
		Bytes q = signWith(pki, sampleQuote(s.version, s.bodyType));
		require(parseQuote(q).ok(), s.name);
		put("quote", s.name, q);
	}
}

Bytes framed(const Bytes &table, const Bytes &log)
{
	Bytes out{ static_cast<uint8_t>(table.size()) };
	out.insert(out.end(), table.begin(), table.end());
	out.insert(out.end(), log.begin(), log.end());
	return out;
}

void eventlogSeeds()
{
	Bytes one = EventLogBuilder()
			    .add(1, 0x80000007, asBytes("Calling EFI Application from Boot Option"))
			    .add(1, tcg::kEvSeparator, Bytes(4, 0))
			    .add(3, 0x0000000d, asBytes("kernel_cmdline: console=ttyS0"))
			    .add(2, tcg::kEvNoAction, asBytes("not measured"))
			    .bytes(1024);
	Bytes two = EventLogBuilder({ { 0x000c, 48 }, { 0x000b, 32 }, { 0x0004, 20 } })
			    .add(4, 0x80000001, asBytes("\x61\xdf\xe4\x8b\xca\x93\xd2\x11\xaa\x0d\x00\xe0\x98\x03\x2b\x8c"))
			    .add(2, 0x80000003, Bytes(40, 0x11))
			    .bytes(512, 0);
	for (const auto &[name, log] : { std::pair<const char *, Bytes>{ "sha384", one }, { "three-algorithms", two } }) {
		Bytes table = buildCcelTable(log.size());
		auto t = parseCcelTable(table);
		require(t.ok() && parseCcelEventLog(*t, log).ok(), name);
		put("ccel_eventlog", name, framed(table, log));
	}
}

void referenceSeeds()
{
	ReferenceDocument doc;
	doc.tool = "cvm-launch 0.1.0";
	doc.mrtdMethod = "qemu";
	doc.values.mrtd = { sampleQuote(4).body.mrTd, sampleQuote(4).body.mrConfigId };
	doc.values.rtmr[0] = sampleQuote(4).body.rtmr[0];
	doc.values.mrOwner = sampleQuote(4).body.mrOwner;
	doc.values.tdAttributes = tdattr::kSeptVeDisable;
	doc.values.xfam = 0xe7;
	doc.inputs.push_back({ "firmware", "/usr/share/ovmf/OVMF.fd", { 2097152, {} } });
	std::string full = json::serialize(referenceDocumentToJson(doc).get(), true);
	std::string bare = json::serialize(referenceValuesToJson(doc.values).get());
	for (const auto &[name, text] : { std::pair<const char *, std::string>{ "document", full }, { "bare-values", bare } }) {
		require(referenceDocumentFromJson(text).ok(), name);
		put("reference_document", name, asBytes(text));
	}
}

void asBodySeeds()
{
	using namespace cvm::attest;
	Quote sample = sampleQuote(4);
	Registration r;
	r.scheme = Scheme::IntelTdx;
	r.tdx.mrtd = { sample.body.mrTd };
	r.tdx.rtmr[1] = sample.body.rtmr[1];
	r.tdx.mrConfigId = sample.body.mrConfigId;
	r.secrets.push_back(SecretEntry{ luksKeyGuid(), SecureBuffer(asBytes("seed secret")) });
	r.maxConcurrentLaunches = 3;
	SecureBuffer reg = registrationToJson(r);
	put("as_tdx_bodies", "registration", reg.view());

	EvpPkeyPtr key(EVP_EC_gen("P-256"));
	Bytes point = p256PointOf(key.get()).value();
	TestPki pki = makeTestPki();
	std::string quoteRequest =
		json::serialize(tdxQuoteRequestToJson(TdxQuoteRequest{ signWith(pki, sample), point }).get());
	put("as_tdx_bodies", "quote-request", asBytes(quoteRequest));
	Bytes nonce(kTdxNonceSize, 0x5a);
	std::string launch = json::serialize(tdxLaunchResponseToJson(TdxLaunchResponse{ "launch-1", nonce, 1767225600 }).get());
	put("as_tdx_bodies", "launch-response", asBytes(launch));
	TdxLaunchResponse configured{ "launch-2", nonce, 1767225600 };
	configured.launchConfig.tdAttributes = 0x10000000;
	configured.launchConfig.mrConfigId = sample.body.mrConfigId;
	configured.launchConfig.mrOwner = sample.body.mrOwner;
	put("as_tdx_bodies", "launch-response-config",
	    asBytes(json::serialize(tdxLaunchResponseToJson(configured).get())));
	TdxQuoteResponse qr;
	qr.hasSecret = true;
	qr.secrets = wrapTdxSecrets(point, nonce, "launch-1", asBytes("table")).value();
	put("as_tdx_bodies", "quote-response", asBytes(json::serialize(tdxQuoteResponseToJson(qr).get())));
}

} // namespace

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	g_dir = argv[1];
	tdvfSeeds();
	quoteSeeds();
	eventlogSeeds();
	referenceSeeds();
	asBodySeeds();
	return 0;
}
