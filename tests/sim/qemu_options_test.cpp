// SPDX-License-Identifier: Apache-2.0
//
// The QEMU command line as the simulator reads it: both -object syntaxes
// (keyval as users write it, JSON as libvirt passes it), libvirt's -blockdev
// pflash and fd-passed monitor, QEMU's property errors, fault knobs.
#include <catch2/catch.hpp>

#include "cvm/sev/vmsa.h"
#include "cvm/sim/faults.h"
#include "cvm/sim/qemu_options.h"

using namespace cvm;
using namespace cvm::sim;

TEST_CASE("keyval: implied key, ',,' escape, bare keys")
{
	auto p = parseKeyval("sev-guest,id=a,,b,kernel-hashes,x=", true).value();
	CHECK(p.implied == "sev-guest");
	CHECK(p.get("id") == "a,b");
	CHECK(p.get("kernel-hashes") == "on");
	CHECK(p.get("x") == "");
	CHECK_FALSE(p.get("nope").has_value());
	CHECK_FALSE(parseKeyval("a,=b", true).ok());
}

TEST_CASE("-object sev-guest in keyval and JSON form")
{
	auto kv = parseObjectOption("sev-guest,id=sev0,policy=0x5,cbitpos=51,reduced-phys-bits=1,"
				    "dh-cert-file=/a/godh.b64,session-file=/a/s.b64,kernel-hashes=on")
			  .value();
	REQUIRE(kv.has_value());
	CHECK(kv->id == "sev0");
	CHECK(kv->policy == 5);
	CHECK(kv->cbitpos == 51u);
	CHECK(kv->reducedPhysBits == 1u);
	CHECK(kv->dhCertFile == "/a/godh.b64");
	CHECK(kv->sessionFile == "/a/s.b64");
	CHECK(kv->kernelHashes);

	auto js = parseObjectOption(R"({"qom-type":"sev-guest","id":"lsec0","cbitpos":51,"reduced-phys-bits":1,)"
				    R"("policy":7,"dh-cert-file":"/d","session-file":"/s","kernel-hashes":true})")
			  .value();
	REQUIRE(js.has_value());
	CHECK(js->id == "lsec0");
	CHECK(js->policy == 7);
	CHECK(js->kernelHashes);

	auto dflt = parseObjectOption("sev-guest,id=x").value();
	CHECK(dflt->policy == 1); // QEMU's default, NODBG
	CHECK_FALSE(parseObjectOption("memory-backend-ram,id=m,size=1G").value().has_value());
	CHECK_FALSE(parseObjectOption(R"({"qom-type":"secret","id":"s","data":"x"})").value().has_value());
}

TEST_CASE("-object errors read like QEMU's")
{
	auto msg = [](const char *text) { return parseObjectOption(text).error().message(); };
	CHECK(msg("sev-guest,id=a,policy=lots") == "Parameter 'policy' expects integer");
	CHECK(msg("sev-guest,id=a,policy=0x100000000") == "Parameter 'policy' expects uint32_t");
	CHECK(msg("sev-guest,id=a,policy=-1") == "Parameter 'policy' expects integer");
	CHECK(msg("sev-guest,id=a,kernel-hashes=maybe") == "Parameter 'kernel-hashes' expects 'on' or 'off'");
	CHECK(msg("sev-guest,id=a,bogus=1") == "Property 'sev-guest.bogus' not found");
	CHECK(msg("sev-guest,policy=1") == "Parameter 'id' is missing");
	CHECK(msg(R"({"qom-type":"sev-guest","id":"a","policy":"1"})") ==
	      "Invalid parameter type for 'policy', expected: integer");
	CHECK(msg(R"({"qom-type":"sev-guest","id":"a","kernel-hashes":"on"})") ==
	      "Invalid parameter type for 'kernel-hashes', expected: boolean");
	CHECK(msg(R"({"id":"a"})") == "Parameter 'qom-type' is missing");
	CHECK_FALSE(parseObjectOption("{not json").ok());
}

TEST_CASE("a user's command line")
{
	auto o = parseQemuCommandLine({ "-machine", "q35,confidential-guest-support=sev0", "-object",
					"sev-guest,id=sev0,cbitpos=51,reduced-phys-bits=1", "-drive",
					"if=pflash,format=raw,unit=0,file=/fw/OVMF.fd,readonly=on", "-drive",
					"if=pflash,format=raw,unit=1,file=/fw/VARS.fd", "-kernel", "/k", "-initrd", "/i",
					"-append", "console=ttyS0", "-smp", "4", "-cpu", "EPYC-Milan,+x", "-m", "2G", "-S",
					"-nodefaults", "-display", "none", "-qmp", "unix:/run/q.sock,server=on,wait=off",
					"--state-dir=/st", "--fault", "delay-ms=3", "-name", "guest=vm1,debug-threads=on" })
			 .value();
	REQUIRE(o.sevGuest.has_value());
	CHECK(o.confidentialGuestSupport == "sev0");
	CHECK(o.firmware == "/fw/OVMF.fd"); // unit 0 only: VARS are not measured
	CHECK(o.kernel == "/k");
	CHECK(o.initrd == "/i");
	CHECK(o.append == "console=ttyS0");
	CHECK(o.smp == 4);
	CHECK(o.cpuModel == "EPYC-Milan");
	CHECK(o.memoryMiB == 2048);
	CHECK(o.startPaused);
	REQUIRE(o.qmp.size() == 1);
	CHECK(o.qmp[0].path == "/run/q.sock");
	CHECK(o.stateDir == "/st");
	CHECK(o.faults == std::vector<std::string>{ "delay-ms=3" });
	CHECK(o.name == "vm1");
	CHECK(std::find(o.ignored.begin(), o.ignored.end(), "-display none") != o.ignored.end());
}

TEST_CASE("libvirt's command line: JSON -object, -blockdev pflash, fd-passed monitor")
{
	auto o = parseQemuCommandLine(
			 { "-name", "guest=cvmt,debug-threads=on", "-S", "-object",
			   R"({"qom-type":"sev-guest","id":"lsec0","cbitpos":51,"reduced-phys-bits":1,"policy":3})",
			   "-blockdev",
			   R"({"driver":"file","filename":"/usr/share/OVMF/OVMF_CODE.fd","node-name":"libvirt-pflash0-storage","read-only":true})",
			   "-blockdev", R"({"node-name":"libvirt-pflash0-format","read-only":true,"driver":"raw","file":"libvirt-pflash0-storage"})",
			   "-machine", "pc-q35-7.2,usb=off,pflash0=libvirt-pflash0-format,confidential-guest-support=lsec0",
			   "-chardev", "socket,id=charmonitor,fd=23,server=on,wait=off", "-mon",
			   "chardev=charmonitor,id=monitor,mode=control", "-no-shutdown" })
			 .value();
	CHECK(o.firmware == "/usr/share/OVMF/OVMF_CODE.fd");
	REQUIRE(o.qmp.size() == 1);
	CHECK(o.qmp[0].fd == 23);
	CHECK(o.sevGuest->policy == 3);
	CHECK(o.name == "cvmt");
}

TEST_CASE("command-line errors")
{
	auto msg = [](std::vector<std::string> a) { return parseQemuCommandLine(a).error().message(); };
	CHECK(msg({ "-kernel" }) == "-kernel: requires an argument");
	CHECK(msg({ "stray" }) == "stray: invalid option");
	CHECK(msg({ "-machine", "q35,confidential-guest-support=nope" }).find("'nope' not found") != std::string::npos);
	CHECK(msg({ "-mon", "chardev=x,mode=control" }) == "-mon chardev=x,mode=control: chardev \"x\" not found");
	CHECK(msg({ "-smp", "0" }).find("positive") != std::string::npos);
	CHECK(msg({ "-machine", "q35,pflash0=n" }).find("no -blockdev") != std::string::npos);
}

TEST_CASE("CPU models and their signatures")
{
	CHECK(cpuSignatureForModel("EPYC") == 0x800f12u);
	CHECK(cpuSignatureForModel("EPYC-v4") == 0x800f12u);
	CHECK(cpuSignatureForModel("EPYC-Rome") == sev::cpuSignature(23, 49, 0));
	CHECK(cpuSignatureForModel("EPYC-Milan-v2") == sev::cpuSignature(25, 1, 1));
	CHECK(cpuSignatureForModel("EPYC-Genoa") == sev::cpuSignature(25, 17, 0));
	CHECK_FALSE(cpuSignatureForModel("host").has_value());
	CHECK_FALSE(cpuSignatureForModel("EPYCX").has_value());
}

TEST_CASE("fault knobs parse")
{
	Faults f;
	REQUIRE(addFaults(f, "wrong-measurement,delay-ms=20,drop-after=3").ok());
	REQUIRE(addFaults(f, "malformed-reply=query-sev").ok());
	REQUIRE(addFaults(f, "malformed-reply=4,exit-at=cont").ok());
	CHECK(f.wrongMeasurement);
	CHECK(f.delayMs == 20);
	CHECK(f.dropAfter == 3u);
	CHECK(f.malformedReplyCommand == "query-sev");
	CHECK(f.malformedReplyIndex == 4u);
	CHECK(f.exitsAt("cont"));
	CHECK_FALSE(f.exitsAt("quit"));
	CHECK_FALSE(addFaults(f, "delay-ms=soon").ok());
	CHECK_FALSE(addFaults(f, "exit-at").ok());
	CHECK(addFaults(f, "boom").error().message().find("unknown fault knob 'boom'") == 0);
}
