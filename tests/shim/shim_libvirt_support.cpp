// SPDX-License-Identifier: Apache-2.0
#include "shim_libvirt_support.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <libvirt/virterror.h>
#include <signal.h>
#include <unistd.h>

#include "cvm/common/bytes.h"
#include "cvm/common/digest.h"
#include "test_support.h"

namespace cvm::test {

namespace {

constexpr const char *kUri = "qemu:///system";
constexpr const char *kCacheDir = "/var/cache/libvirt/qemu/capabilities/";

// Skips, unless this run must test the shim under libvirt (then fails).
void unavailable(const std::string &why)
{
	if (shimRequired()) {
		std::fprintf(stderr, "FAIL: %s (CVM_TEST_SEV_SHIM or CI is set: the libvirt shim tests must run)\n",
			     why.c_str());
		std::exit(1);
	}
	std::fprintf(stderr, "SKIP: %s\n", why.c_str());
	std::exit(77);
}

void ignoreVirErrors(void *, virErrorPtr) {}

} // namespace

bool shimRequired()
{
	for (const char *name : { "CVM_TEST_SEV_SHIM", "CI" }) {
		const char *v = std::getenv(name);
		if (v && *v && std::string(v) != "0" && std::string(v) != "false")
			return true;
	}
	return false;
}

std::string capabilityCacheFile(const std::string &emulator)
{
	auto d = sha256(ByteView(reinterpret_cast<const uint8_t *>(emulator.data()), emulator.size()));
	return std::string(kCacheDir) + (d ? toHex(*d) : std::string()) + ".xml";
}

std::string virError()
{
	virErrorPtr e = virGetLastError();
	return e && e->message ? e->message : "";
}

ShimSetup &ShimSetup::get()
{
	static std::unique_ptr<ShimSetup> setup;
	if (setup)
		return *setup;
	if (run({ sourcePath("scripts/test-services"), "status" }).exitStatus != 0)
		unavailable("no libvirtd from scripts/test-services here (run: scripts/test-services start build)");
	setup.reset(new ShimSetup());
	virSetErrorFunc(nullptr, ignoreVirErrors);
	auto dir = TempDir::create("cvmt-shim-");
	if (!dir)
		unavailable(dir.error().message());
	setup->dir_.emplace(std::move(dir).value());
	sim::PlatformInitOptions opt;
	opt.stateDir = setup->dir_->file("sim-state");
	auto p = sim::Platform::init(opt);
	if (!p) {
		std::fprintf(stderr, "platform init: %s\n", p.error().message().c_str());
		std::exit(1);
	}
	setup->platform_ = std::move(p).value();
	setup->shim_ = setup->dir_->file("cvm-sev-shim");
	setup->cacheFile_ = capabilityCacheFile(setup->shim_); // OpenSSL is gone at exit
	if (::symlink(buildPath("shim/cvm-sev-shim").c_str(), setup->shim_.c_str()) != 0)
		std::exit(1);
	std::ofstream(setup->dir_->file("cvm-sev-shim.conf"))
		<< "[shim]\nqemu=/usr/bin/qemu-system-x86_64\nstate-dir=" << opt.stateDir
		<< "\ntest-commands=true\n";
	setup->conn_.reset(virConnectOpen(kUri));
	if (!setup->conn_)
		unavailable("cannot connect to " + std::string(kUri) + ": " + virError());
	return *setup;
}

ShimSetup::~ShimSetup()
{
	if (!cacheFile_.empty())
		std::remove(cacheFile_.c_str());
}

std::string ShimSetup::domainXml(const std::string &name, const sev::OwnerSession *session,
				 uint32_t policy) const
{
	std::ostringstream x;
	x << "<domain type='qemu'><name>" << name << "</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>"
	  << "<os><type arch='x86_64' machine='q35'>hvm</type>"
	  << "<loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.fd</loader>"
	  << "<nvram template='/usr/share/OVMF/OVMF_VARS.fd'>" << dir_->file(name + "-vars.fd") << "</nvram>"
	  << "</os><features><acpi/></features>"
	  << "<devices><emulator>" << shim_ << "</emulator></devices>";
	if (session) {
		char pol[16];
		std::snprintf(pol, sizeof(pol), "0x%04x", policy);
		x << "<launchSecurity type='sev'><cbitpos>" << platform_->identity().cbitpos << "</cbitpos>"
		  << "<reducedPhysBits>" << platform_->identity().reducedPhysBits << "</reducedPhysBits>"
		  << "<policy>" << pol << "</policy>"
		  << "<dhCert>" << toBase64(session->godhCert) << "</dhCert>"
		  << "<session>" << toBase64(session->session.serialize()) << "</session></launchSecurity>";
	}
	x << "</domain>";
	return x.str();
}

VirDomainPtr ShimSetup::create(const std::string &xml, unsigned flags)
{
	return VirDomainPtr(virDomainCreateXML(conn_.get(), xml.c_str(), flags));
}

void ShimSetup::destroyIfPresent(const std::string &name)
{
	VirDomainPtr d(virDomainLookupByName(conn_.get(), name.c_str()));
	if (d)
		virDomainDestroy(d.get());
}

pid_t domainShimPid(const std::string &name)
{
	std::ifstream f("/run/libvirt/qemu/" + name + ".pid");
	long pid = 0;
	f >> pid;
	return static_cast<pid_t>(pid);
}

pid_t childPid(pid_t parent)
{
	std::ifstream f("/proc/" + std::to_string(parent) + "/task/" + std::to_string(parent) + "/children");
	long pid = 0;
	f >> pid;
	return static_cast<pid_t>(pid);
}

bool processAlive(pid_t pid)
{
	if (pid <= 0 || ::kill(pid, 0) != 0)
		return false;
	// A zombie is gone for our purposes.
	std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
	std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
	size_t p = stat.rfind(')');
	return p != std::string::npos && p + 2 < stat.size() && stat[p + 2] != 'Z';
}

} // namespace cvm::test
