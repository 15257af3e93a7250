// SPDX-License-Identifier: Apache-2.0
// Fuzzes what a QMP client sends the simulator: framing, request validation,
// negotiation and dispatch to every command (core and SEV) of a SEV guest in
// launch-secret state. Each input is one connection, cut into chunks at 0xfe
// bytes; every output must be CRLF-framed JSON objects.
#include <cstdint>
#include <memory>

#include "cvm/common/file.h"
#include "cvm/common/json.h"
#include "cvm/qmp/wire.h"
#include "cvm/sev/session.h"
#include "cvm/sim/guest_launch.h"
#include "cvm/sim/machine.h"
#include "cvm/sim/qmp_dispatch.h"
#include "cvm/sim/sev_qmp_commands.h"

namespace {

using namespace cvm;
using namespace cvm::sim;

struct World {
	TempDir dir = TempDir::create("cvm-fuzz-sim-").value();
	std::unique_ptr<Platform> platform;
	World()
	{
		PlatformInitOptions o;
		o.stateDir = dir.file("state");
		platform = Platform::init(o).value();
	}
};

std::unique_ptr<GuestLaunch> freshLaunch(const Platform &p)
{
	auto owner = sev::startSessionWithPdhCert(p.pdhCert(), 0x1).value();
	LaunchStartParams params;
	params.godhCert = owner.godhCert;
	params.session = owner.session.serialize();
	auto l = GuestLaunch::start(p, params).value();
	Bytes fw(4096, 0x5a);
	(void)l->updateData(fw);
	(void)l->measure();
	return l;
}

void checkFramed(const std::string &out)
{
	size_t pos = 0;
	while (pos < out.size()) {
		size_t end = out.find("\r\n", pos);
		if (end == std::string::npos)
			__builtin_trap();
		auto node = json::parseObject(out.substr(pos, end - pos));
		if (!node)
			__builtin_trap();
		pos = end + 2;
	}
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static World world;
	auto launch = freshLaunch(*world.platform);
	SevQmpContext sev;
	sev.platform = world.platform.get();
	sev.launch = launch.get();
	sev.secretAreaBase = 0x810000;
	QmpDispatcher d;
	registerSevCommands(d, sev);
	std::unique_ptr<QmpSession> session;
	Machine machine(true, [&](std::string_view n, JsonNode *dn) {
		session->queueEvent(qmp::frameServerMessage(qmp::buildEvent(n, dn)));
	});
	machine.onFirstRun = [&]() { return launch->state() == SevState::Running ? Status() : launch->finish(); };
	machine.registerCommands(d, [] {}, defaultQemuVersion(), "fuzz");
	session = std::make_unique<QmpSession>(d);
	std::string_view in(reinterpret_cast<const char *>(data), size);
	while (!in.empty()) {
		size_t cut = in.find('\xfe');
		session->receive(in.substr(0, cut));
		while (session->processOne()) {
		}
		checkFramed(session->takeOutput());
		in = cut == std::string_view::npos ? std::string_view() : in.substr(cut + 1);
	}
	return 0;
}
