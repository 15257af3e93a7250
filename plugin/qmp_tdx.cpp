// SPDX-License-Identifier: Apache-2.0
//
// QmpBackend as a TdxLaunchBackend: the TD's platform probe and start. The
// members shared with SEV (spawn, connect, resume, destroy) are in
// qmp_backend.cpp.
#define G_LOG_DOMAIN "cvm-plugin"

#include <algorithm>
#include <unistd.h>

#include "cvm/common/file.h"
#include "cvm/common/json.h"
#include "cvm/plugin/qmp_backend.h"
#include "cvm/qmp/sync_client.h"

namespace cvm::plugin {

namespace {

constexpr std::string_view kTdxGuestType = "tdx-guest";

// The confidential-guest-support types a qom-list-types answer names.
Result<std::vector<std::string>> typeNames(JsonNode *reply)
{
	if (!reply || !JSON_NODE_HOLDS_ARRAY(reply))
		return Error(ErrorCode::Protocol, "qom-list-types: the answer is not an array");
	std::vector<std::string> names;
	JsonArray *a = json_node_get_array(reply);
	for (guint i = 0; i < json_array_get_length(a); ++i) {
		JsonNode *e = json_array_get_element(a, i);
		if (!JSON_NODE_HOLDS_OBJECT(e))
			return Error(ErrorCode::Protocol, "qom-list-types: an entry is not an object");
		names.push_back(CVM_TRY(json::getString(json_node_get_object(e), "name")));
	}
	return names;
}

// The emulator's last line in its --log file: QEMU says there why it would
// not create the TD ("Parameter 'qom-type' does not accept value 'tdx-guest'").
std::string lastLogLine(const std::string &path)
{
	if (path.empty() || path == "/dev/null")
		return {};
	auto text = readTextFile(path, 1u << 20);
	if (!text)
		return {};
	std::string_view t(*text);
	while (!t.empty() && (t.back() == '\n' || t.back() == '\r'))
		t.remove_suffix(1);
	size_t nl = t.rfind('\n');
	return std::string(nl == std::string_view::npos ? t : t.substr(nl + 1));
}

std::string joined(const std::vector<std::string> &names)
{
	std::string s;
	for (const auto &n : names)
		s += (s.empty() ? "" : ", ") + n;
	return s.empty() ? "none" : s;
}

} // namespace

Status QmpBackend::checkTdxPlatform()
{
	if (options_.command.empty())
		return Error(ErrorCode::InvalidArgument, "no emulator command (ARGS after --)");
	// Only the binary: which object types it has does not depend on the
	// guest's arguments, and a probe must not open the guest's disks.
	std::string socket = options_.workDir + "/probe.sock";
	std::vector<std::string> argv = { options_.command[0], "-S", "-machine", "none", "-nodefaults", "-display",
					  "none", "-qmp", "unix:" + socket + ",server=on,wait=off" };
	auto probe = CVM_TRY(spawn(argv, true));
	auto c = connect(probe.get(), socket);
	std::optional<qmp::Version> version;
	Result<JsonNodePtr> types = Error(ErrorCode::Internal, "no probe");
	if (c) {
		version = (*c)->greeting().version;
		json::ObjectBuilder args;
		args.setString("implements", "confidential-guest-support").setBool("abstract", false);
		types = (*c)->execute("qom-list-types", args.object(), options_.stepTimeout);
		(void)(*c)->execute("quit", nullptr, std::chrono::milliseconds(2000));
		c->reset();
	}
	g_subprocess_force_exit(probe.get());
	g_subprocess_wait(probe.get(), nullptr, nullptr);
	unlink(socket.c_str());
	if (!c)
		return c.error().withContext("probe");
	if (!types)
		return types.error().withContext("qom-list-types");
	auto names = CVM_TRY(typeNames(types->get()));
	if (std::find(names.begin(), names.end(), kTdxGuestType) != names.end())
		return {};
	return Error(ErrorCode::Unsupported,
		     options_.command[0] + " (QEMU " + version->toString() + ") has no tdx-guest object (its "
		     "confidential-guest types: " + joined(names) + "): a TD needs QEMU 10.1 or later with KVM TDX "
		     "support; Debian 12's QEMU 7.2 has none",
		     "tdx-unsupported");
}

Status QmpBackend::startTd(const TdxStartParameters &p)
{
	std::string handover = options_.workDir + "/tdx-launch.json";
	sessionFiles_ = { handover };
	CVM_CHECK(writeFileAtomic(handover, asBytes(p.handover)));
	std::string fwCfg = CVM_TRY(tdx::fwCfgFileArgument(tdx::kFwCfgLaunchItem, handover));
	std::vector<std::string> argv = CVM_TRY(tdx::tdxEmulatorArguments(options_.command, p.config));
	argv.insert(argv.end(), { "-S", "-qmp", "unix:" + options_.monitorSocket + ",server=on,wait=off", "-fw_cfg",
				  fwCfg });
	process_ = CVM_TRY(spawn(argv, !options_.outlivesUs));
	auto c = connect(process_.get(), options_.monitorSocket);
	// QEMU reads -fw_cfg files while it builds the machine, before its
	// monitor answers.
	removeSessionFiles();
	if (!c) {
		std::string said = lastLogLine(options_.logFile);
		return c.error().withContext(
			"the emulator did not come up with the TD (" +
			(said.empty() ? std::string("its own message is on its stderr or in --log")
				      : "it said: \"" + said + "\"") +
			"; KVM must support TDX and the TD's memory, CPU and firmware options must suit a TD)");
	}
	monitor_ = std::move(c).value();
	return {};
}

} // namespace cvm::plugin
