// SPDX-License-Identifier: Apache-2.0
//
// JSON over json-glib: parsing with size limits, typed member access with
// messages that say which member is wrong and why, and a small object builder.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cvm/common/bytes.h"
#include "cvm/common/error.h"
#include "cvm/common/gptr.h"

namespace cvm::json {

// Parses one JSON document. Errors name the position json-glib reports.
Result<JsonNodePtr> parse(std::string_view text);
// Parses and requires a top-level object.
Result<JsonNodePtr> parseObject(std::string_view text);

std::string serialize(JsonNode *node, bool pretty = false);
std::string serialize(JsonObject *object, bool pretty = false);

// Typed member access. The messages read "member 'data' must be a string",
// "member 'policy' is missing", "member 'id' must be an integer in [0, 255]".
Result<std::string> getString(JsonObject *obj, std::string_view member);
Result<std::optional<std::string>> getOptionalString(JsonObject *obj, std::string_view member);
Result<int64_t> getInt(JsonObject *obj, std::string_view member);
Result<int64_t> getIntInRange(JsonObject *obj, std::string_view member, int64_t min, int64_t max);
Result<std::optional<int64_t>> getOptionalInt(JsonObject *obj, std::string_view member);
Result<bool> getBool(JsonObject *obj, std::string_view member);
Result<std::optional<bool>> getOptionalBool(JsonObject *obj, std::string_view member);
Result<JsonObject *> getObject(JsonObject *obj, std::string_view member);
Result<JsonArray *> getArray(JsonObject *obj, std::string_view member);
Result<JsonNode *> getMember(JsonObject *obj, std::string_view member);
// A string member holding base64 / hex.
Result<Bytes> getBase64(JsonObject *obj, std::string_view member);
Result<Bytes> getHex(JsonObject *obj, std::string_view member);

// Node → string/int when the node is an array element.
Result<std::string> nodeString(JsonNode *node, std::string_view what);
Result<int64_t> nodeInt(JsonNode *node, std::string_view what);

// Builds a JSON object member by member.
class ObjectBuilder
{
public:
	ObjectBuilder();

	ObjectBuilder &setString(std::string_view name, std::string_view value);
	ObjectBuilder &setInt(std::string_view name, int64_t value);
	ObjectBuilder &setDouble(std::string_view name, double value);
	ObjectBuilder &setBool(std::string_view name, bool value);
	ObjectBuilder &setNull(std::string_view name);
	ObjectBuilder &setBase64(std::string_view name, ByteView value);
	ObjectBuilder &setHex(std::string_view name, ByteView value);
	// Takes ownership of the node.
	ObjectBuilder &setNode(std::string_view name, JsonNodePtr node);
	ObjectBuilder &setObject(std::string_view name, ObjectBuilder &&child);

	JsonObject *object() const { return object_.get(); }
	JsonNodePtr build();
	std::string serialize(bool pretty = false) const;

private:
	JsonObjectPtr object_;
};

JsonNodePtr stringNode(std::string_view value);
JsonNodePtr intNode(int64_t value);

} // namespace cvm::json
