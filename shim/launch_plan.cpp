// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-shim"

#include "cvm/shim/launch_plan.h"

#include <algorithm>
#include <map>

#include <glib.h>

#include "firmware_source.h"

namespace cvm::shim {

namespace {

constexpr uint64_t kU32Max = 0xffffffffu;

Error usage(std::string message)
{
	return Error(ErrorCode::InvalidArgument, std::move(message));
}

struct Scan {
	std::map<std::string, size_t> chardevs; // id → option index
	std::vector<size_t> mons, qmps, machines, objects, drives, blockdevs, pflashes;
	std::optional<size_t> bios, kernel, initrd, append, smp, cpu;
};

Scan scanOptions(const std::vector<QemuOption> &options, LaunchPlan &plan)
{
	Scan s;
	for (size_t i = 0; i < options.size(); ++i) {
		const QemuOption &o = options[i];
		const std::string &n = o.name;
		if (n == "chardev") {
			auto cs = OptionString::parse(*o.value, "backend");
			if (cs && cs->get("id"))
				s.chardevs[*cs->get("id")] = i;
		} else if (n == "mon") {
			s.mons.push_back(i);
		} else if (n == "qmp" || n == "qmp-pretty") {
			s.qmps.push_back(i);
		} else if (n == "machine" || n == "M") {
			s.machines.push_back(i);
		} else if (n == "object") {
			s.objects.push_back(i);
		} else if (n == "drive") {
			s.drives.push_back(i);
		} else if (n == "blockdev") {
			s.blockdevs.push_back(i);
		} else if (n == "pflash") {
			s.pflashes.push_back(i);
		} else if (n == "S") {
			plan.startPaused = true;
		} else if (n == "daemonize") {
			plan.daemonize = true;
			plan.dropped.push_back(i);
		} else if (n == "pidfile") {
			plan.pidfile = *o.value;
			plan.dropped.push_back(i);
		} else if (n == "bios") {
			s.bios = i;
		} else if (n == "kernel") {
			s.kernel = i;
		} else if (n == "initrd") {
			s.initrd = i;
		} else if (n == "append") {
			s.append = i;
		} else if (n == "smp") {
			s.smp = i;
		} else if (n == "cpu") {
			s.cpu = i;
		}
	}
	return s;
}

// A "-mon chardev=X,mode=control" over "-chardev socket,...,server=on".
Result<std::optional<MonitorSpec>> monitorFromMon(const std::vector<QemuOption> &options,
						  const Scan &s, size_t monIndex)
{
	auto mon = CVM_TRY(OptionString::parse(*options[monIndex].value, "chardev"));
	if (mon.get("mode").value_or("readline") != "control")
		return std::optional<MonitorSpec>(); // HMP: passed through untouched
	auto id = mon.get("chardev");
	if (!id || !s.chardevs.count(*id))
		return std::optional<MonitorSpec>(); // QEMU reports the dangling reference
	MonitorSpec m;
	m.optionIndex = s.chardevs.at(*id);
	m.chardevId = *id;
	m.pretty = CVM_TRY(mon.getBool("pretty")).value_or(false);
	auto cs = CVM_TRY(OptionString::parse(*options[m.optionIndex].value, "backend"));
	if (cs.get("backend") != "socket" || cs.has("host") || cs.has("telnet") ||
	    cs.has("websocket") || cs.has("tls-creds")) {
		g_warning("QMP monitor '%s' is not a plain unix socket: passed to QEMU unproxied",
			  id->c_str());
		return std::optional<MonitorSpec>();
	}
	bool server = CVM_TRY(cs.getBool("server")).value_or(false);
	if (auto fd = CVM_TRY(cs.getUnsigned("fd", 65535))) {
		m.kind = MonitorSpec::Kind::ChardevFd;
		m.fd = static_cast<int>(*fd);
	} else if (auto path = cs.get("path"); path && server) {
		m.kind = MonitorSpec::Kind::ChardevPath;
		m.path = *path;
	} else {
		g_warning("QMP monitor '%s' connects out: passed to QEMU unproxied", id->c_str());
		return std::optional<MonitorSpec>();
	}
	return std::optional<MonitorSpec>(std::move(m));
}

// "-qmp unix:PATH,server=on,wait=off" (also the legacy "server,nowait").
Result<std::optional<MonitorSpec>> monitorFromQmp(const QemuOption &opt, size_t index)
{
	const std::string &v = *opt.value;
	if (v.rfind("unix:", 0) != 0) {
		g_warning("-%s %s is not a unix socket: passed to QEMU unproxied", opt.name.c_str(),
			  v.c_str());
		return std::optional<MonitorSpec>();
	}
	std::string rest = v.substr(5);
	size_t comma = rest.find(',');
	MonitorSpec m;
	m.kind = MonitorSpec::Kind::QmpUnix;
	m.optionIndex = index;
	m.path = rest.substr(0, comma);
	m.pretty = opt.name == "qmp-pretty";
	auto opts = CVM_TRY(OptionString::parse(
		comma == std::string::npos ? std::string_view() : std::string_view(rest).substr(comma + 1),
		""));
	if (m.path.empty())
		return usage("-" + opt.name + ": the unix socket path is empty");
	if (!CVM_TRY(opts.getBool("server")).value_or(false)) {
		g_warning("-%s %s connects out: passed to QEMU unproxied", opt.name.c_str(), v.c_str());
		return std::optional<MonitorSpec>();
	}
	return std::optional<MonitorSpec>(std::move(m));
}

Status findMonitors(LaunchPlan &plan, const Scan &s)
{
	for (size_t i : s.mons) {
		auto m = CVM_TRY(monitorFromMon(plan.options, s, i));
		if (!m)
			continue;
		bool dup = std::any_of(plan.monitors.begin(), plan.monitors.end(),
				       [&](const MonitorSpec &x) { return x.optionIndex == m->optionIndex; });
		if (dup)
			return usage("chardev '" + m->chardevId + "' is used by two monitors");
		plan.monitors.push_back(std::move(*m));
	}
	for (size_t i : s.qmps) {
		auto m = CVM_TRY(monitorFromQmp(plan.options[i], i));
		if (m)
			plan.monitors.push_back(std::move(*m));
	}
	return {};
}

// The confidential-guest-support object named by the machine options.
Result<std::optional<std::string>> confidentialGuestId(const LaunchPlan &plan, const Scan &s,
						       std::string &machineType)
{
	std::optional<std::string> id;
	for (size_t i : s.machines) {
		auto m = CVM_TRY(OptionString::parse(*plan.options[i].value, "type"));
		if (auto t = m.get("type"))
			machineType = *t;
		if (auto v = m.get("confidential-guest-support"))
			id = *v;
		else if (auto v2 = m.get("memory-encryption"))
			id = *v2;
	}
	return id;
}

Result<std::optional<uint32_t>> u32(const OptionString &o, std::string_view key)
{
	auto v = CVM_TRY(o.getUnsigned(key, kU32Max));
	if (!v)
		return std::optional<uint32_t>();
	return std::optional<uint32_t>(static_cast<uint32_t>(*v));
}

Status readSevObject(const OptionString &obj, SevGuestSpec &sev)
{
	sev.id = obj.get("id").value_or("");
	if (auto p = CVM_TRY(u32(obj, "policy")))
		sev.policy = *p;
	sev.cbitpos = CVM_TRY(u32(obj, "cbitpos"));
	sev.reducedPhysBits = CVM_TRY(u32(obj, "reduced-phys-bits"));
	sev.dhCertFile = obj.get("dh-cert-file").value_or("");
	sev.sessionFile = obj.get("session-file").value_or("");
	sev.kernelHashes = CVM_TRY(obj.getBool("kernel-hashes")).value_or(false);
	sev.sevDevice = obj.get("sev-device").value_or("");
	return {};
}

// vCPUs at start-up: "cpus", or the product of the topology (QEMU's rule).
Result<unsigned> smpCpus(const std::string &text)
{
	auto smp = CVM_TRY(OptionString::parse(text, "cpus"));
	if (auto cpus = CVM_TRY(smp.getUnsigned("cpus", 4096)); cpus && *cpus > 0)
		return static_cast<unsigned>(*cpus);
	uint64_t n = 1;
	for (const char *k : { "sockets", "dies", "clusters", "cores", "threads" }) {
		auto v = CVM_TRY(smp.getUnsigned(k, 4096));
		n *= v.value_or(1);
	}
	if (n == 0 || n > 4096)
		return usage("-smp " + text + ": invalid CPU topology");
	return static_cast<unsigned>(n);
}

Status readSevGuest(LaunchPlan &plan, const Scan &s)
{
	std::string machineType;
	auto cgs = CVM_TRY(confidentialGuestId(plan, s, machineType));
	if (!cgs)
		return {}; // a sev-guest object without the machine using it is not a SEV guest
	std::optional<size_t> found;
	OptionString object;
	for (size_t i : s.objects) {
		auto o = CVM_TRY(OptionString::parse(*plan.options[i].value, "qom-type", true));
		if (o.get("id") != *cgs)
			continue;
		if (o.get("qom-type") != "sev-guest")
			return {}; // another kind of confidential guest: not ours, QEMU decides
		if (found)
			return usage("two objects with id '" + *cgs + "'");
		found = i;
		object = std::move(o);
	}
	if (!found)
		return usage("-machine confidential-guest-support=" + *cgs +
			     ": there is no -object with that id");
	SevGuestSpec sev;
	CVM_CHECK(readSevObject(object, sev));
	sev.machineType = machineType;
	sev.firmware = CVM_TRY(findFirmware(plan.options, s.machines, s.drives, s.blockdevs,
					    s.pflashes, s.bios));
	auto opt = [&](const std::optional<size_t> &i) { return i ? *plan.options[*i].value : ""; };
	sev.kernel = opt(s.kernel);
	sev.initrd = opt(s.initrd);
	sev.cmdline = opt(s.append);
	if (s.smp)
		sev.vcpus = CVM_TRY(smpCpus(opt(s.smp)));
	sev.cpuModel = splitOptionList(opt(s.cpu)).front();
	// kernel-hashes=on without -kernel is accepted: QEMU adds the hashes
	// table only when it loads a kernel (x86_load_linux).
	plan.dropped.push_back(*found);
	plan.sev = std::move(sev);
	return {};
}

} // namespace

Result<LaunchPlan> analyzeQemuArgv(std::vector<QemuOption> options)
{
	LaunchPlan plan;
	plan.options = std::move(options);
	Scan s = scanOptions(plan.options, plan);
	CVM_CHECK(findMonitors(plan, s));
	CVM_CHECK(readSevGuest(plan, s));
	if (plan.sev && !s.machines.empty())
		plan.machineIndex = s.machines.back();
	return plan;
}

namespace {

std::string shimChardevId(size_t n)
{
	return "cvm-shim-qmp" + std::to_string(n);
}

std::string connectedChardev(const std::string &id, int fd)
{
	return "socket,id=" + id + ",fd=" + std::to_string(fd);
}

void appendOption(std::vector<std::string> &out, const char *spelling, std::string value)
{
	out.emplace_back(spelling);
	out.push_back(std::move(value));
}

} // namespace

std::vector<std::string> rewriteForQemu(const LaunchPlan &plan, const std::vector<int> &monitorFds)
{
	std::vector<std::string> out;
	for (size_t i = 0; i < plan.options.size(); ++i) {
		const QemuOption &o = plan.options[i];
		if (std::find(plan.dropped.begin(), plan.dropped.end(), i) != plan.dropped.end())
			continue;
		auto mon = std::find_if(plan.monitors.begin(), plan.monitors.end(),
					[&](const MonitorSpec &m) { return m.optionIndex == i; });
		if (mon != plan.monitors.end()) {
			size_t n = static_cast<size_t>(mon - plan.monitors.begin());
			if (mon->kind == MonitorSpec::Kind::QmpUnix) {
				std::string id = shimChardevId(n);
				appendOption(out, "-chardev", connectedChardev(id, monitorFds[n]));
				appendOption(out, "-mon", "chardev=" + id + ",mode=control" +
								  (mon->pretty ? ",pretty=on" : ""));
			} else {
				appendOption(out, "-chardev", connectedChardev(mon->chardevId, monitorFds[n]));
			}
			continue;
		}
		if (plan.sev && (o.name == "machine" || o.name == "M")) {
			auto m = OptionString::parse(*o.value, "type");
			if (m) { // analyze already parsed it
				m->remove("confidential-guest-support");
				m->remove("memory-encryption");
				appendOption(out, o.spelling.c_str(), m->format());
				continue;
			}
		}
		for (auto &a : formatQemuArgv({ o }))
			out.push_back(std::move(a));
	}
	return out;
}

} // namespace cvm::shim
