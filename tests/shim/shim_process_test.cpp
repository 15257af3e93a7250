// SPDX-License-Identifier: Apache-2.0
//
// cvm-sev-shim as a process in front of real QEMU (TCG), driven the way
// libvirt's capability probe drives QEMU (-daemonize, -pidfile, -qmp), plus
// its life cycle: QEMU dies with the shim, signals reach QEMU, start-up
// failures end the shim with QEMU's message. Without libvirt: a whole SEV
// launch from our owner side (with and without -S), and descriptors passed
// over the monitor (getfd, add-fd) reaching QEMU.
#include <catch2/catch.hpp>

#include <csignal>
#include <cstring>
#include <fstream>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cvm/common/bytes.h"
#include "cvm/common/file.h"
#include "cvm/common/json.h"
#include "cvm/qmp/sync_client.h"
#include "cvm/sev/launch_digest.h"
#include "cvm/sev/measurement.h"
#include "cvm/sev/secret.h"
#include "cvm/sev/session.h"
#include "cvm/sim/platform.h"
#include "test_support.h"

using namespace cvm;
using namespace cvm::test;
using namespace std::chrono_literals;

namespace {

constexpr const char *kQemu = "/usr/bin/qemu-system-x86_64";

struct Env {
	TempDir dir = TempDir::create("cvmt-shim-proc-").value();
	std::unique_ptr<sim::Platform> platform;
	std::string socket = dir.file("qmp.sock");
	std::string pidfile = dir.file("qmp.pid");

	Env()
	{
		requireExecutable(kQemu);
		sim::PlatformInitOptions o;
		o.stateDir = dir.file("state");
		platform = sim::Platform::init(o).value();
		std::ofstream(dir.file("shim.conf")) << "[shim]\n"; // the environment decides
	}
	std::vector<std::string> env() const
	{
		return { "CVM_SEV_SIM_STATE_DIR=" + platform->stateDir(), "CVM_SEV_SHIM_QEMU=" + std::string(kQemu),
			 "CVM_SEV_SHIM_CONFIG=" + dir.file("shim.conf") };
	}
	std::vector<std::string> probeArgv() const
	{
		return { buildPath("shim/cvm-sev-shim"), "-S", "-no-user-config", "-nodefaults", "-nographic",
			 "-machine", "none,accel=kvm:tcg", "-qmp", "unix:" + socket + ",server=on,wait=off",
			 "-pidfile", pidfile, "-daemonize" };
	}
};

pid_t readPid(const std::string &path)
{
	std::ifstream f(path);
	long pid = 0;
	f >> pid;
	return static_cast<pid_t>(pid);
}

pid_t childOf(pid_t parent)
{
	std::ifstream f("/proc/" + std::to_string(parent) + "/task/" + std::to_string(parent) + "/children");
	long pid = 0;
	f >> pid;
	return static_cast<pid_t>(pid);
}

bool gone(pid_t pid, std::chrono::milliseconds within = 3000ms)
{
	for (auto t = 0ms; t < within; t += 50ms) {
		std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
		std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
		size_t p = s.rfind(')');
		if (s.empty() || (p != std::string::npos && p + 2 < s.size() && s[p + 2] == 'Z'))
			return true;
		std::this_thread::sleep_for(50ms);
	}
	return false;
}

std::string member(const JsonNodePtr &v, const char *name)
{
	return json::getString(json_node_get_object(v.get()), name).value();
}

constexpr const char *kOvmf = "/usr/share/ovmf/OVMF.fd"; // Debian's ovmf (scripts/bootstrap)
constexpr uint64_t kSecretGpa = 0x800000;              // that OVMF has no SEV secret area

// A SEV guest's argv for the shim: QEMU's -object sev-guest with our owner
// session's files, -qmp for the test, -daemonize like libvirt.
std::vector<std::string> sevArgv(const Env &e, const sev::OwnerSession &owner, uint32_t policy, bool paused)
{
	auto write = [&](const std::string &name, const Bytes &b) {
		std::ofstream(e.dir.file(name)) << toBase64(b);
		return e.dir.file(name);
	};
	char obj[1024];
	std::snprintf(obj, sizeof(obj),
		      "sev-guest,id=s0,cbitpos=51,reduced-phys-bits=1,policy=0x%x,dh-cert-file=%s,session-file=%s", policy,
		      write("godh.b64", owner.godhCert).c_str(), write("session.b64", owner.session.serialize()).c_str());
	std::vector<std::string> a = { buildPath("shim/cvm-sev-shim"), "-nodefaults", "-display", "none", "-m", "256",
				       "-machine", "q35,confidential-guest-support=s0", "-bios", kOvmf, "-object", obj,
				       "-qmp", "unix:" + e.socket + ",server=on,wait=off", "-pidfile", e.pidfile,
				       "-daemonize" };
	if (paused)
		a.insert(a.begin() + 1, "-S");
	return a;
}

JsonNodePtr injectArgs(const sev::SecretPacket &p)
{
	return json::ObjectBuilder()
		.setBase64("packet-header", p.header)
		.setBase64("secret", p.payload)
		.setInt("gpa", static_cast<int64_t>(kSecretGpa))
		.build();
}

// A raw QMP client over a unix socket that can pass descriptors (SCM_RIGHTS).
class RawMonitor
{
public:
	explicit RawMonitor(const std::string &path)
	{
		fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
		REQUIRE(fd_.isValid());
		struct sockaddr_un a = {};
		a.sun_family = AF_UNIX;
		REQUIRE(path.size() < sizeof(a.sun_path));
		std::memcpy(a.sun_path, path.c_str(), path.size());
		REQUIRE(::connect(fd_.get(), reinterpret_cast<struct sockaddr *>(&a), sizeof(a)) == 0);
	}
	// Sends `json` + "\n", with `passFd` (>= 0) attached to it.
	void send(const std::string &json, int passFd = -1)
	{
		std::string line = json + "\n";
		struct iovec iov = { line.data(), line.size() };
		struct msghdr msg = {};
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
		if (passFd >= 0) {
			msg.msg_control = control;
			msg.msg_controllen = sizeof(control);
			struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			std::memcpy(CMSG_DATA(c), &passFd, sizeof(int));
		}
		REQUIRE(::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL) == static_cast<ssize_t>(line.size()));
	}
	// The next message that is not an event (10 s at most).
	JsonNodePtr reply()
	{
		for (;;) {
			std::string line = readLine();
			auto node = json::parse(line);
			REQUIRE(node.ok());
			if (!json_object_has_member(json_node_get_object(node->get()), "event"))
				return std::move(node).value();
		}
	}
	std::string execute(const std::string &json, int passFd = -1)
	{
		send(json, passFd);
		return json::serialize(reply().get());
	}

private:
	std::string readLine()
	{
		for (;;) {
			size_t nl = buf_.find("\r\n");
			if (nl != std::string::npos) {
				std::string line = buf_.substr(0, nl);
				buf_.erase(0, nl + 2);
				return line;
			}
			struct pollfd p = { fd_.get(), POLLIN, 0 };
			REQUIRE(::poll(&p, 1, 10000) == 1);
			char chunk[4096];
			ssize_t n = ::read(fd_.get(), chunk, sizeof(chunk));
			REQUIRE(n > 0);
			buf_.append(chunk, static_cast<size_t>(n));
		}
	}

	UniqueFd fd_;
	std::string buf_;
};

} // namespace

TEST_CASE("the probe: -daemonize returns once QEMU is up, QMP reaches QEMU, SEV comes from the platform")
{
	Env e;
	auto r = run(e.probeArgv(), {}, e.env(), 60);
	INFO(r.err);
	REQUIRE(r.exitStatus == 0);
	pid_t shim = readPid(e.pidfile);
	REQUIRE(shim > 0);
	pid_t qemu = childOf(shim);
	REQUIRE(qemu > 0);
	{
		auto c = qmp::SyncClient::connect(e.socket, 10000ms);
		REQUIRE(c.ok());
		CHECK((*c)->greeting().version.major == 7);
		auto caps = (*c)->execute("query-sev-capabilities");
		REQUIRE(caps.ok());
		CHECK(member(*caps, "pdh") == toBase64(e.platform->pdhCert()));
		CHECK(member(*caps, "cert-chain") == toBase64(e.platform->certChain()));
		auto types = (*c)->execute("qom-list-types", json::ObjectBuilder()
								   .setString("implements", "confidential-guest-support")
								   .object());
		REQUIRE(types.ok());
		CHECK(json::serialize(types->get()).find("sev-guest") != std::string::npos);
		// Not a SEV guest: QEMU's own answer.
		auto sev = (*c)->execute("query-sev");
		REQUIRE(sev.ok());
		CHECK(!json::getBool(json_node_get_object(sev->get()), "enabled").value());
	}
	// A second client (libvirtd reconnecting) finds the same QEMU.
	auto again = qmp::SyncClient::connect(e.socket, 10000ms);
	REQUIRE(again.ok());
	CHECK((*again)->execute("query-status").ok());
	(void)(*again)->execute("quit");
	CHECK(gone(qemu));
	CHECK(gone(shim));
	CHECK(!fileExists(e.socket));
	CHECK(!fileExists(e.pidfile));
}

TEST_CASE("QEMU dies with the shim; SIGTERM reaches QEMU")
{
	for (int sig : { SIGKILL, SIGTERM }) {
		Env e;
		auto r = run(e.probeArgv(), {}, e.env(), 60);
		REQUIRE(r.exitStatus == 0);
		pid_t shim = readPid(e.pidfile), qemu = childOf(shim);
		REQUIRE(qemu > 0);
		REQUIRE(::kill(shim, sig) == 0);
		CHECK(gone(qemu));
		CHECK(gone(shim));
	}
}

TEST_CASE("start-up failures end the shim with QEMU's or the launch's message")
{
	Env e;
	auto argv = e.probeArgv();
	argv[6] = "no-such-machine";
	auto r = run(argv, {}, e.env(), 60);
	CHECK(r.exitStatus == 1);
	CHECK(r.err.find("qemu-system-x86_64: unsupported machine type") != std::string::npos);

	// A SEV guest whose cbitpos the platform does not have, and one without a platform.
	std::vector<std::string> sev = { buildPath("shim/cvm-sev-shim"), "-S", "-nodefaults", "-nographic",
					 "-machine", "q35,confidential-guest-support=s0", "-bios", "/usr/share/OVMF/OVMF_CODE.fd",
					 "-object", "sev-guest,id=s0,cbitpos=47,reduced-phys-bits=1,policy=0x1",
					 "-qmp", "unix:" + e.socket + ",server=on,wait=off" };
	r = run(sev, {}, e.env(), 60);
	CHECK(r.exitStatus == 1);
	CHECK(r.err.find("cbitpos check failed, host '51' requested '47'") != std::string::npos);
	auto env = e.env();
	env[0] = "CVM_SEV_SIM_STATE_DIR=" + e.dir.file("missing");
	r = run(sev, {}, env, 60);
	CHECK(r.exitStatus == 1);
	CHECK(r.err.find("simulated SEV platform is not available") != std::string::npos);
	CHECK(!fileExists(e.socket));
}

TEST_CASE("with nothing to proxy the shim is QEMU itself")
{
	Env e;
	auto viaShim = run({ buildPath("shim/cvm-sev-shim"), "-version" }, {}, e.env());
	auto direct = run({ kQemu, "-version" });
	CHECK(viaShim.exitStatus == 0);
	CHECK(viaShim.out == direct.out);
	auto bad = run({ buildPath("shim/cvm-sev-shim"), "-machine" }, {}, e.env());
	CHECK(bad.exitStatus == 1);
	CHECK(bad.err.find("requires an argument") != std::string::npos);
}

TEST_CASE("a bad configuration file is reported")
{
	Env e;
	std::ofstream(e.dir.file("bad.conf")) << "[shim]\nqemu=relative/qemu\n";
	auto env = e.env();
	env[2] = "CVM_SEV_SHIM_CONFIG=" + e.dir.file("bad.conf");
	auto r = run({ buildPath("shim/cvm-sev-shim"), "-version" }, {}, env);
	CHECK(r.exitStatus == 1);
	CHECK(r.err.find("[shim] qemu must be an absolute path") != std::string::npos);
}

TEST_CASE("a SEV launch through the shim without libvirt: measure, verify, inject, read back, cont")
{
	Env e;
	REQUIRE(fileExists(kOvmf));
	std::ofstream(e.dir.file("shim.conf")) << "[shim]\ntest-commands=true\n";
	constexpr uint32_t policy = 0x3;
	auto owner = sev::startSessionWithPdhCert(e.platform->pdhCert(), policy);
	REQUIRE(owner.ok());
	auto r = run(sevArgv(e, *owner, policy, true), {}, e.env(), 120);
	INFO(r.err);
	REQUIRE(r.exitStatus == 0);
	pid_t shim = readPid(e.pidfile), qemu = childOf(shim);
	REQUIRE(qemu > 0);
	auto qmp = qmp::SyncClient::connect(e.socket, 10000ms);
	REQUIRE(qmp.ok());
	qmp::SyncClient &c = **qmp;

	// LAUNCH_START and LAUNCH_MEASURE ran before QEMU started; QEMU itself waits (-S).
	auto sevInfo = c.execute("query-sev");
	REQUIRE(sevInfo.ok());
	JsonObject *si = json_node_get_object(sevInfo->get());
	CHECK(json::getBool(si, "enabled").value());
	CHECK(json::getString(si, "state").value() == "launch-secret");
	CHECK(json::getInt(si, "policy").value() == policy);
	CHECK(member(*c.execute("query-status"), "status") == "prelaunch");

	// The owner verifies the measurement against the firmware it expects.
	auto m = c.execute("query-sev-launch-measure");
	REQUIRE(m.ok());
	auto measurement = sev::LaunchMeasurement::fromBase64(member(*m, "data"));
	REQUIRE(measurement.ok());
	sev::LaunchDigestInputs in;
	in.firmware = kOvmf;
	auto expected = sev::computeLaunchDigest(in);
	REQUIRE(expected.ok());
	const auto &v = e.platform->identity().version;
	CHECK(sev::verifyMeasurement(owner->keys.tik, v, policy, expected->launchDigest, *measurement).value());

	// The secret is sealed for this launch, accepted, and is what the guest received.
	std::vector<sev::SecretEntry> entries;
	const std::string key = "cvmt-shim-process disk key";
	entries.push_back({ sev::secret_guid::luksKey(),
			    SecureBuffer(ByteView(reinterpret_cast<const uint8_t *>(key.data()), key.size())) });
	auto table = sev::buildSecretTable(entries);
	REQUIRE(table.ok());
	auto packet = sev::sealSecret(owner->keys.tek, owner->keys.tik, measurement->measure, table->view());
	REQUIRE(packet.ok());
	auto args = injectArgs(*packet);
	REQUIRE(c.execute("sev-inject-launch-secret", json_node_get_object(args.get())).ok());
	auto got = c.execute("x-cvm-sim-guest-secret",
			     json::ObjectBuilder().setInt("gpa", static_cast<int64_t>(kSecretGpa)).object());
	REQUIRE(got.ok());
	CHECK(toHex(json::getBase64(json_node_get_object(got->get()), "data").value()) == toHex(table->view()));

	// cont: LAUNCH_FINISH, then QEMU runs the guest.
	REQUIRE(c.execute("cont").ok());
	CHECK(json::getString(json_node_get_object(c.execute("query-sev")->get()), "state").value() == "running");
	CHECK(member(*c.execute("query-status"), "status") == "running");
	auto late = c.execute("sev-inject-launch-secret", json_node_get_object(args.get()));
	REQUIRE(!late.ok());
	CHECK(qmp::remoteErrorDesc(late.error(), "sev-inject-launch-secret") == "SEV: Not in correct state. (LSECRET) 3");
	(void)c.execute("quit");
	CHECK(gone(qemu));
	CHECK(gone(shim));
}

TEST_CASE("a SEV guest without -S: LAUNCH_FINISH at start-up, as QEMU runs it at once")
{
	Env e;
	REQUIRE(fileExists(kOvmf));
	auto owner = sev::startSessionWithPdhCert(e.platform->pdhCert(), 0x1);
	REQUIRE(owner.ok());
	auto r = run(sevArgv(e, *owner, 0x1, false), {}, e.env(), 120);
	INFO(r.err);
	REQUIRE(r.exitStatus == 0);
	pid_t shim = readPid(e.pidfile), qemu = childOf(shim);
	auto qmp = qmp::SyncClient::connect(e.socket, 10000ms);
	REQUIRE(qmp.ok());
	qmp::SyncClient &c = **qmp;
	CHECK(json::getString(json_node_get_object(c.execute("query-sev")->get()), "state").value() == "running");
	CHECK(member(*c.execute("query-status"), "status") == "running");
	// The measurement stays readable (QEMU keeps it); no secret can be injected.
	CHECK(c.execute("query-sev-launch-measure").ok());
	sev::SecretPacket bogus;
	bogus.header = Bytes(52, 0);
	bogus.payload = Bytes(16, 0);
	auto inject = c.execute("sev-inject-launch-secret", json_node_get_object(injectArgs(bogus).get()));
	REQUIRE(!inject.ok());
	CHECK(qmp::remoteErrorDesc(inject.error(), "sev-inject-launch-secret") == "SEV: Not in correct state. (LSECRET) 3");
	(void)c.execute("quit");
	CHECK(gone(qemu));
	CHECK(gone(shim));
}

TEST_CASE("descriptors passed over the monitor reach QEMU: getfd, closefd, add-fd")
{
	Env e;
	auto r = run(e.probeArgv(), {}, e.env(), 60);
	INFO(r.err);
	REQUIRE(r.exitStatus == 0);
	pid_t shim = readPid(e.pidfile), qemu = childOf(shim);
	RawMonitor m(e.socket);
	CHECK(json::serialize(m.reply().get()).find("\"QMP\"") != std::string::npos);
	CHECK(m.execute(R"({"execute":"qmp_capabilities"})") == R"({"return":{}})");
	int p[2];
	REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
	UniqueFd readEnd(p[0]), writeEnd(p[1]);
	// libvirt's getfd: the descriptor rides on the command.
	CHECK(m.execute(R"({"execute":"getfd","arguments":{"fdname":"cvmt"},"id":1})", writeEnd.get()) ==
	      R"({"return":{},"id":1})");
	// QEMU holds it under that name (closefd of an unknown name fails).
	CHECK(m.execute(R"({"execute":"closefd","arguments":{"fdname":"cvmt"}})") == R"({"return":{}})");
	CHECK(m.execute(R"({"execute":"closefd","arguments":{"fdname":"cvmt"}})").find("File descriptor named 'cvmt' not found") !=
	      std::string::npos);
	// Without a descriptor QEMU refuses getfd, as without the shim.
	CHECK(m.execute(R"({"execute":"getfd","arguments":{"fdname":"none"}})").find("No file descriptor supplied via SCM_RIGHTS") !=
	      std::string::npos);
	// add-fd (libvirt's fd sets: save to a descriptor, hotplugged disks).
	std::string added = m.execute(R"({"execute":"add-fd","arguments":{"fdset-id":7,"opaque":"cvmt-fdset"}})", writeEnd.get());
	INFO(added);
	CHECK(added.find("\"fdset-id\":7") != std::string::npos);
	std::string sets = m.execute(R"({"execute":"query-fdsets"})");
	CHECK(sets.find("cvmt-fdset") != std::string::npos);
	// QEMU's copy is a real descriptor of our pipe: it keeps the pipe open
	// after ours is closed, until QEMU exits.
	writeEnd.reset();
	REQUIRE(::fcntl(readEnd.get(), F_SETFL, O_NONBLOCK) == 0);
	char ch;
	CHECK(::read(readEnd.get(), &ch, 1) < 0); // EAGAIN, not EOF: QEMU holds a write end
	m.send(R"({"execute":"quit"})");
	CHECK(gone(qemu));
	CHECK(gone(shim));
	REQUIRE(::fcntl(readEnd.get(), F_SETFL, 0) == 0);
	CHECK(::read(readEnd.get(), &ch, 1) == 0); // every write end closed
}

