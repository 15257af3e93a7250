// SPDX-License-Identifier: Apache-2.0
//
// The libvirt suite's setup for the shim: a simulated platform in a private
// state directory, a link to the built cvm-sev-shim with its own
// cvm-sev-shim.conf beside it (libvirtd runs emulators with a clean
// environment), a connection to the system libvirtd of scripts/test-services,
// and the removal of libvirt's capability cache entry for that link.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <libvirt/libvirt.h>

#include "cvm/common/file.h"
#include "cvm/sev/session.h"
#include "cvm/sim/platform.h"

namespace cvm::test {

struct VirConnectClose {
	void operator()(virConnectPtr c) const { virConnectClose(c); }
};
struct VirDomainFree {
	void operator()(virDomainPtr d) const { virDomainFree(d); }
};
using VirConnectPtr = std::unique_ptr<virConnect, VirConnectClose>;
using VirDomainPtr = std::unique_ptr<virDomain, VirDomainFree>;

// Whether this run must exercise the shim under libvirt: CVM_TEST_SEV_SHIM
// (scripts/test exports it when it starts libvirtd with the shim as default
// emulator) or CI is set. Then a missing libvirtd or a default emulator
// that is not the shim fails the tests instead of skipping them.
bool shimRequired();

// libvirt's capability cache file for an emulator path (sha256 of the path).
std::string capabilityCacheFile(const std::string &emulator);

// libvirt's last error message ("" when none).
std::string virError();

class ShimSetup
{
public:
	// Exits 77 when scripts/test-services has no libvirtd running here
	// (1 when shimRequired()).
	static ShimSetup &get();
	~ShimSetup();

	virConnectPtr conn() const { return conn_.get(); }
	const std::string &shim() const { return shim_; }
	const std::string &dir() const { return dir_->path(); }
	const sim::Platform &platform() const { return *platform_; }

	// <launchSecurity> for `session` (nullopt: a plain domain).
	std::string domainXml(const std::string &name, const sev::OwnerSession *session, uint32_t policy) const;
	// Creates (and starts) a transient domain; null with virError() on failure.
	VirDomainPtr create(const std::string &xml, unsigned flags);
	// Destroys a leftover domain of that name, if any.
	void destroyIfPresent(const std::string &name);

private:
	ShimSetup() = default;

	std::optional<TempDir> dir_;
	std::string shim_;
	std::string cacheFile_; // removed at exit: libvirt keys its cache by the emulator's path
	std::unique_ptr<sim::Platform> platform_;
	VirConnectPtr conn_;
};

// The shim's pid for a running domain (libvirt's pid file) and QEMU's (its child).
pid_t domainShimPid(const std::string &name);
pid_t childPid(pid_t parent);
bool processAlive(pid_t pid);

} // namespace cvm::test
