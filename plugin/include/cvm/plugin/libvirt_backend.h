// SPDX-License-Identifier: Apache-2.0
//
// The libvirt backend of the launch state machine: one defined domain on one
// connection.
//
//   certificates  virNodeGetSEVInfo (pdh, cert-chain, cpu0-id, cbitpos, reduced-phys-bits)
//   startPaused   virDomainCreateXML(START_PAUSED) of the domain's persistent XML
//                 plus <launchSecurity type='sev'>: a transient start, so the
//                 persistent definition stays untouched
//   measure       virDomainGetLaunchSecurityInfo
//   injectSecret  virDomainSetLaunchSecurityState (= sev-inject-launch-secret)
//   resume        virDomainResume
//   destroy       virDomainDestroy (idempotent: an inactive domain is fine)
//
// libvirt calls block; their bound is libvirt's own (keepalive, job timeouts).
#pragma once

#include <memory>
#include <string>

#include "cvm/common/error.h"
#include "cvm/plugin/domain_xml.h"
#include "cvm/plugin/launch.h"

typedef struct _virConnect virConnect;
typedef struct _virDomain virDomain;

namespace cvm::plugin {

struct VirConnectClose {
	void operator()(virConnect *c) const;
};
struct VirDomainFree {
	void operator()(virDomain *d) const;
};
using VirConnectPtr = std::unique_ptr<virConnect, VirConnectClose>;
using VirDomainPtr = std::unique_ptr<virDomain, VirDomainFree>;

// The last libvirt error as ours, "context: libvirt's message".
Error libvirtError(std::string_view context);

Result<VirConnectPtr> openLibvirt(const std::string &uri);

// virNodeGetSEVInfo: the platform's certificates and address bits.
Result<PlatformCertificates> nodeSevCertificates(virConnect *conn);

class LibvirtBackend : public LaunchBackend
{
public:
	// Looks the domain up (name or UUID) and reads its persistent XML.
	static Result<std::unique_ptr<LibvirtBackend>> open(virConnect *conn, const std::string &domain);

	const DomainXml &xml() const { return xml_; }
	bool isActive() const;
	bool isPaused() const;

	Result<PlatformCertificates> certificates() override;
	Status startPaused(const SevStartParameters &parameters) override;
	Result<PlatformMeasurement> measure() override;
	Status injectSecret(const SecureBuffer &header, const SecureBuffer &payload,
			    std::optional<uint64_t> guestAddress) override;
	Status resume() override;
	Status destroy() override;

private:
	LibvirtBackend(virConnect *conn, VirDomainPtr domain, DomainXml xml);
	virConnect *conn_;
	VirDomainPtr domain_;
	VirDomainPtr running_;   // what virDomainCreateXML returned
	DomainXml xml_;
};

} // namespace cvm::plugin
