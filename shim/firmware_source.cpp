// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-shim"

#include "firmware_source.h"

#include <map>

namespace cvm::shim {

namespace {

Error usage(std::string message)
{
	return Error(ErrorCode::InvalidArgument, std::move(message));
}

// node-name → the -blockdev's options (both syntaxes).
Result<std::map<std::string, OptionString>> blockdevNodes(const std::vector<QemuOption> &options,
							  const std::vector<size_t> &blockdevs)
{
	std::map<std::string, OptionString> nodes;
	for (size_t i : blockdevs) {
		auto b = CVM_TRY(OptionString::parse(*options[i].value, "", true));
		auto name = b.get("node-name");
		if (!name)
			continue; // QEMU names it itself; nothing can refer to it
		if (nodes.count(*name))
			return usage("two -blockdev nodes named '" + *name + "'");
		nodes.emplace(*name, std::move(b));
	}
	return nodes;
}

// Follows a node chain down to the protocol node's "filename": format nodes
// (raw, qcow2 …) name their child in "file"; the "file" driver holds the path.
Result<std::string> nodeFilename(const std::map<std::string, OptionString> &nodes,
				 const std::string &start)
{
	std::string name = start;
	for (int depth = 0; depth < 8; ++depth) {
		auto it = nodes.find(name);
		if (it == nodes.end())
			return usage("pflash0=" + start + ": there is no -blockdev node '" + name + "'");
		const OptionString &node = it->second;
		auto driver = node.get("driver").value_or("");
		if (driver == "file" || driver == "host_device") {
			auto filename = node.get("filename");
			if (!filename || filename->empty())
				return usage("-blockdev node '" + name + "' has no filename");
			return *filename;
		}
		auto child = node.get("file");
		if (!child)
			return usage("-blockdev node '" + name + "' (driver '" + driver +
				     "') names no file: cannot find the firmware image");
		name = *child;
	}
	return usage("pflash0=" + start + ": the -blockdev chain is too deep");
}

// "-drive if=pflash,...,file=F" in order: the first one is unit 0 unless a
// unit is given (QEMU's drive_get(IF_PFLASH, 0, 0)).
Result<std::optional<std::string>> drivePflash0(const std::vector<QemuOption> &options,
						const std::vector<size_t> &drives)
{
	unsigned next = 0;
	for (size_t i : drives) {
		auto d = CVM_TRY(OptionString::parse(*options[i].value, "file"));
		if (d.get("if") != "pflash")
			continue;
		auto unit = CVM_TRY(d.getUnsigned("unit", 255));
		unsigned u = unit ? static_cast<unsigned>(*unit) : next;
		next = u + 1;
		if (u != 0)
			continue;
		auto file = d.get("file");
		if (!file || file->empty())
			return usage("-drive if=pflash,unit=0 has no file");
		return std::optional<std::string>(*file);
	}
	return std::optional<std::string>();
}

std::string biosPath(const std::string &name)
{
	if (name.find('/') != std::string::npos)
		return name;
	return std::string(kQemuDataDir) + "/" + name;
}

} // namespace

Result<std::string> findFirmware(const std::vector<QemuOption> &options,
				 const std::vector<size_t> &machines, const std::vector<size_t> &drives,
				 const std::vector<size_t> &blockdevs, const std::vector<size_t> &pflashes,
				 const std::optional<size_t> &bios)
{
	std::optional<std::string> pflash0;
	for (size_t i : machines) {
		auto m = CVM_TRY(OptionString::parse(*options[i].value, "type"));
		if (auto v = m.get("pflash0"))
			pflash0 = *v;
	}
	if (pflash0) {
		auto nodes = CVM_TRY(blockdevNodes(options, blockdevs));
		return nodeFilename(nodes, *pflash0);
	}
	if (auto file = CVM_TRY(drivePflash0(options, drives)))
		return *file;
	if (!pflashes.empty())
		return *options[pflashes.front()].value;
	if (bios)
		return biosPath(*options[*bios].value);
	return usage("a SEV guest needs its firmware (pflash unit 0 or -bios): none is given");
}

} // namespace cvm::shim
