// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-sim"

#include "cvm/sim/qmp_dispatch.h"

#include <glib.h>

#include "cvm/common/json.h"
#include "cvm/common/log.h"

namespace cvm::sim {

namespace {

GType valueType(JsonNode *node)
{
	return node && JSON_NODE_HOLDS_VALUE(node) ? json_node_get_value_type(node) : G_TYPE_INVALID;
}

Error typeError(const std::string &name, const char *expected)
{
	return qmpError("Invalid parameter type for '" + name + "', expected: " + expected);
}

Status checkOne(const ArgSpec &spec, JsonNode *node)
{
	switch (spec.type) {
	case ArgType::String:
		if (valueType(node) != G_TYPE_STRING)
			return typeError(spec.name, "string");
		break;
	case ArgType::Int:
	case ArgType::Uint64:
		if (valueType(node) != G_TYPE_INT64)
			return typeError(spec.name, "integer");
		break;
	case ArgType::Uint32:
		if (valueType(node) != G_TYPE_INT64)
			return typeError(spec.name, "integer");
		if (json_node_get_int(node) < 0 || json_node_get_int(node) > UINT32_MAX)
			return qmpError("Parameter '" + spec.name + "' expects uint32_t");
		break;
	case ArgType::Bool:
		if (valueType(node) != G_TYPE_BOOLEAN)
			return typeError(spec.name, "boolean");
		break;
	case ArgType::StringList: {
		if (!JSON_NODE_HOLDS_ARRAY(node))
			return typeError(spec.name, "array");
		JsonArray *a = json_node_get_array(node);
		for (guint i = 0; i < json_array_get_length(a); ++i)
			if (valueType(json_array_get_element(a, i)) != G_TYPE_STRING)
				return typeError(spec.name + "[" + std::to_string(i) + "]", "string");
		break;
	}
	case ArgType::Any:
		break;
	}
	return {};
}

// QEMU's JSON parser texts for the two malformations clients actually send.
std::string parseErrorText(std::string_view text)
{
	bool inString = false, escape = false;
	char quote = 0;
	for (size_t i = 0; i < text.size(); ++i) {
		char c = text[i];
		if (inString) {
			if (escape)
				escape = false;
			else if (c == '\\')
				escape = true;
			else if (c == quote)
				inString = false;
			continue;
		}
		if (c == '"' || c == '\'') {
			inString = true;
			quote = c;
			continue;
		}
		if (g_ascii_isalpha(c)) {
			size_t j = i;
			while (j < text.size() && g_ascii_isalnum(text[j]))
				++j;
			std::string_view word = text.substr(i, j - i);
			if (word != "true" && word != "false" && word != "null")
				return "JSON parse error, invalid keyword '" + std::string(word) + "'";
			i = j - 1;
		}
	}
	return "JSON parse error, expecting value";
}

// The token QEMU's lexer reports for a stray byte: inside a string, the
// string so far from its opening quote (invalid UTF-8 shown as U+FFFD).
std::string strayToken(const std::string &partial, const qmp::SplitError &e)
{
	bool inString = false, escape = false;
	char quote = 0;
	size_t start = 0;
	for (size_t i = 0; i + 1 < partial.size(); ++i) {
		char c = partial[i];
		if (inString) {
			if (escape)
				escape = false;
			else if (c == '\\')
				escape = true;
			else if (c == quote)
				inString = false;
		} else if (c == '"' || c == '\'') {
			inString = true;
			quote = c;
			start = i;
		}
	}
	if (!inString || partial.empty())
		return e.qemuStray();
	GCharPtr valid(g_utf8_make_valid(partial.data() + start, static_cast<gssize>(partial.size() - start)));
	return valid.get();
}

std::string splitErrorText(const qmp::SplitError &e, const std::string &partial)
{
	switch (e.kind) {
	case qmp::SplitErrorKind::StrayByte: return "JSON parse error, stray '" + strayToken(partial, e) + "'";
	case qmp::SplitErrorKind::TooLarge: return "JSON token size limit exceeded";
	case qmp::SplitErrorKind::TooDeep: return "JSON nesting depth limit exceeded";
	case qmp::SplitErrorKind::UnbalancedClose:
	case qmp::SplitErrorKind::Truncated: break;
	}
	return "JSON parse error, expecting value";
}

JsonNodePtr emptyObject()
{
	return json::ObjectBuilder().build();
}

} // namespace

Error qmpError(std::string desc, std::string_view errorClass)
{
	return Error(ErrorCode::Remote, std::move(desc), std::string(errorClass));
}

Status checkArguments(const std::vector<ArgSpec> &spec, JsonObject *arguments)
{
	for (const ArgSpec &a : spec) {
		JsonNode *node = arguments ? json_object_get_member(arguments, a.name.c_str()) : nullptr;
		if (!node) {
			if (!a.optional)
				return qmpError("Parameter '" + a.name + "' is missing");
			continue;
		}
		CVM_CHECK(checkOne(a, node));
	}
	if (!arguments)
		return {};
	GList *members = json_object_get_members(arguments);
	std::optional<std::string> unexpected;
	for (GList *l = members; l && !unexpected; l = l->next) {
		std::string_view key = static_cast<const char *>(l->data);
		bool known = false;
		for (const ArgSpec &a : spec)
			known = known || a.name == key;
		if (!known)
			unexpected = std::string(key);
	}
	g_list_free(members);
	if (unexpected)
		return qmpError("Parameter '" + *unexpected + "' is unexpected");
	return {};
}

void QmpDispatcher::add(QmpCommandDef def)
{
	std::string name = def.name;
	commands_[name] = std::move(def);
}

bool QmpDispatcher::has(std::string_view name) const
{
	return commands_.find(name) != commands_.end();
}

Result<JsonNodePtr> QmpDispatcher::dispatch(std::string_view name, JsonObject *arguments) const
{
	auto it = commands_.find(name);
	if (it == commands_.end())
		return qmpError("The command " + std::string(name) + " has not been found", kCommandNotFound);
	CVM_CHECK(checkArguments(it->second.args, arguments));
	return it->second.handler(arguments);
}

qmp::Version defaultQemuVersion()
{
	qmp::Version v;
	v.major = 7;
	v.minor = 2;
	v.micro = 22;
	v.package = "cvm-sev-sim " CVM_VERSION;
	return v;
}

QmpSession::QmpSession(const QmpDispatcher &dispatcher, QmpSessionOptions options)
	: dispatcher_(dispatcher), options_(std::move(options)),
	  splitter_(qmp::SplitterLimits{ qmp::kDefaultMaxMessageSize, qmp::kDefaultMaxNesting, true })
{
}

std::string QmpSession::greeting() const
{
	qmp::Greeting g;
	g.version = options_.version;
	g.capabilities = options_.capabilities;
	return qmp::frameServerMessage(qmp::buildGreeting(g));
}

void QmpSession::receive(std::string_view bytes)
{
	input_.append(bytes);
}

bool QmpSession::processOne()
{
	while (!input_.empty()) {
		std::optional<qmp::Frame> frame;
		size_t used = splitter_.consume(input_, frame);
		partial_.append(input_, 0, used);
		input_.erase(0, used);
		if (!frame)
			continue;
		std::string partial = std::exchange(partial_, {});
		lastCommand_.clear();
		if (frame->isError())
			send(qmp::buildErrorReply(kGenericError, splitErrorText(frame->error, partial), nullptr));
		else
			handleValue(frame->text);
		return true;
	}
	return false;
}

void QmpSession::handleValue(const std::string &text)
{
	auto parsed = json::parse(text);
	if (!parsed) {
		send(qmp::buildErrorReply(kGenericError, parseErrorText(text), nullptr));
		return;
	}
	handleCommand(parsed->get());
}

Result<JsonNodePtr> QmpSession::negotiate(const qmp::Command &command)
{
	JsonObject *args = command.arguments ? json_node_get_object(command.arguments.get()) : nullptr;
	CVM_CHECK(checkArguments({ { "enable", ArgType::StringList, true } }, args));
	bool oob = false;
	if (JsonNode *enable = args ? json_object_get_member(args, "enable") : nullptr) {
		JsonArray *a = json_node_get_array(enable);
		for (guint i = 0; i < json_array_get_length(a); ++i) {
			std::string cap = json_array_get_string_element(a, i);
			bool offered = false;
			for (const auto &c : options_.capabilities)
				offered = offered || c == cap;
			if (!offered)
				return qmpError("Parameter 'null' does not accept value '" + cap + "'");
			oob = oob || cap == "oob";
		}
	}
	negotiated_ = true;
	oob_ = oob;
	return emptyObject();
}

void QmpSession::handleCommand(JsonNode *message)
{
	JsonNode *id = JSON_NODE_HOLDS_OBJECT(message) ? qmp::messageId(json_node_get_object(message)) : nullptr;
	auto command = qmp::parseCommand(message, oob_);
	if (!command) {
		send(qmp::buildErrorReply(kGenericError, command.error().message(), id));
		return;
	}
	lastCommand_ = command->name;
	if (beforeCommand && !beforeCommand(command->name))
		return;
	++commands_;
	JsonObject *args = command->arguments ? json_node_get_object(command->arguments.get()) : nullptr;
	if (debugLogEnabled(G_LOG_DOMAIN))
		g_debug("QMP <- %s", qmp::loggableCommand(command->name, args, id,
							    qmp::isSensitiveCommand(command->name, args))
					    .c_str());
	Result<JsonNodePtr> result = qmpError("");
	const bool known = command->name == "qmp_capabilities" || dispatcher_.has(command->name);
	// QEMU's qmp_dispatch looks the command up before it checks whether it
	// allows OOB (none of ours does): an unknown exec-oob is CommandNotFound.
	if (command->oob && !known)
		result = qmpError("The command " + command->name + " has not been found", kCommandNotFound);
	else if (command->oob)
		result = qmpError("The command " + command->name + " does not support OOB");
	else if (!negotiated_)
		result = command->name == "qmp_capabilities"
				 ? negotiate(*command)
				 : qmpError("Expecting capabilities negotiation with 'qmp_capabilities'",
					    kCommandNotFound);
	else if (command->name == "qmp_capabilities")
		result = qmpError("Capabilities negotiation is already complete, command ignored",
				  kCommandNotFound);
	else
		result = dispatcher_.dispatch(command->name, args);
	std::string reply = result ? qmp::buildReturn(result->get(), id)
				   : qmp::buildErrorReply(result.error().tag().empty() ? std::string(kGenericError)
										       : result.error().tag(),
							  result.error().message(), id);
	if (rewriteReply)
		rewriteReply(command->name, reply);
	send(std::move(reply));
}

void QmpSession::queueEvent(std::string_view framedEvent)
{
	if (negotiated_)
		output_.append(framedEvent);
}

void QmpSession::send(std::string json)
{
	output_ += qmp::frameServerMessage(json);
}

std::string QmpSession::takeOutput()
{
	return std::exchange(output_, {});
}

} // namespace cvm::sim
