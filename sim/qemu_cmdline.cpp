// SPDX-License-Identifier: Apache-2.0
//
// The QEMU argv walk: which options take a value, and what the SEV-relevant
// ones mean. Everything else is skipped (and logged at debug level).
#define G_LOG_DOMAIN "cvm-sim"

#include <map>
#include <set>

#include <glib.h>

#include "cvm/common/json.h"
#include "cvm/sim/qemu_options.h"

namespace cvm::sim {

namespace {

// QEMU options without a value (qemu-options.hx: HAS_ARG absent).
const std::set<std::string, std::less<>> kFlags = {
	"S", "nodefaults", "no-user-config", "no-reboot", "no-shutdown", "no-hpet", "enable-kvm",
	"daemonize", "snapshot", "nographic", "no-acpi", "s", "full-screen", "usb", "enable-fips",
	"preconfig", "no-fd-bootchk", "semihosting", "win2k-hack", "no-kvm", "alt-grab", "ctrl-grab",
	"no-frame", "no-quit", "only-migratable", "old-param",
};

Error bad(std::string message)
{
	return Error(ErrorCode::InvalidArgument, std::move(message));
}

struct Walk {
	QemuOptions out;
	std::map<std::string, std::string> chardevPaths; // id -> unix path
	std::map<std::string, int> chardevFds;           // id -> fd
	std::map<std::string, std::string> blockFiles;   // node-name -> filename or child node
	std::optional<std::string> pflash0Node;

	Status option(const std::string &name, const std::string &value);
	Status qmp(const std::string &value);
	Status chardev(const std::string &value);
	Status mon(const std::string &value);
	Status drive(const std::string &value);
	Status blockdev(const std::string &value);
	Status machine(const std::string &value);
	Status smp(const std::string &value);
	Status memory(const std::string &value);
	Status finish();
};

Result<unsigned> positive(const std::string &what, const std::string &text)
{
	uint32_t v = CVM_TRY(parseUint32Property(what, text));
	if (v == 0)
		return bad("Parameter '" + what + "' expects a positive number");
	return static_cast<unsigned>(v);
}

Status Walk::qmp(const std::string &value)
{
	OptionParams p = CVM_TRY(parseKeyval(value, true));
	if (p.implied.rfind("unix:", 0) != 0) {
		g_debug("ignoring -qmp %s (only unix sockets are simulated)", value.c_str());
		out.ignored.push_back("-qmp " + value);
		return {};
	}
	std::string path = p.implied.substr(5);
	if (path.empty())
		return bad("-qmp " + value + ": the unix socket path is empty");
	out.qmp.push_back({ path, -1 });
	return {};
}

Status Walk::chardev(const std::string &value)
{
	OptionParams p = CVM_TRY(parseKeyval(value, true));
	auto id = p.get("id");
	if (!id)
		return bad("-chardev " + value + ": Parameter 'id' is missing");
	if (p.implied != "socket")
		return {};
	if (auto path = p.get("path"))
		chardevPaths[*id] = *path;
	else if (auto fd = p.get("fd"))
		chardevFds[*id] = static_cast<int>(CVM_TRY(parseUint32Property("fd", *fd)));
	return {};
}

Status Walk::mon(const std::string &value)
{
	OptionParams p = CVM_TRY(parseKeyval(value, false));
	auto dev = p.get("chardev");
	std::string mode = p.get("mode").value_or("readline");
	if (!dev)
		return bad("-mon " + value + ": Parameter 'chardev' is missing");
	if (mode != "control") {
		out.ignored.push_back("-mon " + value);
		return {};
	}
	if (auto it = chardevPaths.find(*dev); it != chardevPaths.end())
		out.qmp.push_back({ it->second, -1 });
	else if (auto jt = chardevFds.find(*dev); jt != chardevFds.end())
		out.qmp.push_back({ "", jt->second });
	else
		return bad("-mon " + value + ": chardev \"" + *dev + "\" not found");
	return {};
}

Status Walk::drive(const std::string &value)
{
	OptionParams p = CVM_TRY(parseKeyval(value, false));
	if (p.get("if").value_or("") != "pflash")
		return {};
	if (p.get("unit").value_or("0") == "0")
		if (auto file = p.get("file"))
			out.firmware = *file;
	return {};
}

// libvirt >= 7.x: -blockdev JSON file/format nodes and -machine pflash0=NODE.
Status Walk::blockdev(const std::string &value)
{
	if (value.empty() || value.front() != '{') {
		OptionParams p = CVM_TRY(parseKeyval(value, false));
		auto node = p.get("node-name");
		if (node && p.get("filename"))
			blockFiles[*node] = "file:" + *p.get("filename");
		else if (node && p.get("file"))
			blockFiles[*node] = *p.get("file");
		return {};
	}
	auto parsed = json::parseObject(value);
	if (!parsed)
		return bad("-blockdev: " + parsed.error().message());
	JsonObject *obj = json_node_get_object(parsed->get());
	auto node = json::getString(obj, "node-name");
	if (!node)
		return {};
	if (auto fn = json::getString(obj, "filename"))
		blockFiles[*node] = "file:" + *fn;
	else if (auto child = json::getString(obj, "file"))
		blockFiles[*node] = *child;
	return {};
}

Status Walk::machine(const std::string &value)
{
	OptionParams p = CVM_TRY(parseKeyval(value, true));
	if (auto cgs = p.get("confidential-guest-support"))
		out.confidentialGuestSupport = *cgs;
	else if (auto me = p.get("memory-encryption"))
		out.confidentialGuestSupport = *me;
	if (auto pf = p.get("pflash0"))
		pflash0Node = *pf;
	return {};
}

Status Walk::smp(const std::string &value)
{
	OptionParams p = CVM_TRY(parseKeyval(value, true));
	std::string cpus = p.implied.empty() ? p.get("cpus").value_or("1") : p.implied;
	out.smp = CVM_TRY(positive("cpus", cpus));
	return {};
}

Status Walk::memory(const std::string &value)
{
	OptionParams p = CVM_TRY(parseKeyval(value, true));
	std::string size = p.implied.empty() ? p.get("size").value_or("128") : p.implied;
	uint64_t mult = 1;
	if (!size.empty() && (size.back() == 'G' || size.back() == 'g'))
		mult = 1024;
	if (!size.empty() && g_ascii_isalpha(size.back()))
		size.pop_back();
	out.memoryMiB = CVM_TRY(positive("size", size)) * mult;
	return {};
}

Status Walk::option(const std::string &name, const std::string &value)
{
	if (name == "object") {
		auto sev = parseObjectOption(value);
		if (!sev)
			return bad("-object " + value + ": " + sev.error().message());
		if (*sev)
			out.sevGuest = std::move(**sev);
		return {};
	}
	if (name == "machine" || name == "M")
		return machine(value);
	if (name == "bios")
		return (out.firmware = value, Status());
	if (name == "drive")
		return drive(value);
	if (name == "blockdev")
		return blockdev(value);
	if (name == "kernel")
		return (out.kernel = value, Status());
	if (name == "initrd")
		return (out.initrd = value, Status());
	if (name == "append")
		return (out.append = value, Status());
	if (name == "smp")
		return smp(value);
	if (name == "m")
		return memory(value);
	if (name == "cpu")
		return (out.cpuModel = value.substr(0, value.find(',')), Status());
	if (name == "qmp")
		return qmp(value);
	if (name == "chardev")
		return chardev(value);
	if (name == "mon")
		return mon(value);
	if (name == "name") {
		OptionParams p = CVM_TRY(parseKeyval(value, true));
		out.name = p.implied.empty() ? p.get("guest").value_or("") : p.implied;
		return {};
	}
	if (name == "state-dir")
		return (out.stateDir = value, Status());
	if (name == "cpu-signature") {
		out.cpuSignature = CVM_TRY(parseUint32Property("cpu-signature", value));
		return {};
	}
	if (name == "fault")
		return (out.faults.push_back(value), Status());
	g_debug("ignoring -%s %s", name.c_str(), value.c_str());
	out.ignored.push_back("-" + name + " " + value);
	return {};
}

Status Walk::finish()
{
	if (pflash0Node) {
		std::string node = *pflash0Node;
		for (int depth = 0; depth < 8; ++depth) {
			auto it = blockFiles.find(node);
			if (it == blockFiles.end())
				return bad("-machine pflash0=" + *pflash0Node + ": no -blockdev with that node-name");
			if (it->second.rfind("file:", 0) == 0) {
				out.firmware = it->second.substr(5);
				break;
			}
			node = it->second;
		}
	}
	if (out.sevGuest && !out.confidentialGuestSupport.empty() &&
	    out.confidentialGuestSupport != out.sevGuest->id)
		return bad("-machine confidential-guest-support=" + out.confidentialGuestSupport +
			   ": no object with that id");
	if (!out.sevGuest && !out.confidentialGuestSupport.empty())
		return bad("Property 'confidential-guest-support' of the machine: object '" +
			   out.confidentialGuestSupport + "' not found");
	return {};
}

} // namespace

Result<QemuOptions> parseQemuCommandLine(const std::vector<std::string> &args)
{
	Walk w;
	for (size_t i = 0; i < args.size(); ++i) {
		const std::string &arg = args[i];
		if (arg.size() < 2 || arg[0] != '-')
			return bad(arg + ": invalid option");
		std::string name = arg.substr(arg[1] == '-' ? 2 : 1);
		std::optional<std::string> value;
		if (size_t eq = name.find('='); eq != std::string::npos) {
			value = name.substr(eq + 1);
			name.resize(eq);
		}
		if (name == "S") {
			w.out.startPaused = true;
			continue;
		}
		if (kFlags.count(name))
			continue;
		if (!value) {
			if (i + 1 >= args.size())
				return bad(arg + ": requires an argument");
			value = args[++i];
		}
		CVM_CHECK(w.option(name, *value));
	}
	CVM_CHECK(w.finish());
	return std::move(w.out);
}

} // namespace cvm::sim
