// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-plugin"

#include "cvm/plugin/libvirt_tdx_backend.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

namespace cvm::plugin {

Result<std::unique_ptr<LibvirtTdxBackend>> LibvirtTdxBackend::create(LibvirtConnection &conn, const DomainXml &xml)
{
	auto copy = CVM_TRY(DomainXml::parse(CVM_TRY(xml.serialize())));
	return std::unique_ptr<LibvirtTdxBackend>(new LibvirtTdxBackend(conn, std::move(copy)));
}

Status LibvirtTdxBackend::checkTdxPlatform()
{
	auto version = CVM_TRY(conn_.call<unsigned long>(
		"virConnectGetLibVersion",
		[](virConnect *c) -> Result<unsigned long> {
			unsigned long v = 0;
			if (virConnectGetLibVersion(c, &v) < 0)
				return libvirtError("asking libvirt for its version");
			return v;
		},
		conn_.deadline(), true));
	return tdx::checkLibvirtTdxVersion(version);
}

Result<std::string> LibvirtTdxBackend::startXml(const DomainXml &xml, const TdxStartParameters &p)
{
	auto edited = CVM_TRY(DomainXml::parse(CVM_TRY(xml.serialize())));
	CVM_CHECK(edited.setTdxLaunch(p.config, p.handover));
	return edited.serialize();
}

Status LibvirtTdxBackend::startTd(const TdxStartParameters &p)
{
	std::string text = CVM_TRY(startXml(xml_, p));
	std::string what = "starting TD '" + xml_.name() + "' paused";
	running_ = CVM_TRY(conn_.call<SharedDomain>(
		what,
		[text, what](virConnect *c) -> Result<SharedDomain> {
			VirDomainPtr d(virDomainCreateXML(c, text.c_str(), VIR_DOMAIN_START_PAUSED));
			if (!d)
				return libvirtError(what);
			return shareDomain(std::move(d));
		},
		conn_.deadline(), true));
	return {};
}

Status LibvirtTdxBackend::resume()
{
	if (!running_)
		return Error(ErrorCode::Internal, "the TD was not started");
	std::string what = "resuming TD '" + xml_.name() + "'";
	return status(conn_.call<Done>(
		what,
		[d = running_, what](virConnect *) -> Result<Done> {
			if (virDomainResume(d.get()) < 0)
				return libvirtError(what);
			return Done();
		},
		conn_.deadline(), true));
}

// Only the handle this launch's create returned: a guest some other start
// brought up is not ours to destroy. -1 from virDomainIsActive (libvirt cannot
// tell) is an error, never "not running".
Status LibvirtTdxBackend::destroy()
{
	if (!conn_.settle(conn_.deadline()))
		g_warning("a libvirt call of this TD launch still has not returned");
	if (!running_)
		return {};
	std::string what = "destroying TD '" + xml_.name() + "'";
	CVM_CHECK(status(conn_.call<Done>(
		what,
		[d = running_, what](virConnect *) -> Result<Done> {
			int active = virDomainIsActive(d.get());
			if (active == 0)
				return Done();
			if (active < 0)
				return libvirtError(what);
			if (virDomainDestroy(d.get()) < 0 && virDomainIsActive(d.get()) != 0)
				return libvirtError(what);
			return Done();
		},
		conn_.deadline(), false)));
	running_.reset();
	return {};
}

} // namespace cvm::plugin
