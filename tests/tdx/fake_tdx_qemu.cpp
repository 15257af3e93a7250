// SPDX-License-Identifier: Apache-2.0
//
// A recording stand-in for a TDX-capable qemu-system-x86_64 (QEMU >= 10.1;
// there is no TDX hardware or such QEMU here). It appends its argument vector
// as one JSON array per line to $CVM_FAKE_QEMU_RECORD, reads the -fw_cfg files
// at start-up as QEMU does, and serves QMP on the -qmp unix socket with the
// sim's server (greeting version 10.1.0):
//   qom-list-types   the confidential-guest types (tdx-guest unless the mode says not)
//   query-status     prelaunch until cont, then running
//   cont, quit
//   x-fake-fw-cfg    {"name": N} -> {"data": the item's contents as read at start-up}
// $CVM_FAKE_QEMU_MODE: "tdx" (default), "no-tdx" (a QEMU without tdx-guest),
// "refuse-td" (exits 1 at start-up, like QEMU when KVM cannot create a TD).
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <glib.h>

#include "cvm/common/file.h"
#include "cvm/common/json.h"
#include "cvm/sim/qmp_server.h"

using namespace cvm;

namespace {

std::string valueAfter(const std::vector<std::string> &args, std::string_view option)
{
	for (size_t i = 0; i + 1 < args.size(); ++i)
		if (args[i] == option)
			return args[i + 1];
	return {};
}

// "name=N,file=F" with ",," for a literal comma.
std::pair<std::string, std::string> fwCfgItem(const std::string &spec)
{
	std::map<std::string, std::string> kv;
	std::string item;
	auto flush = [&] {
		size_t eq = item.find('=');
		kv[item.substr(0, eq)] = eq == std::string::npos ? "" : item.substr(eq + 1);
		item.clear();
	};
	for (size_t i = 0; i < spec.size(); ++i) {
		if (spec[i] == ',' && i + 1 < spec.size() && spec[i + 1] == ',')
			item += ',', ++i;
		else if (spec[i] == ',')
			flush();
		else
			item += spec[i];
	}
	flush();
	return { kv["name"], kv["file"] };
}

void record(const std::vector<std::string> &args)
{
	const char *path = g_getenv("CVM_FAKE_QEMU_RECORD");
	if (!path)
		return;
	JsonArrayPtr a(json_array_new());
	for (const auto &s : args)
		json_array_add_string_element(a.get(), s.c_str());
	JsonNodePtr n(json_node_alloc());
	json_node_init_array(n.get(), a.get());
	std::string line = json::serialize(n.get()) + "\n";
	if (FILE *f = fopen(path, "a")) {
		fputs(line.c_str(), f);
		fclose(f);
	}
}

JsonNodePtr typeList(bool tdx)
{
	JsonArrayPtr a(json_array_new());
	auto add = [&](const char *name, const char *parent) {
		json::ObjectBuilder b;
		b.setString("name", name).setString("parent", parent);
		json_array_add_element(a.get(), b.build().release());
	};
	add("sev-guest", "confidential-guest-support");
	if (tdx)
		add("tdx-guest", "x86-confidential-guest");
	JsonNodePtr n(json_node_alloc());
	json_node_init_array(n.get(), a.get());
	return n;
}

} // namespace

int main(int argc, char **argv)
{
	std::vector<std::string> args(argv + 1, argv + argc);
	record(std::vector<std::string>(argv, argv + argc));
	std::string mode = g_getenv("CVM_FAKE_QEMU_MODE") ? g_getenv("CVM_FAKE_QEMU_MODE") : "tdx";
	bool td = valueAfter(args, "-object").find("\"tdx-guest\"") != std::string::npos;
	if (td && mode == "refuse-td") {
		fprintf(stderr, "%s: -accel kvm: KVM does not support TDX\n", argv[0]);
		return 1;
	}
	std::map<std::string, std::string> fwCfg;
	for (size_t i = 0; i + 1 < args.size(); ++i) {
		if (args[i] != "-fw_cfg")
			continue;
		auto [name, file] = fwCfgItem(args[i + 1]);
		auto text = readTextFile(file, 1 << 16);
		if (!text) {
			fprintf(stderr, "%s: -fw_cfg %s: %s\n", argv[0], args[i + 1].c_str(), text.error().message().c_str());
			return 1;
		}
		fwCfg[name] = *text;
	}
	std::string qmp = valueAfter(args, "-qmp");
	if (qmp.rfind("unix:", 0) != 0) {
		fprintf(stderr, "%s: expected -qmp unix:PATH,...\n", argv[0]);
		return 1;
	}
	std::string socket = qmp.substr(5, qmp.find(',') - 5);

	bool running = false;
	GMainLoop *loop = g_main_loop_new(nullptr, FALSE);
	sim::QmpDispatcher d;
	std::unique_ptr<sim::QmpServer> server;
	d.add({ "qom-list-types",
		{ { "implements", sim::ArgType::String, true }, { "abstract", sim::ArgType::Bool, true } },
		[&](JsonObject *) -> Result<JsonNodePtr> { return typeList(mode != "no-tdx"); } });
	d.add({ "query-status", {}, [&](JsonObject *) -> Result<JsonNodePtr> {
		       json::ObjectBuilder b;
		       b.setString("status", running ? "running" : "prelaunch").setBool("running", running);
		       return b.build();
	       } });
	d.add({ "cont", {}, [&](JsonObject *) -> Result<JsonNodePtr> {
		       running = true;
		       return json::ObjectBuilder().build();
	       } });
	d.add({ "quit", {}, [&](JsonObject *) -> Result<JsonNodePtr> {
		       server->requestShutdownAfterReply();
		       return json::ObjectBuilder().build();
	       } });
	d.add({ "x-fake-fw-cfg", { { "name", sim::ArgType::String } }, [&](JsonObject *a) -> Result<JsonNodePtr> {
		       auto it = fwCfg.find(json_object_get_string_member(a, "name"));
		       if (it == fwCfg.end())
			       return sim::qmpError("no such fw_cfg item");
		       json::ObjectBuilder b;
		       b.setString("data", it->second);
		       return b.build();
	       } });
	sim::QmpSessionOptions options;
	options.version = qmp::Version{ 10, 1, 0, "" };
	sim::Faults faults;
	server = std::make_unique<sim::QmpServer>(d, options, faults);
	server->onShutdown = [loop] { g_main_loop_quit(loop); };
	if (auto st = server->listen(socket); !st) {
		fprintf(stderr, "%s: %s\n", argv[0], st.error().message().c_str());
		return 1;
	}
	g_main_loop_run(loop);
	server.reset();
	g_main_loop_unref(loop);
	return 0;
}
