// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-plugin"

#include "cvm/plugin/qmp_backend.h"

#include <cstdio>
#include <csignal>
#include <sys/prctl.h>

#include "cvm/common/file.h"
#include "cvm/common/json.h"
#include "cvm/common/process.h"
#include "cvm/qmp/sync_client.h"

namespace cvm::plugin {

namespace {

std::string hex32(uint32_t v)
{
	char buf[16];
	snprintf(buf, sizeof(buf), "0x%x", v);
	return buf;
}

Result<Bytes> base64Member(JsonObject *o, const char *name, const char *command)
{
	auto b = json::getBase64(o, name);
	if (!b)
		return b.error().withContext(command);
	return b;
}

Result<uint8_t> byteMember(JsonObject *o, const char *name)
{
	auto v = json::getIntInRange(o, name, 0, 255);
	if (!v)
		return v.error().withContext("query-sev");
	return static_cast<uint8_t>(*v);
}

} // namespace

Result<PlatformCertificates> parseSevCapabilities(JsonNode *reply)
{
	if (!reply || !JSON_NODE_HOLDS_OBJECT(reply))
		return Error(ErrorCode::Protocol, "query-sev-capabilities: the answer is not an object");
	JsonObject *o = json_node_get_object(reply);
	PlatformCertificates pc;
	pc.pdh = CVM_TRY(base64Member(o, "pdh", "query-sev-capabilities"));
	pc.certChain = CVM_TRY(base64Member(o, "cert-chain", "query-sev-capabilities"));
	if (json_object_has_member(o, "cpu0-id"))
		pc.cpuId = CVM_TRY(base64Member(o, "cpu0-id", "query-sev-capabilities"));
	pc.cbitpos = static_cast<uint32_t>(CVM_TRY(json::getIntInRange(o, "cbitpos", 0, 63)));
	pc.reducedPhysBits = static_cast<uint32_t>(CVM_TRY(json::getIntInRange(o, "reduced-phys-bits", 0, 63)));
	return pc;
}

QmpBackend::QmpBackend(QmpBackendOptions options) : options_(std::move(options))
{
	if (options_.monitorSocket.empty())
		options_.monitorSocket = options_.workDir + "/qmp.sock";
}

QmpBackend::~QmpBackend()
{
	if (!released_)
		(void)destroy();
	removeSessionFiles();
}

Result<GObjectPtr<GSubprocess>> QmpBackend::spawn(const std::vector<std::string> &argv, bool diesWithUs)
{
	if (argv.empty())
		return Error(ErrorCode::InvalidArgument, "no emulator command (ARGS after --)");
	GObjectPtr<GSubprocessLauncher> launcher(g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDIN_INHERIT));
	// A cvm-launch killed mid-launch must not leave a paused guest (or a
	// probe) behind: the child gets SIGKILL when we die. Not for a guest
	// that is to outlive us (--detach).
	if (diesWithUs)
		g_subprocess_launcher_set_child_setup(
			launcher.get(), [](gpointer) { prctl(PR_SET_PDEATHSIG, SIGKILL); }, nullptr, nullptr);
	if (!options_.logFile.empty()) {
		g_subprocess_launcher_set_stdout_file_path(launcher.get(), options_.logFile.c_str());
		g_subprocess_launcher_set_stderr_file_path(launcher.get(), options_.logFile.c_str());
	}
	std::vector<const char *> cargv;
	for (const auto &a : argv)
		cargv.push_back(a.c_str());
	cargv.push_back(nullptr);
	GError *raw = nullptr;
	GObjectPtr<GSubprocess> p(g_subprocess_launcher_spawnv(launcher.get(), cargv.data(), &raw));
	if (!p) {
		GErrorPtr err(raw);
		return Error::fromGError(err.get(), "starting " + argv[0]);
	}
	return p;
}

Result<std::unique_ptr<qmp::SyncClient>> QmpBackend::connect(GSubprocess *process, const std::string &socket)
{
	qmp::ClientOptions o;
	o.waitForSocket = true;
	o.process = process;
	o.commandTimeout = options_.stepTimeout;
	auto c = qmp::SyncClient::connect(socket, options_.stepTimeout, o);
	if (!c)
		return c.error().withContext(options_.command[0] + " monitor");
	return c;
}

Result<JsonNodePtr> QmpBackend::execute(std::string_view command, JsonObject *arguments)
{
	if (!monitor_)
		return Error(ErrorCode::Internal, "the guest was not started");
	auto r = monitor_->execute(command, arguments, options_.stepTimeout);
	// QEMU's own errors already name the command ("cont: desc"): say it once.
	if (!r && r.error().message().rfind(std::string(command) + ": ", 0) != 0)
		return r.error().withContext(std::string(command));
	return r;
}

Result<PlatformCertificates> QmpBackend::certificates()
{
	std::string socket = options_.workDir + "/probe.sock";
	std::vector<std::string> argv = options_.command;
	argv.insert(argv.end(), { "-S", "-qmp", "unix:" + socket + ",server=on,wait=off" });
	auto probe = CVM_TRY(spawn(argv, true));
	auto killProbe = [&] {
		g_subprocess_force_exit(probe.get());
		g_subprocess_wait(probe.get(), nullptr, nullptr);
		unlink(socket.c_str());
	};
	auto c = connect(probe.get(), socket);
	if (!c) {
		killProbe();
		return c.error().withContext("probe");
	}
	auto caps = (*c)->execute("query-sev-capabilities", nullptr, options_.stepTimeout);
	(void)(*c)->execute("quit", nullptr, std::chrono::milliseconds(2000));
	killProbe();
	if (!caps)
		return caps.error().withContext("query-sev-capabilities");
	return parseSevCapabilities(caps->get());
}

Status QmpBackend::startPaused(const SevStartParameters &p)
{
	std::string dh = options_.workDir + "/godh.b64", session = options_.workDir + "/session.b64";
	sessionFiles_ = { dh, session };
	CVM_CHECK(writeSecretFile(dh, asBytes(toBase64(p.dhCert))));
	CVM_CHECK(writeSecretFile(session, asBytes(toBase64(p.session))));
	std::string object = "sev-guest,id=" + options_.sevObjectId + ",policy=" + hex32(p.policy) +
			     ",cbitpos=" + std::to_string(p.cbitpos) + ",reduced-phys-bits=" +
			     std::to_string(p.reducedPhysBits) + ",dh-cert-file=" + dh + ",session-file=" + session;
	if (p.kernelHashes.value_or(false))
		object += ",kernel-hashes=on";
	std::vector<std::string> argv = options_.command;
	argv.insert(argv.end(), { "-S", "-qmp", "unix:" + options_.monitorSocket + ",server=on,wait=off", "-object",
				  object, "-machine", "confidential-guest-support=" + options_.sevObjectId });
	process_ = CVM_TRY(spawn(argv, !options_.outlivesUs));
	auto c = connect(process_.get(), options_.monitorSocket);
	// Read at start-up: once the monitor answers (or the process is gone) the
	// files have served their purpose.
	removeSessionFiles();
	if (!c)
		return c.error();
	monitor_ = std::move(c).value();
	return {};
}

Result<PlatformMeasurement> QmpBackend::measure()
{
	auto m = CVM_TRY(execute("query-sev-launch-measure"));
	if (!JSON_NODE_HOLDS_OBJECT(m.get()))
		return Error(ErrorCode::Protocol, "query-sev-launch-measure: the answer is not an object");
	PlatformMeasurement pm;
	pm.measurement = CVM_TRY(base64Member(json_node_get_object(m.get()), "data", "query-sev-launch-measure"));
	auto info = CVM_TRY(execute("query-sev"));
	if (!JSON_NODE_HOLDS_OBJECT(info.get()))
		return Error(ErrorCode::Protocol, "query-sev: the answer is not an object");
	JsonObject *o = json_node_get_object(info.get());
	pm.apiMajor = CVM_TRY(byteMember(o, "api-major"));
	pm.apiMinor = CVM_TRY(byteMember(o, "api-minor"));
	pm.buildId = CVM_TRY(byteMember(o, "build-id"));
	pm.policy = static_cast<uint32_t>(CVM_TRY(json::getIntInRange(o, "policy", 0, UINT32_MAX)));
	return pm;
}

Status QmpBackend::injectSecret(const SecureBuffer &header, const SecureBuffer &payload,
				std::optional<uint64_t> address)
{
	json::ObjectBuilder args;
	args.setBase64("packet-header", header.view()).setBase64("secret", payload.view());
	if (address)
		args.setInt("gpa", static_cast<int64_t>(*address));
	CVM_TRY(execute("sev-inject-launch-secret", args.object()));
	return {};
}

Status QmpBackend::resume()
{
	CVM_TRY(execute("cont"));
	return {};
}

Status QmpBackend::destroy()
{
	monitor_.reset();
	removeSessionFiles();
	if (!process_)
		return {};
	g_subprocess_force_exit(process_.get());
	GError *raw = nullptr;
	bool ok = g_subprocess_wait(process_.get(), nullptr, &raw);
	GErrorPtr err(raw);
	process_.reset();
	unlink(options_.monitorSocket.c_str());
	if (!ok)
		return Error::fromGError(err.get(), "waiting for the killed emulator");
	return {};
}

pid_t QmpBackend::release()
{
	released_ = true;
	monitor_.reset();
	const char *id = process_ ? g_subprocess_get_identifier(process_.get()) : nullptr;
	return id ? static_cast<pid_t>(atoi(id)) : 0;
}

int QmpBackend::wait()
{
	monitor_.reset();
	if (!process_)
		return 0;
	g_subprocess_wait(process_.get(), nullptr, nullptr);
	int status = g_subprocess_get_status(process_.get());
	g_message("the guest ended: %s", describeWaitStatus(status).c_str());
	process_.reset();
	released_ = true;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void QmpBackend::removeSessionFiles()
{
	for (const auto &f : sessionFiles_)
		if (fileExists(f))
			(void)wipeAndRemove(f);
	sessionFiles_.clear();
}

} // namespace cvm::plugin
