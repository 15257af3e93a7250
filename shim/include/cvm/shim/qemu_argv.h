// SPDX-License-Identifier: Apache-2.0
//
// QEMU's command line as the shim sees it: a list of options (with or without
// an argument, QEMU 7.2's option table) and the option strings inside them,
// in both of QEMU's syntaxes: "key=value,..." (QemuOpts/keyval, ",," escapes a
// comma, an optional implied first key) and a JSON object ("-object {...}",
// "-blockdev {...}", "-device {...}"). Parsing keeps each option's original
// spelling, so everything the shim does not rewrite reaches QEMU byte for byte.
//
// Input comes from whoever runs the shim (libvirtd, an admin): every value is
// checked, nothing is trusted to be well formed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cvm/common/error.h"
#include "cvm/common/gptr.h"

namespace cvm::shim {

// One element of QEMU's argv: an option ("-machine", value "q35") or a
// positional argument (QEMU's implicit -hda image), which has an empty name.
struct QemuOption {
	std::string name;                 // "machine", "S" (leading dashes removed)
	std::string spelling;             // as written: "-machine", "--machine"
	std::optional<std::string> value; // the argument, for options that take one

	bool positional() const { return name.empty(); }
};

// Whether QEMU 7.2's option `name` (no dashes) takes an argument. Unknown
// options are assumed to take one (QEMU itself rejects them).
bool optionTakesArgument(std::string_view name);

// Splits argv (without argv[0]) into options. Fails when an option that takes
// an argument is the last element ("-machine: requires an argument").
Result<std::vector<QemuOption>> parseQemuArgv(const std::vector<std::string> &args);
// The inverse: argv elements (without argv[0]) in their original spelling.
std::vector<std::string> formatQemuArgv(const std::vector<QemuOption> &options);

// An option string: "pc-q35-7.2,usb=off" or {"qom-type": "sev-guest", ...}.
class OptionString
{
public:
	// Parses `text`. `impliedKey` names a bare first element ("q35" of
	// -machine is type=q35, "socket" of -chardev is backend=socket); empty when
	// the option has none. `allowJson`: a text starting with '{' is a JSON
	// object (QEMU accepts that for -object, -blockdev, -device, -audiodev).
	static Result<OptionString> parse(std::string_view text, std::string_view impliedKey,
					  bool allowJson = false);

	bool isJson() const { return json_ != nullptr; }

	bool has(std::string_view key) const;
	// The value as text: strings as they are, JSON numbers in decimal, JSON
	// booleans as "on"/"off". Absent (or a JSON null/object/array) → nullopt.
	std::optional<std::string> get(std::string_view key) const;
	// Integers the way QEMU's visitors read them: keyval text with base
	// prefixes ("0x1", "010" is octal as in strtoull base 0), JSON numbers.
	Result<std::optional<uint64_t>> getUnsigned(std::string_view key, uint64_t max) const;
	// on/off/yes/no/true/false (QEMU's boolean spellings), JSON booleans.
	Result<std::optional<bool>> getBool(std::string_view key) const;

	// Removes every entry named `key`; returns whether one was there.
	bool remove(std::string_view key);
	// Replaces the value of `key` (or appends it).
	void set(std::string_view key, std::string_view value);

	// Back to QEMU's syntax. Unchanged entries keep their original form (a bare
	// implied value stays bare, "server" stays "server").
	std::string format() const;

	// Keys in order (for tests and diagnostics).
	std::vector<std::string> keys() const;

private:
	struct Entry {
		std::string key;
		std::string value;
		enum class Form { KeyValue, Implied, BareFlag } form = Form::KeyValue;
		std::string raw; // original text of a BareFlag ("server", "nowait")
	};

	const Entry *find(std::string_view key) const;

	std::vector<Entry> entries_;
	JsonNodePtr json_; // set for the JSON syntax
};

// Splits a comma list the QemuOpts way: ",," is a literal comma. Exposed for
// the "-qmp unix:PATH,opts" form.
std::vector<std::string> splitOptionList(std::string_view text);

} // namespace cvm::shim
