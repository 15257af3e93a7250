// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <thread>

#include "cvm/common/json.h"

using namespace cvm;

TEST_CASE("typed members give clear errors")
{
	auto node = json::parseObject(R"({"data": "aGk=", "n": 5, "b": true, "o": {}, "s": 1.5})");
	REQUIRE(node.ok());
	JsonObject *o = json_node_get_object(node->get());

	auto data = json::getBase64(o, "data");
	REQUIRE(data.ok());
	CHECK(asString(*data) == "hi");

	auto n = json::getString(o, "n");
	REQUIRE_FALSE(n.ok());
	CHECK(n.error().message() == "member 'n' must be a string");

	auto missing = json::getInt(o, "nope");
	REQUIRE_FALSE(missing.ok());
	CHECK(missing.error().message() == "member 'nope' is missing");

	CHECK(*json::getInt(o, "n") == 5);
	CHECK_FALSE(json::getInt(o, "s").ok()); // a double is not an integer
	CHECK(*json::getBool(o, "b"));
	CHECK(json::getObject(o, "o").ok());
	CHECK_FALSE(json::getArray(o, "o").ok());
	CHECK_FALSE(json::getIntInRange(o, "n", 0, 4).ok());
	CHECK(json::getOptionalString(o, "absent")->has_value() == false);
}

TEST_CASE("parse rejects garbage, non-objects and hostile nesting")
{
	CHECK_FALSE(json::parse("{").ok());
	CHECK_FALSE(json::parseObject("[1,2]").ok());
	std::string deep(100000, '[');
	auto r = json::parse(deep);
	REQUIRE_FALSE(r.ok());
	CHECK(r.error().message().find("nested deeper") != std::string::npos);
	// Brackets inside strings do not count.
	std::string s = "{\"a\": \"" + std::string(2000, '[') + "\"}";
	CHECK(json::parse(s).ok());
}

TEST_CASE("builder round trip")
{
	json::ObjectBuilder b;
	b.setString("execute", "query-status").setInt("id", 7).setBool("x", false);
	json::ObjectBuilder args;
	args.setBase64("secret", asBytes("abc"));
	b.setObject("arguments", std::move(args));
	auto back = json::parseObject(b.serialize());
	REQUIRE(back.ok());
	JsonObject *o = json_node_get_object(back->get());
	CHECK(*json::getString(o, "execute") == "query-status");
	CHECK(*json::getInt(o, "id") == 7);
	JsonObject *a = *json::getObject(o, "arguments");
	CHECK(asString(*json::getBase64(a, "secret")) == "abc");
}

TEST_CASE("parse and serialize keep no state between calls (a parser and a generator are reused per thread)")
{
	auto a = json::parse(R"({"a": [1, 2, {"b": "c"}]})");
	auto bad = json::parse(R"({"a": )");
	auto b = json::parse(R"("just a string")");
	REQUIRE(a.ok());
	REQUIRE_FALSE(bad.ok());
	REQUIRE(b.ok());
	// Earlier results stay valid after later parses (and a failed one).
	CHECK(json::serialize(a->get()) == R"({"a":[1,2,{"b":"c"}]})");
	CHECK(json::serialize(b->get()) == R"("just a string")");
	// Pretty and compact alternate freely.
	CHECK(json::serialize(a->get(), true) == "{\n  \"a\" : [\n    1,\n    2,\n    {\n      \"b\" : \"c\"\n    }\n  ]\n}");
	CHECK(json::serialize(a->get()) == R"({"a":[1,2,{"b":"c"}]})");
	CHECK(json::serialize(static_cast<JsonNode *>(nullptr)).empty());
	// A long document (its own parser) and a short one after it.
	std::string big = "[\"" + std::string(100 * 1024, 'x') + "\"]";
	auto large = json::parse(big);
	REQUIRE(large.ok());
	auto small = json::parse("[1]");
	REQUIRE(small.ok());
	CHECK(json::serialize(large->get()) == big);
	CHECK(json::serialize(small->get()) == "[1]");
	// Other threads have their own.
	std::string fromThread;
	std::thread t([&] { fromThread = json::serialize(json::parse(R"({"t": 1})")->get()); });
	t.join();
	CHECK(fromThread == R"({"t":1})");
	CHECK(json::serialize(a->get()) == R"({"a":[1,2,{"b":"c"}]})");
}
