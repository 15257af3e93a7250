// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-shim"

#include "cvm/shim/qemu_argv.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>

#include "cvm/common/json.h"

namespace cvm::shim {

namespace {

// QEMU 7.2 (x86_64) options without an argument (no HAS_ARG in
// qemu-options.hx), from `qemu-system-x86_64 -help`. Everything else takes one.
constexpr std::array<std::string_view, 30> kNoArgumentOptions = {
	"S",          "async-teardown", "audio-help",    "daemonize",         "enable-kvm",
	"enable-sync-profile", "full-screen", "h",    "help",              "mem-prealloc",
	"no-acpi",    "no-fd-bootchk",  "no-hpet",       "no-reboot",         "no-shutdown",
	"no-user-config", "nodefaults", "nographic",     "only-migratable",   "portrait",
	"preconfig",  "s",              "singlestep",    "snapshot",          "usb",
	"version",    "win2k-hack",     "xen-attach",    "xen-domid-restrict", "alt-grab",
};

bool isJsonText(std::string_view text)
{
	size_t i = text.find_first_not_of(" \t\r\n");
	return i != std::string_view::npos && text[i] == '{';
}

std::string escapeCommas(std::string_view value)
{
	std::string out;
	out.reserve(value.size());
	for (char c : value) {
		out += c;
		if (c == ',')
			out += ',';
	}
	return out;
}

// Splits at the first '=' of an element whose commas are already unescaped.
// QEMU finds the '=' in the raw text (strcspn "=,"): a key never holds ','.
struct RawElement {
	std::string text;   // unescaped
	size_t equals = std::string::npos;
};

std::vector<RawElement> splitElements(std::string_view text)
{
	std::vector<RawElement> out;
	RawElement cur;
	for (size_t i = 0; i < text.size(); ++i) {
		char c = text[i];
		if (c == ',') {
			if (i + 1 < text.size() && text[i + 1] == ',') {
				cur.text += ',';
				++i;
				continue;
			}
			out.push_back(std::move(cur));
			cur = {};
			continue;
		}
		if (c == '=' && cur.equals == std::string::npos)
			cur.equals = cur.text.size();
		cur.text += c;
	}
	out.push_back(std::move(cur));
	return out;
}

std::optional<std::string> nodeText(JsonNode *node)
{
	if (!node || !JSON_NODE_HOLDS_VALUE(node))
		return std::nullopt;
	switch (json_node_get_value_type(node)) {
	case G_TYPE_STRING:
		return toString(json_node_get_string(node));
	case G_TYPE_INT64:
		return std::to_string(json_node_get_int(node));
	case G_TYPE_BOOLEAN:
		return std::string(json_node_get_boolean(node) ? "on" : "off");
	case G_TYPE_DOUBLE:
		return std::to_string(json_node_get_double(node));
	default:
		return std::nullopt;
	}
}

Result<uint64_t> parseUnsignedText(std::string_view key, const std::string &text, uint64_t max)
{
	auto bad = [&] {
		return Error(ErrorCode::InvalidArgument,
			     "parameter '" + std::string(key) + "' expects an unsigned number up to " +
				     std::to_string(max) + ", not '" + text + "'");
	};
	if (text.empty() || text[0] == '-' || text[0] == '+' || text[0] == ' ')
		return bad();
	errno = 0;
	char *end = nullptr;
	unsigned long long v = std::strtoull(text.c_str(), &end, 0);
	if (errno != 0 || end != text.c_str() + text.size() || v > max)
		return bad();
	return static_cast<uint64_t>(v);
}

} // namespace

bool optionTakesArgument(std::string_view name)
{
	return std::find(kNoArgumentOptions.begin(), kNoArgumentOptions.end(), name) ==
	       kNoArgumentOptions.end();
}

Result<std::vector<QemuOption>> parseQemuArgv(const std::vector<std::string> &args)
{
	std::vector<QemuOption> out;
	for (size_t i = 0; i < args.size(); ++i) {
		const std::string &a = args[i];
		QemuOption opt;
		if (a.size() < 2 || a[0] != '-') {
			opt.value = a; // positional (QEMU: the first disk image); "-" alone too
			out.push_back(std::move(opt));
			continue;
		}
		opt.spelling = a;
		opt.name = a.substr(a[1] == '-' ? 2 : 1);
		if (opt.name.empty())
			return Error(ErrorCode::InvalidArgument, "invalid option '" + a + "'");
		if (optionTakesArgument(opt.name)) {
			if (i + 1 >= args.size())
				return Error(ErrorCode::InvalidArgument, a + ": requires an argument");
			opt.value = args[++i];
		}
		out.push_back(std::move(opt));
	}
	return out;
}

std::vector<std::string> formatQemuArgv(const std::vector<QemuOption> &options)
{
	std::vector<std::string> out;
	for (const auto &o : options) {
		if (!o.positional())
			out.push_back(o.spelling);
		if (o.value)
			out.push_back(*o.value);
	}
	return out;
}

std::vector<std::string> splitOptionList(std::string_view text)
{
	std::vector<std::string> out;
	for (auto &e : splitElements(text))
		out.push_back(std::move(e.text));
	return out;
}

Result<OptionString> OptionString::parse(std::string_view text, std::string_view impliedKey,
					 bool allowJson)
{
	OptionString s;
	if (allowJson && isJsonText(text)) {
		auto node = json::parseObject(text);
		if (!node)
			return Error(ErrorCode::InvalidArgument,
				     "malformed JSON option: " + node.error().message());
		s.json_ = std::move(node).value();
		return s;
	}
	auto elements = splitElements(text);
	for (size_t i = 0; i < elements.size(); ++i) {
		RawElement &e = elements[i];
		Entry entry;
		if (e.equals != std::string::npos) {
			entry.key = e.text.substr(0, e.equals);
			entry.value = e.text.substr(e.equals + 1);
			if (entry.key.empty())
				return Error(ErrorCode::InvalidArgument,
					     "parameter without a name in '" + std::string(text) + "'");
		} else if (i == 0 && !impliedKey.empty()) {
			entry.key = std::string(impliedKey);
			entry.value = e.text;
			entry.form = Entry::Form::Implied;
		} else if (e.text.empty()) {
			// "a=b," : QEMU ignores a trailing empty element; so do we, in
			// any position, but an empty implied value above is kept.
			continue;
		} else {
			// QemuOpts: a bare "flag" is flag=on, "noflag" flag=off.
			entry.form = Entry::Form::BareFlag;
			entry.raw = e.text;
			bool negated = e.text.rfind("no", 0) == 0 && e.text.size() > 2;
			entry.key = negated ? e.text.substr(2) : e.text;
			entry.value = negated ? "off" : "on";
		}
		s.entries_.push_back(std::move(entry));
	}
	return s;
}

const OptionString::Entry *OptionString::find(std::string_view key) const
{
	// QemuOpts: the last occurrence wins.
	for (auto it = entries_.rbegin(); it != entries_.rend(); ++it)
		if (it->key == key)
			return &*it;
	return nullptr;
}

bool OptionString::has(std::string_view key) const
{
	if (json_)
		return json_object_has_member(json_node_get_object(json_.get()),
					      std::string(key).c_str());
	return find(key) != nullptr;
}

std::optional<std::string> OptionString::get(std::string_view key) const
{
	if (json_) {
		JsonObject *o = json_node_get_object(json_.get());
		std::string k(key);
		if (!json_object_has_member(o, k.c_str()))
			return std::nullopt;
		return nodeText(json_object_get_member(o, k.c_str()));
	}
	const Entry *e = find(key);
	if (!e)
		return std::nullopt;
	return e->value;
}

Result<std::optional<uint64_t>> OptionString::getUnsigned(std::string_view key, uint64_t max) const
{
	if (json_) {
		JsonObject *o = json_node_get_object(json_.get());
		std::string k(key);
		if (!json_object_has_member(o, k.c_str()))
			return std::optional<uint64_t>();
		JsonNode *n = json_object_get_member(o, k.c_str());
		if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_INT64 ||
		    json_node_get_int(n) < 0 || static_cast<uint64_t>(json_node_get_int(n)) > max)
			return Error(ErrorCode::InvalidArgument,
				     "parameter '" + k + "' expects an unsigned number up to " +
					     std::to_string(max));
		return std::optional<uint64_t>(static_cast<uint64_t>(json_node_get_int(n)));
	}
	const Entry *e = find(key);
	if (!e)
		return std::optional<uint64_t>();
	return std::optional<uint64_t>(CVM_TRY(parseUnsignedText(key, e->value, max)));
}

Result<std::optional<bool>> OptionString::getBool(std::string_view key) const
{
	if (json_) {
		JsonObject *o = json_node_get_object(json_.get());
		std::string k(key);
		if (!json_object_has_member(o, k.c_str()))
			return std::optional<bool>();
		JsonNode *n = json_object_get_member(o, k.c_str());
		if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_BOOLEAN)
			return Error(ErrorCode::InvalidArgument, "parameter '" + k + "' expects a boolean");
		return std::optional<bool>(json_node_get_boolean(n));
	}
	const Entry *e = find(key);
	if (!e)
		return std::optional<bool>();
	const std::string &v = e->value;
	if (v == "on" || v == "yes" || v == "true" || v == "y")
		return std::optional<bool>(true);
	if (v == "off" || v == "no" || v == "false" || v == "n")
		return std::optional<bool>(false);
	return Error(ErrorCode::InvalidArgument, "parameter '" + std::string(key) +
							 "' expects 'on' or 'off', not '" + v + "'");
}

bool OptionString::remove(std::string_view key)
{
	if (json_) {
		JsonObject *o = json_node_get_object(json_.get());
		std::string k(key);
		if (!json_object_has_member(o, k.c_str()))
			return false;
		json_object_remove_member(o, k.c_str());
		return true;
	}
	auto before = entries_.size();
	std::erase_if(entries_, [&](const Entry &e) { return e.key == key; });
	return entries_.size() != before;
}

void OptionString::set(std::string_view key, std::string_view value)
{
	if (json_) {
		json_object_set_string_member(json_node_get_object(json_.get()),
					      std::string(key).c_str(), std::string(value).c_str());
		return;
	}
	for (auto &e : entries_) {
		if (e.key == key) {
			e.value = std::string(value);
			e.form = e.form == Entry::Form::Implied ? e.form : Entry::Form::KeyValue;
		}
	}
	if (!find(key))
		entries_.push_back(Entry{ std::string(key), std::string(value), Entry::Form::KeyValue, {} });
}

std::string OptionString::format() const
{
	if (json_)
		return json::serialize(json_.get());
	std::string out;
	for (const auto &e : entries_) {
		if (!out.empty())
			out += ',';
		switch (e.form) {
		case Entry::Form::Implied:
			out += escapeCommas(e.value);
			break;
		case Entry::Form::BareFlag:
			out += escapeCommas(e.raw);
			break;
		case Entry::Form::KeyValue:
			out += escapeCommas(e.key) + "=" + escapeCommas(e.value);
			break;
		}
	}
	return out;
}

std::vector<std::string> OptionString::keys() const
{
	std::vector<std::string> out;
	if (json_) {
		GList *members = json_object_get_members(json_node_get_object(json_.get()));
		for (GList *l = members; l; l = l->next)
			out.emplace_back(static_cast<const char *>(l->data));
		g_list_free(members);
		return out;
	}
	for (const auto &e : entries_)
		out.push_back(e.key);
	return out;
}

} // namespace cvm::shim
