// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-sim"

#include "cvm/sim/machine.h"

#include "cvm/common/json.h"

namespace cvm::sim {

namespace {

JsonNodePtr emptyObject()
{
	return json::ObjectBuilder().build();
}

} // namespace

const char *runStateName(RunState state)
{
	switch (state) {
	case RunState::Prelaunch: return "prelaunch";
	case RunState::Running: return "running";
	case RunState::Paused: return "paused";
	case RunState::Shutdown: return "shutdown";
	}
	return "prelaunch";
}

Machine::Machine(bool startPaused, EventSink emit)
	: state_(startPaused ? RunState::Prelaunch : RunState::Running), emit_(std::move(emit))
{
	ranOnce_ = !startPaused;
}

Status Machine::resume()
{
	if (state_ == RunState::Running)
		return {};
	if (!ranOnce_ && onFirstRun)
		CVM_CHECK(onFirstRun());
	ranOnce_ = true;
	state_ = RunState::Running;
	emit_("RESUME", nullptr);
	return {};
}

Status Machine::pause()
{
	if (state_ == RunState::Running) {
		state_ = RunState::Paused;
		emit_("STOP", nullptr);
	}
	return {};
}

void Machine::shutdown(const char *reason)
{
	state_ = RunState::Shutdown;
	JsonNodePtr data = json::ObjectBuilder().setBool("guest", false).setString("reason", reason).build();
	emit_("SHUTDOWN", data.get());
}

void Machine::registerCommands(QmpDispatcher &d, std::function<void()> onQuit, const qmp::Version &version,
			       std::string name)
{
	d.add({ "query-status", {}, [this](JsonObject *) -> Result<JsonNodePtr> {
		       return json::ObjectBuilder()
			       .setString("status", runStateName(state_))
			       .setBool("singlestep", false)
			       .setBool("running", state_ == RunState::Running)
			       .build();
	       } });
	d.add({ "cont", {}, [this](JsonObject *) -> Result<JsonNodePtr> {
		       CVM_CHECK(resume());
		       return emptyObject();
	       } });
	d.add({ "stop", {}, [this](JsonObject *) -> Result<JsonNodePtr> {
		       CVM_CHECK(pause());
		       return emptyObject();
	       } });
	d.add({ "quit", {}, [this, onQuit](JsonObject *) -> Result<JsonNodePtr> {
		       shutdown("host-qmp-quit");
		       onQuit();
		       return emptyObject();
	       } });
	d.add({ "query-version", {}, [version](JsonObject *) -> Result<JsonNodePtr> {
		       json::ObjectBuilder qemu;
		       qemu.setInt("micro", version.micro).setInt("minor", version.minor).setInt("major", version.major);
		       return json::ObjectBuilder()
			       .setObject("qemu", std::move(qemu))
			       .setString("package", version.package)
			       .build();
	       } });
	d.add({ "query-name", {}, [name](JsonObject *) -> Result<JsonNodePtr> {
		       json::ObjectBuilder b;
		       if (!name.empty())
			       b.setString("name", name);
		       return b.build();
	       } });
	d.add({ "query-kvm", {}, [](JsonObject *) -> Result<JsonNodePtr> {
		       return json::ObjectBuilder().setBool("enabled", true).setBool("present", true).build();
	       } });
}

} // namespace cvm::sim
