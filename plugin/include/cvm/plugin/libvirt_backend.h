// SPDX-License-Identifier: Apache-2.0
//
// The libvirt backend of the launch state machine: one defined domain on one
// connection (libvirt_connection.h: every call bounded by step-timeout).
//
//   certificates  virNodeGetSEVInfo (pdh, cert-chain, cpu0-id, cbitpos, reduced-phys-bits)
//   startPaused   virDomainCreateXML(START_PAUSED) of the domain's persistent XML
//                 plus <launchSecurity type='sev'>: a transient start, so the
//                 persistent definition stays untouched
//   measure       virDomainGetLaunchSecurityInfo
//   injectSecret  virDomainSetLaunchSecurityState (= sev-inject-launch-secret)
//   resume        virDomainResume
//   destroy       virDomainDestroy of the guest this launch started, and only
//                 of it (see destroyLaunch)
//
// A guest is this launch's when its live <launchSecurity> session is the one
// this launch started it with: a session is issued for one launch, so no
// other start carries it. The rollback finds the guest by that, not by the
// handle virDomainCreateXML returned: it works when the create failed after
// QEMU had started, after a concurrent start won the race (that guest is left
// alone), and after libvirtd restarted (the connection is reopened and the
// domain looked up again by UUID, within step-timeout).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "cvm/common/error.h"
#include "cvm/plugin/domain_xml.h"
#include "cvm/plugin/launch.h"
#include "cvm/plugin/libvirt_connection.h"

namespace cvm::plugin {

// virNodeGetSEVInfo: the platform's certificates and address bits (unbounded;
// LibvirtConnection::call bounds it).
Result<PlatformCertificates> nodeSevCertificates(virConnect *conn);

class LibvirtBackend : public LaunchBackend
{
public:
	// Connects to `uri`, looks the domain up (name or UUID) and reads its
	// persistent XML; every libvirt call is then bounded by stepTimeout.
	static Result<std::unique_ptr<LibvirtBackend>> open(const std::string &uri, const std::string &domain,
							    std::chrono::milliseconds stepTimeout);

	const DomainXml &xml() const { return xml_; }
	// The bounded connection (for the TD backend of the same domain).
	LibvirtConnection &connection() { return *conn_; }
	// Waits on libvirt calls end on a signal too (not those of a rollback).
	void setInterruptCheck(InterruptCheck check) { conn_->setInterruptCheck(std::move(check)); }
	// Whether the domain runs; an error when libvirt cannot tell.
	Result<bool> isActive();
	// Destroys the domain if, and only if, it runs with the <launchSecurity>
	// session `session`: OK when no such guest runs (any more). Reconnects
	// while libvirtd is away, until step-timeout has passed.
	Status destroyLaunch(ByteView session);

	Result<PlatformCertificates> certificates() override;
	Status startPaused(const SevStartParameters &parameters) override;
	Result<PlatformMeasurement> measure() override;
	Status injectSecret(const SecureBuffer &header, const SecureBuffer &payload,
			    std::optional<uint64_t> guestAddress) override;
	Status resume() override;
	// destroyLaunch of the session startPaused was given; first waits (within
	// step-timeout) for a libvirt call given up on, so a start still in
	// flight cannot bring the guest up behind the rollback's back.
	Status destroy() override;

private:
	LibvirtBackend(std::unique_ptr<LibvirtConnection> conn, DomainXml xml);
	Result<SharedDomain> started(const char *what) const;
	Result<SharedDomain> lookup(LibvirtConnection::Clock::time_point deadline);
	Result<bool> destroyOnce(ByteView session, LibvirtConnection::Clock::time_point deadline);

	std::unique_ptr<LibvirtConnection> conn_;
	DomainXml xml_;
	std::string uuid_;
	std::string name_;
	SharedDomain running_;           // what virDomainCreateXML returned
	std::optional<Bytes> session_;   // set once a start was attempted
};

} // namespace cvm::plugin
