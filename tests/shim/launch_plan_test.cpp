// SPDX-License-Identifier: Apache-2.0
//
// The launch plan for the command lines libvirt 9.0 passes: the capability
// probe, a plain domain (from `virsh domxml-to-native qemu-argv` on this
// machine's libvirtd) and the same domain with <launchSecurity type='sev'>.
#include <catch2/catch.hpp>

#include <algorithm>

#include "cvm/shim/launch_plan.h"

using namespace cvm;
using namespace cvm::shim;

namespace {

using Argv = std::vector<std::string>;

const char *kDir = "/var/lib/libvirt/qemu/domain-3-cvmt-shim-a";

Argv libvirtDomain(bool sev, bool monitorFd = true)
{
	std::string d = kDir;
	Argv a = {
		"-name", "guest=cvmt-shim-a,debug-threads=on", "-S",
		"-object", R"({"qom-type":"secret","id":"masterKey0","format":"raw","file":")" + d + R"(/master-key.aes"})",
		"-blockdev", R"({"driver":"file","filename":"/usr/share/OVMF/OVMF_CODE.fd","node-name":"libvirt-pflash0-storage","auto-read-only":true,"discard":"unmap"})",
		"-blockdev", R"({"node-name":"libvirt-pflash0-format","read-only":true,"driver":"raw","file":"libvirt-pflash0-storage"})",
		"-blockdev", R"({"driver":"file","filename":"/tmp/vars.fd","node-name":"libvirt-pflash1-storage","auto-read-only":true,"discard":"unmap"})",
		"-blockdev", R"({"node-name":"libvirt-pflash1-format","read-only":false,"driver":"raw","file":"libvirt-pflash1-storage"})",
		"-machine", std::string("pc-q35-7.2,usb=off,dump-guest-core=off,memory-backend=pc.ram,pflash0=libvirt-pflash0-format,pflash1=libvirt-pflash1-format") +
			(sev ? ",confidential-guest-support=lsec0" : ""),
		"-accel", "tcg", "-cpu", "qemu64", "-m", "256",
		"-object", R"({"qom-type":"memory-backend-ram","id":"pc.ram","size":268435456})",
		"-overcommit", "mem-lock=off", "-smp", "2,sockets=2,cores=1,threads=1",
		"-display", "none", "-no-user-config", "-nodefaults",
		"-chardev", monitorFd ? "socket,id=charmonitor,fd=23,server=on,wait=off"
				      : "socket,id=charmonitor,path=" + d + "/monitor.sock,server=on,wait=off",
		"-mon", "chardev=charmonitor,id=monitor,mode=control",
		"-rtc", "base=utc", "-no-shutdown", "-boot", "strict=on",
	};
	if (sev) {
		a.push_back("-object");
		a.push_back(R"({"qom-type":"sev-guest","id":"lsec0","cbitpos":47,"reduced-phys-bits":1,"policy":3,"dh-cert-file":")" +
			    d + R"(/dh_cert.base64","session-file":")" + d + R"(/session.base64"})");
	}
	a.insert(a.end(), { "-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
			    "-msg", "timestamp=on" });
	return a;
}

LaunchPlan plan(const Argv &argv)
{
	auto o = parseQemuArgv(argv);
	REQUIRE(o.ok());
	auto p = analyzeQemuArgv(std::move(o).value());
	if (!p.ok())
		FAIL(p.error().message());
	return std::move(p).value();
}

Error planError(const Argv &argv)
{
	auto o = parseQemuArgv(argv);
	REQUIRE(o.ok());
	auto p = analyzeQemuArgv(std::move(o).value());
	REQUIRE(!p.ok());
	return p.error();
}

} // namespace

TEST_CASE("libvirt's capability probe: the -qmp socket, -daemonize and -pidfile are the shim's")
{
	auto p = plan({ "-S", "-no-user-config", "-nodefaults", "-nographic", "-machine", "none,accel=kvm:tcg",
			"-qmp", "unix:/var/lib/libvirt/qemu/qmp-AB12/qmp.monitor,server=on,wait=off",
			"-pidfile", "/var/lib/libvirt/qemu/qmp-AB12/qmp.pid", "-daemonize" });
	CHECK(p.daemonize);
	CHECK(p.pidfile == "/var/lib/libvirt/qemu/qmp-AB12/qmp.pid");
	CHECK(!p.sev);
	REQUIRE(p.monitors.size() == 1);
	CHECK(p.monitors[0].kind == MonitorSpec::Kind::QmpUnix);
	CHECK(p.monitors[0].path == "/var/lib/libvirt/qemu/qmp-AB12/qmp.monitor");
	auto out = rewriteForQemu(p, { 5 });
	CHECK(out == Argv{ "-S", "-no-user-config", "-nodefaults", "-nographic", "-machine", "none,accel=kvm:tcg",
			   "-chardev", "socket,id=cvm-shim-qmp0,fd=5",
			   "-mon", "chardev=cvm-shim-qmp0,mode=control" });
}

TEST_CASE("a plain libvirt domain passes through with only its monitor replaced")
{
	for (bool fd : { true, false }) {
		Argv argv = libvirtDomain(false, fd);
		auto p = plan(argv);
		CHECK(!p.sev);
		CHECK(!p.daemonize);
		REQUIRE(p.monitors.size() == 1);
		CHECK(p.monitors[0].chardevId == "charmonitor");
		CHECK(p.monitors[0].kind == (fd ? MonitorSpec::Kind::ChardevFd : MonitorSpec::Kind::ChardevPath));
		if (fd)
			CHECK(p.monitors[0].fd == 23);
		else
			CHECK(p.monitors[0].path == std::string(kDir) + "/monitor.sock");
		auto out = rewriteForQemu(p, { 9 });
		REQUIRE(out.size() == argv.size());
		for (size_t i = 0; i < argv.size(); ++i) {
			if (argv[i].rfind("socket,id=charmonitor", 0) == 0)
				CHECK(out[i] == "socket,id=charmonitor,fd=9");
			else
				CHECK(out[i] == argv[i]);
		}
	}
}

TEST_CASE("a libvirt SEV domain: the sev-guest object is read and removed")
{
	auto p = plan(libvirtDomain(true));
	REQUIRE(p.sev);
	const SevGuestSpec &s = *p.sev;
	CHECK(s.id == "lsec0");
	CHECK(s.policy == 3);
	CHECK(s.cbitpos == 47u);
	CHECK(s.reducedPhysBits == 1u);
	CHECK(s.dhCertFile == std::string(kDir) + "/dh_cert.base64");
	CHECK(s.sessionFile == std::string(kDir) + "/session.base64");
	CHECK(s.firmware == "/usr/share/OVMF/OVMF_CODE.fd");
	CHECK(s.vcpus == 2);
	CHECK(s.cpuModel == "qemu64");
	CHECK(s.machineType == "pc-q35-7.2");
	CHECK(!s.kernelHashes);
	auto out = rewriteForQemu(p, { 4 });
	Argv plain = rewriteForQemu(plan(libvirtDomain(false)), { 4 });
	CHECK(out == plain);
	for (auto &a : out)
		CHECK(a.find("sev-guest") == std::string::npos);
}

TEST_CASE("the firmware comes from pflash unit 0 in each of QEMU's spellings, or -bios")
{
	Argv sev = { "-machine", "q35,confidential-guest-support=s0", "-object",
		     "sev-guest,id=s0,cbitpos=51,reduced-phys-bits=1,policy=0x1" };
	auto with = [&](Argv more) {
		Argv a = sev;
		a.insert(a.end(), more.begin(), more.end());
		return a;
	};
	CHECK(plan(with({ "-drive", "if=pflash,format=raw,unit=1,file=/v.fd", "-drive",
			  "if=pflash,format=raw,unit=0,file=/c,,d.fd,readonly=on" })).sev->firmware == "/c,d.fd");
	CHECK(plan(with({ "-drive", "if=pflash,format=raw,file=/c.fd", "-drive", "if=pflash,file=/v.fd" }))
		      .sev->firmware == "/c.fd");
	CHECK(plan(with({ "-pflash", "/p.fd" })).sev->firmware == "/p.fd");
	CHECK(plan(with({ "-bios", "OVMF.fd" })).sev->firmware == "/usr/share/qemu/OVMF.fd");
	CHECK(plan(with({ "-bios", "/x/OVMF.fd", "-kernel", "/k", "-initrd", "/i", "-append", "a b" }))
		      .sev->kernel == "/k");
	CHECK(planError(sev).message() ==
	      "a SEV guest needs its firmware (pflash unit 0 or -bios): none is given");
	CHECK(planError(with({ "-machine", "pflash0=nope" })).message() ==
	      "pflash0=nope: there is no -blockdev node 'nope'");
}

TEST_CASE("SEV command lines QEMU would refuse are refused with the reason")
{
	CHECK(planError({ "-machine", "q35,confidential-guest-support=s0" }).message() ==
	      "-machine confidential-guest-support=s0: there is no -object with that id");
	CHECK(planError({ "-machine", "q35,memory-encryption=s0", "-bios", "b", "-object",
			  "sev-guest,id=s0,policy=0x100000000" })
		      .message()
		      .find("'policy' expects an unsigned number") != std::string::npos);
	CHECK(planError({ "-machine", "q35,confidential-guest-support=s0", "-bios", "b", "-object",
			  "sev-guest,id=s0", "-object", "sev-guest,id=s0" })
		      .message() == "two objects with id 's0'");
	CHECK(planError({ "-machine", "q35,confidential-guest-support=s0", "-bios", "b", "-smp",
			  "sockets=0", "-object", "sev-guest,id=s0" })
		      .message()
		      .find("invalid CPU topology") != std::string::npos);
	// A sev-guest the machine does not use is not a SEV guest; neither is another kind.
	CHECK(!plan({ "-object", "sev-guest,id=s0", "-bios", "b" }).sev);
	CHECK(!plan({ "-machine", "q35,confidential-guest-support=t0", "-object", "tdx-guest,id=t0" }).sev);
}

TEST_CASE("kernel-hashes=on without -kernel is accepted, as QEMU 7.2 accepts it")
{
	// QEMU adds the hashes table only in x86_load_linux (a kernel is
	// loaded); without -kernel the property has no effect.
	auto p = plan({ "-machine", "q35,confidential-guest-support=s0", "-bios", "b", "-object",
			"sev-guest,id=s0,kernel-hashes=on" });
	REQUIRE(p.sev);
	CHECK(p.sev->kernelHashes);
	CHECK(p.sev->kernel.empty());
	auto k = plan({ "-machine", "q35,confidential-guest-support=s0", "-bios", "b", "-kernel", "/k", "-object",
			"sev-guest,id=s0,kernel-hashes=on" });
	CHECK(k.sev->kernelHashes);
	CHECK(k.sev->kernel == "/k");
}

TEST_CASE("-S is noted: without it QEMU runs the guest at once")
{
	Argv base = { "-machine", "q35,confidential-guest-support=s0", "-bios", "b", "-object", "sev-guest,id=s0" };
	CHECK(!plan(base).startPaused);
	base.push_back("-S");
	CHECK(plan(base).startPaused);
	CHECK(plan(libvirtDomain(true)).startPaused);
}

TEST_CASE("-smp vCPU counts follow QEMU's rule")
{
	Argv base = { "-machine", "q35,confidential-guest-support=s0", "-bios", "b", "-object", "sev-guest,id=s0" };
	auto vcpus = [&](const std::string &smp) {
		Argv a = base;
		a.insert(a.end(), { "-smp", smp });
		return plan(a).sev->vcpus;
	};
	CHECK(vcpus("4") == 4);
	CHECK(vcpus("cpus=3,maxcpus=8") == 3);
	CHECK(vcpus("sockets=2,cores=2,threads=2") == 8);
	CHECK(plan(base).sev->vcpus == 1);
}

TEST_CASE("monitors the shim cannot proxy are left to QEMU")
{
	auto p = plan({ "-chardev", "socket,id=m,host=127.0.0.1,port=4444,server=on", "-mon", "chardev=m,mode=control",
			"-chardev", "socket,id=h,path=/h,server=on", "-mon", "chardev=h",
			"-chardev", "socket,id=c,path=/c", "-mon", "chardev=c,mode=control",
			"-qmp", "tcp:127.0.0.1:1,server=on", "-qmp", "unix:/q" });
	CHECK(p.monitors.empty());
	auto pretty = plan({ "-qmp-pretty", "unix:/q,server=on,wait=off" });
	REQUIRE(pretty.monitors.size() == 1);
	CHECK(pretty.monitors[0].pretty);
	CHECK(planError({ "-chardev", "socket,id=m,fd=3,server=on", "-mon", "chardev=m,mode=control", "-mon",
			  "chardev=m,mode=control" })
		      .message() == "chardev 'm' is used by two monitors");
	CHECK(planError({ "-qmp", "unix:,server=on" }).message() == "-qmp: the unix socket path is empty");
}
