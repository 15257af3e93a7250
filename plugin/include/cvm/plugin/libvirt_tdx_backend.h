// SPDX-License-Identifier: Apache-2.0
//
// The libvirt backend of the TD launch (tdx_launch.h): one defined domain with
// scheme="intel-tdx" metadata on one connection.
//
//   checkTdxPlatform  the libvirt daemon is 11.0.0 or later
//                     (tdx::checkLibvirtTdxVersion; Debian 12's 9.0.0 is refused
//                     with a message saying so, before the AS issues a launch)
//   startTd           virDomainCreateXML(START_PAUSED) of the persistent XML plus
//                     <launchSecurity type='tdx'> and the hand-over
//                     <sysinfo type='fwcfg'> entry: a transient start, the
//                     persistent definition stays untouched
//   resume            virDomainResume
//   destroy           virDomainDestroy of the TD this launch started (never of
//                     another guest of the domain; idempotent)
//
// Every call goes through the LibvirtBackend's bounded connection
// (libvirt_connection.h), so a hung libvirtd costs at most step-timeout.
#pragma once

#include "cvm/plugin/domain_xml.h"
#include "cvm/plugin/libvirt_backend.h"
#include "cvm/plugin/tdx_launch.h"

namespace cvm::plugin {

class LibvirtTdxBackend : public TdxLaunchBackend
{
public:
	// `xml` is the domain's persistent definition (LibvirtBackend::xml()).
	// `conn` (the LibvirtBackend's) must outlive the backend.
	static Result<std::unique_ptr<LibvirtTdxBackend>> create(LibvirtConnection &conn, const DomainXml &xml);

	Status checkTdxPlatform() override;
	Status startTd(const TdxStartParameters &parameters) override;
	Status resume() override;
	Status destroy() override;

	// The definition startTd() passes to libvirt (for tests and diagnostics).
	static Result<std::string> startXml(const DomainXml &xml, const TdxStartParameters &parameters);

private:
	LibvirtTdxBackend(LibvirtConnection &conn, DomainXml xml) : conn_(conn), xml_(std::move(xml)) {}
	LibvirtConnection &conn_;
	DomainXml xml_;
	SharedDomain running_;
};

} // namespace cvm::plugin
