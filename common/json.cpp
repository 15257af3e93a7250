// SPDX-License-Identifier: Apache-2.0
#include "cvm/common/json.h"

#include <limits>

namespace cvm::json {

namespace {

std::string quoted(std::string_view member)
{
	return "member '" + std::string(member) + "'";
}

Error typeError(std::string_view member, const char *expected)
{
	return Error(ErrorCode::InvalidData, quoted(member) + " must be " + expected);
}

Error missing(std::string_view member)
{
	return Error(ErrorCode::InvalidData, quoted(member) + " is missing");
}

bool isInteger(JsonNode *node)
{
	return JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == G_TYPE_INT64;
}

JsonNode *lookup(JsonObject *obj, std::string_view member)
{
	std::string name(member);
	return obj ? json_object_get_member(obj, name.c_str()) : nullptr;
}

// json-glib's parser recurses per nesting level: refuse hostile depth before
// handing the text over (QEMU's own streamer caps nesting at 1024).
constexpr int kMaxDepth = 512;

bool nestingWithinLimit(std::string_view text)
{
	int depth = 0;
	bool inString = false, escaped = false;
	for (char c : text) {
		if (inString) {
			if (escaped)
				escaped = false;
			else if (c == '\\')
				escaped = true;
			else if (c == '"')
				inString = false;
			continue;
		}
		if (c == '"')
			inString = true;
		else if (c == '{' || c == '[') {
			if (++depth > kMaxDepth)
				return false;
		} else if (c == '}' || c == ']')
			--depth;
	}
	return true;
}

// json-glib's parser and generator are GObjects (with signals): making one
// costs about a third of parsing a short message, which is what QMP is made
// of. Each thread keeps one of each for short documents; the parser then
// holds the last short document it parsed until the next parse (freed memory
// is not wiped either, so that changes nothing for secrets). Long documents
// get a parser of their own, so nothing large is kept.
constexpr size_t kReuseParserUpTo = 64 * 1024;

JsonParser *threadParser()
{
	thread_local GObjectPtr<JsonParser> parser(json_parser_new_immutable());
	return parser.get();
}

JsonGenerator *threadGenerator()
{
	thread_local GObjectPtr<JsonGenerator> generator(json_generator_new());
	return generator.get();
}

} // namespace

Result<JsonNodePtr> parse(std::string_view text)
{
	if (!nestingWithinLimit(text))
		return Error(ErrorCode::InvalidData,
			     "invalid JSON: nested deeper than " + std::to_string(kMaxDepth) + " levels");
	if (text.empty())
		return Error(ErrorCode::InvalidData, "invalid JSON: empty document");
	GObjectPtr<JsonParser> own;
	if (text.size() > kReuseParserUpTo)
		own.reset(json_parser_new_immutable());
	JsonParser *parser = own ? own.get() : threadParser();
	GError *raw = nullptr;
	if (!json_parser_load_from_data(parser, text.data(), static_cast<gssize>(text.size()), &raw)) {
		GErrorPtr err(raw);
		return Error(ErrorCode::InvalidData,
			     std::string("invalid JSON: ") + (err ? err->message : "parse failed"));
	}
	JsonNode *root = json_parser_get_root(parser);
	if (!root)
		return Error(ErrorCode::InvalidData, "invalid JSON: empty document");
	return JsonNodePtr(json_node_ref(root));
}

Result<JsonNodePtr> parseObject(std::string_view text)
{
	JsonNodePtr node = CVM_TRY(parse(text));
	if (!JSON_NODE_HOLDS_OBJECT(node.get()))
		return Error(ErrorCode::InvalidData, "JSON document must be an object");
	return node;
}

std::string serialize(JsonNode *node, bool pretty)
{
	if (!node)
		return {};
	JsonGenerator *generator = threadGenerator();
	json_generator_set_pretty(generator, pretty);
	json_generator_set_root(generator, node);
	GCharPtr text(json_generator_to_data(generator, nullptr));
	json_generator_set_root(generator, nullptr); // holds no reference to it afterwards
	return text ? std::string(text.get()) : std::string();
}

std::string serialize(JsonObject *object, bool pretty)
{
	JsonNodePtr node(json_node_new(JSON_NODE_OBJECT));
	json_node_set_object(node.get(), object);
	return serialize(node.get(), pretty);
}

Result<JsonNode *> getMember(JsonObject *obj, std::string_view member)
{
	JsonNode *node = lookup(obj, member);
	if (!node)
		return missing(member);
	return node;
}

Result<std::string> getString(JsonObject *obj, std::string_view member)
{
	JsonNode *node = CVM_TRY(getMember(obj, member));
	if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING)
		return typeError(member, "a string");
	return std::string(json_node_get_string(node));
}

Result<std::optional<std::string>> getOptionalString(JsonObject *obj, std::string_view member)
{
	JsonNode *node = lookup(obj, member);
	if (!node || JSON_NODE_HOLDS_NULL(node))
		return std::optional<std::string>();
	return std::optional<std::string>(CVM_TRY(getString(obj, member)));
}

Result<int64_t> getInt(JsonObject *obj, std::string_view member)
{
	JsonNode *node = CVM_TRY(getMember(obj, member));
	if (!isInteger(node))
		return typeError(member, "an integer");
	return static_cast<int64_t>(json_node_get_int(node));
}

Result<int64_t> getIntInRange(JsonObject *obj, std::string_view member, int64_t min, int64_t max)
{
	JsonNode *node = CVM_TRY(getMember(obj, member));
	int64_t v = isInteger(node) ? json_node_get_int(node) : 0;
	if (!isInteger(node) || v < min || v > max)
		return typeError(member, ("an integer in [" + std::to_string(min) + ", " +
					  std::to_string(max) + "]").c_str());
	return v;
}

Result<std::optional<int64_t>> getOptionalInt(JsonObject *obj, std::string_view member)
{
	JsonNode *node = lookup(obj, member);
	if (!node || JSON_NODE_HOLDS_NULL(node))
		return std::optional<int64_t>();
	return std::optional<int64_t>(CVM_TRY(getInt(obj, member)));
}

Result<bool> getBool(JsonObject *obj, std::string_view member)
{
	JsonNode *node = CVM_TRY(getMember(obj, member));
	if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_BOOLEAN)
		return typeError(member, "a boolean");
	return static_cast<bool>(json_node_get_boolean(node));
}

Result<std::optional<bool>> getOptionalBool(JsonObject *obj, std::string_view member)
{
	JsonNode *node = lookup(obj, member);
	if (!node || JSON_NODE_HOLDS_NULL(node))
		return std::optional<bool>();
	return std::optional<bool>(CVM_TRY(getBool(obj, member)));
}

Result<JsonObject *> getObject(JsonObject *obj, std::string_view member)
{
	JsonNode *node = CVM_TRY(getMember(obj, member));
	if (!JSON_NODE_HOLDS_OBJECT(node))
		return typeError(member, "an object");
	return json_node_get_object(node);
}

Result<JsonArray *> getArray(JsonObject *obj, std::string_view member)
{
	JsonNode *node = CVM_TRY(getMember(obj, member));
	if (!JSON_NODE_HOLDS_ARRAY(node))
		return typeError(member, "an array");
	return json_node_get_array(node);
}

Result<Bytes> getBase64(JsonObject *obj, std::string_view member)
{
	std::string text = CVM_TRY(getString(obj, member));
	auto bytes = fromBase64(text);
	if (!bytes)
		return Error(ErrorCode::InvalidData, quoted(member) + " must be base64: " + bytes.error().message());
	return std::move(bytes).value();
}

Result<Bytes> getHex(JsonObject *obj, std::string_view member)
{
	std::string text = CVM_TRY(getString(obj, member));
	auto bytes = fromHex(text);
	if (!bytes)
		return Error(ErrorCode::InvalidData, quoted(member) + " must be hex: " + bytes.error().message());
	return std::move(bytes).value();
}

Result<std::string> nodeString(JsonNode *node, std::string_view what)
{
	if (!node || !JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING)
		return Error(ErrorCode::InvalidData, std::string(what) + " must be a string");
	return std::string(json_node_get_string(node));
}

Result<int64_t> nodeInt(JsonNode *node, std::string_view what)
{
	if (!node || !isInteger(node))
		return Error(ErrorCode::InvalidData, std::string(what) + " must be an integer");
	return static_cast<int64_t>(json_node_get_int(node));
}

ObjectBuilder::ObjectBuilder() : object_(json_object_new()) {}

ObjectBuilder &ObjectBuilder::setString(std::string_view name, std::string_view value)
{
	std::string n(name), v(value);
	json_object_set_string_member(object_.get(), n.c_str(), v.c_str());
	return *this;
}

ObjectBuilder &ObjectBuilder::setInt(std::string_view name, int64_t value)
{
	std::string n(name);
	json_object_set_int_member(object_.get(), n.c_str(), value);
	return *this;
}

ObjectBuilder &ObjectBuilder::setDouble(std::string_view name, double value)
{
	std::string n(name);
	json_object_set_double_member(object_.get(), n.c_str(), value);
	return *this;
}

ObjectBuilder &ObjectBuilder::setBool(std::string_view name, bool value)
{
	std::string n(name);
	json_object_set_boolean_member(object_.get(), n.c_str(), value);
	return *this;
}

ObjectBuilder &ObjectBuilder::setNull(std::string_view name)
{
	std::string n(name);
	json_object_set_null_member(object_.get(), n.c_str());
	return *this;
}

ObjectBuilder &ObjectBuilder::setBase64(std::string_view name, ByteView value)
{
	return setString(name, toBase64(value));
}

ObjectBuilder &ObjectBuilder::setHex(std::string_view name, ByteView value)
{
	return setString(name, toHex(value));
}

ObjectBuilder &ObjectBuilder::setNode(std::string_view name, JsonNodePtr node)
{
	std::string n(name);
	json_object_set_member(object_.get(), n.c_str(), node.release());
	return *this;
}

ObjectBuilder &ObjectBuilder::setObject(std::string_view name, ObjectBuilder &&child)
{
	return setNode(name, child.build());
}

JsonNodePtr ObjectBuilder::build()
{
	JsonNodePtr node(json_node_new(JSON_NODE_OBJECT));
	json_node_set_object(node.get(), object_.get());
	object_.reset(json_object_new());
	return node;
}

std::string ObjectBuilder::serialize(bool pretty) const
{
	return json::serialize(object_.get(), pretty);
}

JsonNodePtr stringNode(std::string_view value)
{
	std::string v(value);
	JsonNodePtr node(json_node_new(JSON_NODE_VALUE));
	json_node_set_string(node.get(), v.c_str());
	return node;
}

JsonNodePtr intNode(int64_t value)
{
	JsonNodePtr node(json_node_new(JSON_NODE_VALUE));
	json_node_set_int(node.get(), value);
	return node;
}

} // namespace cvm::json
