// SPDX-License-Identifier: Apache-2.0
//
// intel-tdx through cvm-attestd over real HTTP on loopback: registration with
// reference values, the nonce, quotes signed by a test PCK chain whose root
// the daemon is configured with (real hardware cannot sign our nonces), the
// secret wrapped to the TD's key and opened on the TD's side, and every way
// the appraisal refuses (each burning its launch).
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>

#include "cvm/attest/client.h"
#include "cvm/attest/errors.h"
#include "cvm/attest/protocol_tdx.h"
#include "cvm/attest/tdx_secrets.h"
#include "cvm/common/digest.h"
#include "cvm/common/json.h"
#include "cvm/tdx/quote.h"
#include "tdx_test_support.h"
#include "test_daemon.h"
#include "test_support.h"

using namespace cvm;
using namespace cvm::attest;
namespace tt = cvm::test::tdx;

namespace {

const std::string kSecret = "tdx disk passphrase";

struct Answer {
	unsigned status = 0;
	std::string code;
	JsonNodePtr body;
	JsonObject *obj() const { return json_node_get_object(body.get()); }
};

HttpTransport transport(const std::string &url, const char *token)
{
	ClientOptions o;
	o.baseUrl = url;
	o.timeoutSeconds = 10;
	o.token = SecureBuffer(asBytes(token));
	return std::move(HttpTransport::create(std::move(o)).value());
}

Answer send(HttpTransport &t, const std::string &method, const std::string &path, std::string_view body)
{
	auto reply = t.send(method, path, body.empty() ? SecureBuffer() : SecureBuffer(asBytes(body)));
	REQUIRE(reply.ok());
	Answer a;
	a.status = reply->status;
	auto node = json::parseObject(asString(reply->body));
	if (node.ok()) {
		a.body = std::move(*node);
		if (auto e = parseErrorBody(a.obj()); e.ok())
			a.code = e->code;
	}
	return a;
}

std::string text(JsonNodePtr node)
{
	return json::serialize(node.get());
}

// The TD: its key pair and the quotes it gets made.
struct Td {
	EvpPkeyPtr key{ EVP_EC_gen("P-256") };
	Bytes point = p256PointOf(key.get()).value();
};

struct Fixture {
	std::atomic<int64_t> now{ tt::kTestNow };
	tt::TestPki pki = tt::makeTestPki();
	test::DaemonFiles files = test::DaemonFiles::create();
	std::unique_ptr<test::InProcessDaemon> daemon;
	std::unique_ptr<HttpTransport> owner, host;
	tdx::Quote sample = tt::sampleQuote(4);

	Fixture()
	{
		std::string root = files.dir.file("tdx-root.pem");
		REQUIRE(writeFileAtomic(root, asBytes(pki.pem(pki.root.get()))).ok());
		files.config.tdxRootCa = root;
		daemon = std::make_unique<test::InProcessDaemon>(files.config, [this] { return now.load(); });
		owner = std::make_unique<HttpTransport>(transport(daemon->url(), test::kOwnerToken));
		host = std::make_unique<HttpTransport>(transport(daemon->url(), test::kHostToken));
	}

	tdx::ReferenceValues reference() const
	{
		tdx::ReferenceValues r;
		r.mrtd = { sample.body.mrTd };
		r.rtmr[0] = sample.body.rtmr[0];
		r.mrConfigId = sample.body.mrConfigId;
		r.tdAttributes = sample.body.tdAttributes;
		return r;
	}

	Answer registerVm(const std::string &vm, const tdx::ReferenceValues &ref, uint32_t maxLaunches = 4)
	{
		Registration r;
		r.scheme = Scheme::IntelTdx;
		r.tdx = ref;
		r.secrets.push_back(SecretEntry{ luksKeyGuid(), SecureBuffer(asBytes(kSecret)) });
		r.maxConcurrentLaunches = maxLaunches;
		SecureBuffer body = registrationToJson(r);
		return send(*owner, "PUT", "/v1/vm/" + vm, asString(body.view()));
	}

	TdxLaunchResponse launch(const std::string &vm)
	{
		Answer a = send(*host, "POST", "/v1/vm/" + vm + "/tdx/launch", "{}");
		INFO(a.code);
		REQUIRE(a.status == 201);
		return parseTdxLaunchResponse(a.obj()).value();
	}

	// A quote as the TD would get it for (nonce, key), with `edit` applied to the body.
	Bytes quoteFor(ByteView nonce, ByteView point, const std::function<void(tdx::Quote &)> &edit = {},
		       const tt::TestPki *signer = nullptr)
	{
		tdx::Quote q = sample;
		Bytes rd = digest(DigestAlgorithm::Sha512, { nonce, point }).value();
		std::copy(rd.begin(), rd.end(), q.body.reportData.begin());
		if (edit)
			edit(q);
		return tt::signWith(signer ? *signer : pki, q);
	}

	Answer postQuote(const std::string &vm, const std::string &launchId, ByteView quote, ByteView point)
	{
		std::string body = text(tdxQuoteRequestToJson(TdxQuoteRequest{ Bytes(quote.begin(), quote.end()),
									       Bytes(point.begin(), point.end()) }));
		return send(*host, "POST", "/v1/vm/" + vm + "/launch/" + launchId + "/quote", body);
	}
};

} // namespace

TEST_CASE("a TD with the registered measurements gets its secret, wrapped to its own key")
{
	Fixture f;
	Answer reg = f.registerVm("td1", f.reference());
	INFO(reg.code);
	REQUIRE(reg.status == 201);
	VmInfo info = parseVmInfo(reg.obj()).value();
	CHECK(info.scheme == Scheme::IntelTdx);
	REQUIRE(info.tdx.mrtd.size() == 1);
	CHECK(info.tdx.mrtd[0] == f.sample.body.mrTd);
	CHECK(*info.tdx.mrConfigId == f.sample.body.mrConfigId);

	Td td;
	TdxLaunchResponse l = f.launch("td1");
	CHECK(l.nonce.size() == 32);
	CHECK(l.expiresAt == tt::kTestNow + 600);
	Answer ok = f.postQuote("td1", l.launchId, f.quoteFor(l.nonce, td.point), td.point);
	INFO(ok.code);
	REQUIRE(ok.status == 200);
	TdxQuoteResponse r = parseTdxQuoteResponse(ok.obj()).value();
	REQUIRE(r.hasSecret);
	// The TD opens it: GUID || u32 LE length || bytes.
	SecureBuffer table = unwrapTdxSecrets(td.key.get(), l.nonce, l.launchId, r.secrets).value();
	REQUIRE(table.size() == 20 + kSecret.size());
	CHECK(Guid::fromBytes(table.view().first(16)) == luksKeyGuid());
	CHECK(loadLe32(table.view(), 16) == kSecret.size());
	CHECK(asString(table.view().subspan(20)) == kSecret);
	// Nobody else does: another key, another launch id, another nonce.
	Td other;
	CHECK_FALSE(unwrapTdxSecrets(other.key.get(), l.nonce, l.launchId, r.secrets).ok());
	CHECK_FALSE(unwrapTdxSecrets(td.key.get(), l.nonce, "another-launch", r.secrets).ok());
	CHECK_FALSE(unwrapTdxSecrets(td.key.get(), Bytes(32, 0), l.launchId, r.secrets).ok());

	// Single use.
	Answer again = f.postQuote("td1", l.launchId, f.quoteFor(l.nonce, td.point), td.point);
	CHECK(again.status == 409);
	CHECK(again.code == code::kLaunchAlreadyValidated);

	Answer audit = send(*f.owner, "GET", "/v1/vm/td1/launches", "");
	REQUIRE(audit.status == 200);
	AuditTrail trail = parseAuditTrail(audit.obj()).value();
	REQUIRE(trail.launches.size() == 1);
	CHECK(trail.launches[0].state == "validated");
	bool released = false;
	for (const auto &e : trail.events)
		released |= e.event == "validate" && e.result == "ok";
	CHECK(released);
}

TEST_CASE("the TDX launch tells the host the registered launch configuration, and nothing else")
{
	Fixture f;
	tdx::ReferenceValues ref = f.reference();
	tdx::Sha384Digest owner{};
	owner.fill(0x0e);
	ref.mrOwner = owner;
	ref.xfam = 0xe7;
	REQUIRE(f.registerVm("td-config", ref).status == 201);

	Answer raw = send(*f.host, "POST", "/v1/vm/td-config/tdx/launch", "{}");
	REQUIRE(raw.status == 201);
	JsonObject *config = json_object_get_object_member(raw.obj(), "launch-config");
	REQUIRE(config);
	// The KVM_TDX_INIT_VM inputs only: no MRTD, RTMR or XFAM for the host.
	std::vector<std::string> members;
	GList *names = json_object_get_members(config);
	for (GList *i = names; i; i = i->next)
		members.push_back(static_cast<const char *>(i->data));
	g_list_free(names);
	std::sort(members.begin(), members.end());
	CHECK(members == std::vector<std::string>{ "tdx.mrconfigid", "tdx.mrowner", "tdx.td-attributes" });

	// The host's client reads it back as the registered values.
	ClientOptions o;
	o.baseUrl = f.daemon->url();
	o.timeoutSeconds = 10;
	o.token = SecureBuffer(asBytes(test::kHostToken));
	auto client = Client::create(std::move(o)).value();
	TdxLaunchResponse l = client->tdxLaunch("td-config").value();
	CHECK(l.launchConfig.mrConfigId == ref.mrConfigId);
	CHECK(l.launchConfig.mrOwner == owner);
	CHECK(l.launchConfig.tdAttributes == ref.tdAttributes);
	CHECK_FALSE(l.launchConfig.mrOwnerConfig);
	CHECK(l.launchConfig.mrtd.empty());
	CHECK_FALSE(l.launchConfig.xfam);
	CHECK(l.nonce.size() == kTdxNonceSize);

	// The client reports the AS's refusal with its code.
	auto sev = client->tdxLaunch("no-such-vm");
	REQUIRE_FALSE(sev.ok());
	CHECK(sev.error().tag() == code::kVmNotFound);
}

TEST_CASE("every appraisal failure is named and burns the launch")
{
	Fixture f;
	REQUIRE(f.registerVm("td2", f.reference(), 100).status == 201);
	Td td, host;
	tt::TestPki rogue = tt::makeTestPki();
	struct Case {
		const char *name;
		const char *code;
		std::function<Bytes(const TdxLaunchResponse &)> quote;
		bool hostKey = false; // post the host's key instead of the TD's
	};
	std::vector<Case> cases = {
		{ "another nonce", "nonce-mismatch", [&](auto &) { return f.quoteFor(Bytes(32, 7), td.point); } },
		{ "the host swaps in its own key", "nonce-mismatch", [&](auto &l) { return f.quoteFor(l.nonce, td.point); },
		  true },
		{ "another firmware", "measurement-mismatch",
		  [&](auto &l) { return f.quoteFor(l.nonce, td.point, [](tdx::Quote &q) { q.body.mrTd[0] ^= 1; }); } },
		{ "another RTMR0", "measurement-mismatch",
		  [&](auto &l) { return f.quoteFor(l.nonce, td.point, [](tdx::Quote &q) { q.body.rtmr[0][47] ^= 1; }); } },
		{ "another MRCONFIGID", "config-mismatch",
		  [&](auto &l) { return f.quoteFor(l.nonce, td.point, [](tdx::Quote &q) { q.body.mrConfigId[3] ^= 1; }); } },
		{ "a debug TD", "policy-mismatch",
		  [&](auto &l) {
			  return f.quoteFor(l.nonce, td.point, [](tdx::Quote &q) { q.body.tdAttributes |= tdx::tdattr::kDebug; });
		  } },
		{ "a PCK chain to another root", "quote-invalid",
		  [&](auto &l) { return f.quoteFor(l.nonce, td.point, {}, &rogue); } },
		{ "a tampered body", "quote-invalid",
		  [&](auto &l) {
			  Bytes q = f.quoteFor(l.nonce, td.point);
			  q[48 + 200] ^= 1; // inside the TD report body, after signing
			  return q;
		  } },
		{ "not a quote", "quote-invalid", [&](auto &) { return Bytes(600, 0x42); } },
	};
	for (const auto &c : cases) {
		INFO(c.name);
		TdxLaunchResponse l = f.launch("td2");
		Bytes q = c.quote(l);
		Answer a = f.postQuote("td2", l.launchId, q, c.hostKey ? host.point : td.point);
		CHECK(a.status == 422);
		CHECK(a.code == c.code);
		// Burnt: the right quote is refused afterwards.
		Answer retry = f.postQuote("td2", l.launchId, f.quoteFor(l.nonce, td.point), td.point);
		CHECK(retry.status == 409);
	}
	Answer audit = send(*f.owner, "GET", "/v1/vm/td2/launches", "");
	AuditTrail trail = parseAuditTrail(audit.obj()).value();
	size_t rejected = 0;
	for (const auto &l : trail.launches)
		rejected += l.state == "rejected";
	CHECK(rejected == cases.size());
}

TEST_CASE("intel-tdx registrations: bounds, expiry, schemes and bad bodies")
{
	Fixture f;
	REQUIRE(f.registerVm("td3", f.reference(), 1).status == 201);
	Td td;
	TdxLaunchResponse l = f.launch("td3");
	Answer second = send(*f.host, "POST", "/v1/vm/td3/tdx/launch", "");
	CHECK(second.status == 409);
	CHECK(second.code == code::kLaunchLimitReached);

	f.now += 601;
	Answer late = f.postQuote("td3", l.launchId, f.quoteFor(l.nonce, td.point), td.point);
	CHECK(late.status == 410);
	CHECK(late.code == code::kLaunchExpired);
	TdxLaunchResponse fresh = f.launch("td3"); // the expired one no longer counts
	f.now = tt::kTestNow;                      // the test certificates' validity
	CHECK(f.postQuote("td3", fresh.launchId, f.quoteFor(fresh.nonce, td.point), td.point).status == 200);

	// The SEV endpoints refuse an intel-tdx VM and the other way round.
	Answer sevLaunch = send(*f.host, "POST", "/v1/vm/td3/launch", R"({"pdh":"AAAA","cert-chain":"AAAA"})");
	CHECK(sevLaunch.status == 422);
	CHECK(sevLaunch.code == code::kUnsupportedScheme);
	Registration sev;
	sev.scheme = Scheme::AmdSev;
	sev.sev.policy = 1;
	sev.sev.launchDigests = { Bytes(32, 1) };
	REQUIRE(send(*f.owner, "PUT", "/v1/vm/sev1", asString(registrationToJson(sev).view())).status == 201);
	Answer tdxOnSev = send(*f.host, "POST", "/v1/vm/sev1/tdx/launch", "{}");
	CHECK(tdxOnSev.status == 422);
	CHECK(tdxOnSev.code == code::kUnsupportedScheme);

	// Registrations without an MRTD, with unknown members, with a bad document.
	CHECK(f.registerVm("td4", tdx::ReferenceValues{}).status == 400);
	CHECK(send(*f.owner, "PUT", "/v1/vm/td4",
		   R"({"scheme":"intel-tdx","tdx-reference":{"tdx.mrtd":")" + std::string(96, 'a') +
			   R"("},"policy":1})")
		      .status == 400);
	CHECK(send(*f.owner, "PUT", "/v1/vm/td4", R"({"scheme":"intel-tdx","tdx-reference":{"tdx.mrdt":"00"}})").status ==
	      400);
	// A whole reference document (cvm-launch tdx reference --json) is accepted.
	tdx::ReferenceDocument doc;
	doc.values = f.reference();
	doc.tool = "cvm-launch test";
	std::string body = R"({"scheme":"intel-tdx","tdx-reference":)" + text(tdx::referenceDocumentToJson(doc)) + "}";
	CHECK(send(*f.owner, "PUT", "/v1/vm/td5", body).status == 201);

	// Bad quote bodies.
	TdxLaunchResponse l5 = f.launch("td5");
	std::string path = "/v1/vm/td5/launch/" + l5.launchId + "/quote";
	CHECK(send(*f.host, "POST", path, R"({"quote":"AAAA"})").status == 400);
	CHECK(send(*f.host, "POST", path, R"({"quote":"AAAA","tee-public-key":"AAAA"})").status == 400);
	CHECK(send(*f.host, "POST", "/v1/vm/td5/tdx/launch", R"({"x":1})").status == 400);
	CHECK(send(*f.host, "POST", "/v1/vm/td5/launch/nope/quote",
		   text(tdxQuoteRequestToJson(TdxQuoteRequest{ Bytes(10, 1), td.point })))
		      .status == 404);
}
