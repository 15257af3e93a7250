// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "cvm/attest/errors.h"
#include "cvm/attest/protocol.h"
#include "cvm/common/json.h"

using namespace cvm;
using namespace cvm::attest;

namespace {

const std::string kDigest(64, 'a');

Result<Registration> registration(const std::string &text)
{
	auto node = json::parseObject(text);
	if (!node)
		return node.error();
	return parseRegistration(json_node_get_object(node->get()));
}

std::string errorOf(const std::string &text)
{
	auto r = registration(text);
	REQUIRE_FALSE(r.ok());
	return r.error().message();
}

} // namespace

TEST_CASE("a full registration parses and round-trips through JSON")
{
	auto r = registration(R"({"scheme":"amd-sev-es","policy":5,"launch-digests":[")" + kDigest +
			      R"("],"min-api":"0.17","build-ids":[5,7],"cpu-count":4,"oca-pin":")" + std::string(64, 'b') +
			      R"(","secrets":{"luks-key":"c2VjcmV0","1e74f542-71dd-4d66-963e-ef4287ff173b":"eA=="},)"
			      R"("max-concurrent-launches":3,"expires":"2030-01-01T00:00:00Z"})");
	REQUIRE(r.ok());
	CHECK(r->scheme == Scheme::AmdSevEs);
	CHECK(r->sev.policy == 5);
	CHECK(r->sev.minApi == ApiVersion{ 0, 17 });
	CHECK(r->sev.buildIds == std::vector<uint8_t>{ 5, 7 });
	CHECK(r->sev.cpuCount == 4u);
	REQUIRE(r->secrets.size() == 2);
	bool sawLuks = false;
	for (const auto &s : r->secrets)
		if (s.guid == luksKeyGuid()) {
			sawLuks = true;
			CHECK(asString(s.data.view()) == "secret");
		}
	CHECK(sawLuks);
	CHECK(r->maxConcurrentLaunches == 3);
	CHECK(r->expiresAt == int64_t(1893456000)); // date -d 2030-01-01Z +%s

	// What the client sends is what the server reads.
	SecureBuffer text = registrationToJson(*r);
	auto again = registration(std::string(asString(text.view())));
	REQUIRE(again.ok());
	CHECK(again->sev.launchDigests == r->sev.launchDigests);
	CHECK(again->sev.ocaPin == r->sev.ocaPin);
	CHECK(again->secrets.size() == 2);
	CHECK(again->expiresAt == r->expiresAt);
	CHECK(again->maxConcurrentLaunches == 3);
}

TEST_CASE("registration parsing names what is wrong")
{
	CHECK(errorOf(R"({"scheme":"amd-sev","policy":1,"launch-digests":[")" + kDigest + R"("],"max-launches":2})") ==
	      "unknown member 'max-launches'");
	CHECK(errorOf(R"({"scheme":"amd-snp","policy":1,"launch-digests":[")" + kDigest + R"("]})")
		      .find("unknown scheme 'amd-snp'") != std::string::npos);
	CHECK(errorOf(R"({"scheme":"amd-sev","policy":"1","launch-digests":[")" + kDigest + R"("]})") ==
	      "member 'policy' must be an integer in [0, 4294967295]");
	CHECK(errorOf(R"({"scheme":"amd-sev","policy":1,"launch-digests":[]})")
		      .find("must hold 1 to") != std::string::npos);
	CHECK(errorOf(R"({"scheme":"amd-sev","policy":1,"launch-digests":["abcd"]})") ==
	      "launch-digests[0] must be 64 hex digits (a SHA-256 launch digest)");
	CHECK(errorOf(R"({"scheme":"amd-sev","policy":4,"launch-digests":[")" + kDigest + R"("]})")
		      .find("amd-sev-es") != std::string::npos);
	CHECK(errorOf(R"({"scheme":"amd-sev-es","policy":1,"launch-digests":[")" + kDigest + R"("]})")
		      .find("bit 2") != std::string::npos);
	CHECK(errorOf(R"({"scheme":"amd-sev","policy":1,"launch-digests":[")" + kDigest +
		      R"("],"secrets":{"luks-key":"eA==","736869e5-84f0-4973-92ec-06879ce3da0b":"eQ=="}})")
		      .find("twice") != std::string::npos);
	CHECK(errorOf(R"({"scheme":"amd-sev","policy":1,"launch-digests":[")" + kDigest +
		      R"("],"secrets":{"disk":"eA=="}})")
		      .find("neither 'luks-key' nor a GUID") != std::string::npos);
	CHECK(errorOf(R"({"scheme":"amd-sev","policy":1,"launch-digests":[")" + kDigest +
		      R"("],"secrets":{"luks-key":""}})")
		      .find("is empty") != std::string::npos);
	CHECK(errorOf(R"({"scheme":"amd-sev","policy":1,"launch-digests":[")" + kDigest +
		      R"("],"min-api":"1"})")
		      .find("MAJOR.MINOR") != std::string::npos);
	CHECK(errorOf(R"({"scheme":"amd-sev","policy":1,"launch-digests":[")" + kDigest +
		      R"("],"max-concurrent-launches":0})") ==
	      "member 'max-concurrent-launches' must be an integer in [1, 1000000]");
	CHECK(errorOf(R"({"scheme":"amd-sev","policy":1,"launch-digests":[")" + kDigest +
		      R"("],"expires":"tomorrow"})")
		      .find("RFC 3339") != std::string::npos);
	// A secret table that would not fit the firmware's bound.
	std::string big = toBase64(Bytes(kMaxSecretsTotal, 0x41));
	CHECK(errorOf(R"({"scheme":"amd-sev","policy":1,"launch-digests":[")" + kDigest +
		      R"("],"secrets":{"luks-key":")" + big + R"("}})")
		      .find("secret table limit") != std::string::npos);
}

TEST_CASE("launch and validate requests are checked member by member")
{
	auto parse = [](auto fn, const std::string &text) {
		auto node = json::parseObject(text);
		REQUIRE(node.ok());
		return fn(json_node_get_object(node->get()));
	};
	auto launch = parse(parseLaunchRequest, R"({"pdh":"AAEC","cert-chain":"AwQF","cpu-id":"Bgc="})");
	REQUIRE(launch.ok());
	CHECK(launch->pdh == Bytes{ 0, 1, 2 });
	CHECK(launch->cpuId == Bytes{ 6, 7 });
	CHECK_FALSE(parse(parseLaunchRequest, R"({"pdh":"AAEC"})").ok());
	CHECK(parse(parseLaunchRequest, R"({"pdh":"!!","cert-chain":"AwQF"})").error().message().find("pdh") !=
	      std::string::npos);

	std::string m48 = toBase64(Bytes(48, 1));
	auto v = parse(parseValidateRequest, R"({"api-major":0,"api-minor":24,"build-id":15,"policy":1,"measurement":")" +
						     m48 + "\"}");
	REQUIRE(v.ok());
	CHECK(v->apiMinor == 24);
	CHECK(v->measurement.size() == 48);
	auto shortM = parse(parseValidateRequest,
			    R"({"api-major":0,"api-minor":24,"build-id":15,"policy":1,"measurement":"AAAA"})");
	REQUIRE_FALSE(shortM.ok());
	CHECK(shortM.error().message() == "member 'measurement' must decode to 48 bytes, not 3");
	CHECK_FALSE(parse(parseValidateRequest, R"({"api-major":256,"api-minor":0,"build-id":0,"policy":1,"measurement":")" +
							m48 + "\"}")
			    .ok());
	CHECK(parse(parseEndRequest, R"({"reason":"guest shut down"})")->reason == "guest shut down");
	CHECK_FALSE(parse(parseEndRequest, R"({"why":"x"})").ok());
}

TEST_CASE("responses round-trip and tolerate members they do not know")
{
	LaunchResponse lr{ "0d7c9d52-0a5b-4d1e-9f3e-1b2c3d4e5f60", Bytes(128, 3), Bytes(2084, 4), 1, 1893456000 };
	JsonNodePtr node = launchResponseToJson(lr);
	json_object_set_string_member(json_node_get_object(node.get()), "future-member", "x");
	auto back = parseLaunchResponse(json_node_get_object(node.get()));
	REQUIRE(back.ok());
	CHECK(back->launchId == lr.launchId);
	CHECK(back->session == lr.session);
	CHECK(back->ownerCert == lr.ownerCert);
	CHECK(back->expiresAt == lr.expiresAt);

	ValidateResponse vr;
	vr.hasSecret = true;
	vr.secretHeader = SecureBuffer(ByteView(Bytes(52, 9)));
	vr.secretPayload = SecureBuffer(ByteView(Bytes(64, 8)));
	JsonNodePtr vn = validateResponseToJson(vr);
	auto vback = parseValidateResponse(json_node_get_object(vn.get()));
	REQUIRE(vback.ok());
	CHECK(vback->hasSecret);
	CHECK(Bytes(vback->secretPayload.view().begin(), vback->secretPayload.view().end()) == Bytes(64, 8));

	AuditTrail t;
	t.vmId = "vm";
	t.launches.push_back({ "l1", "rejected", 10, 20, 15, "abcd" });
	t.events.push_back({ 1, 10, "l1", "validate", "measurement-mismatch", "no match", R"({"policy":1})",
			     R"({"launch-digests":[]})" });
	JsonNodePtr tn = auditTrailToJson(t);
	auto tback = parseAuditTrail(json_node_get_object(tn.get()));
	REQUIRE(tback.ok());
	REQUIRE(tback->events.size() == 1);
	CHECK(tback->events[0].result == "measurement-mismatch");
	CHECK(tback->events[0].reported == R"({"policy":1})");
	CHECK(tback->launches[0].finished == int64_t(15));
}

TEST_CASE("error codes map to statuses and back")
{
	CHECK(httpStatusForCode(code::kMeasurementMismatch) == 422);
	CHECK(httpStatusForCode(code::kLaunchAlreadyValidated) == 409);
	CHECK(httpStatusForCode(code::kLaunchLimitReached) == 409);
	CHECK(httpStatusForCode(code::kLaunchExpired) == 410);
	CHECK(httpStatusForCode(code::kBodyTooLarge) == 400);
	CHECK(httpStatusForCode("no-such-code") == 500);
	Error e = asError(code::kVmNotFound, "gone");
	CHECK(e.code() == ErrorCode::NotFound);
	CHECK(httpStatusForError(e) == 404);
	CHECK(asCodeForError(Error(ErrorCode::InvalidData, "x")) == "invalid-request");
	CHECK(errorCodeForHttpStatus(422) == ErrorCode::VerificationFailed);
	CHECK(errorCodeForHttpStatus(410) == ErrorCode::Expired);
}

TEST_CASE("ids, versions and times")
{
	CHECK(isValidId("0d7c9d52-0a5b-4d1e-9f3e-1b2c3d4e5f60"));
	CHECK_FALSE(isValidId(""));
	CHECK_FALSE(isValidId(".."));
	CHECK_FALSE(isValidId("a/b"));
	CHECK_FALSE(isValidId("a%2fb"));
	CHECK_FALSE(isValidId(std::string(129, 'a')));
	CHECK(ApiVersion::parse("1.51")->minor == 51);
	CHECK_FALSE(ApiVersion::parse("1.256").ok());
	CHECK_FALSE(ApiVersion::parse(".1").ok());
	CHECK(ApiVersion{ 0, 24 } > ApiVersion{ 0, 17 });
	CHECK(ApiVersion{ 1, 0 } > ApiVersion{ 0, 255 });
	CHECK(formatTime(0) == "1970-01-01T00:00:00Z");
	CHECK(*parseTime("2030-01-01T01:00:00+01:00") == 1893456000);
	CHECK_FALSE(parseTime("2030-01-01").ok());
	// Found by fuzzing: a year before 1970 did not survive formatting.
	CHECK_FALSE(parseTime("0515-01-01T00:00:00Z").ok());
	CHECK(*parseTime("9999-12-31T23:59:59Z") == 253402300799);
	CHECK(formatTime(253402300799) == "9999-12-31T23:59:59Z");
}
