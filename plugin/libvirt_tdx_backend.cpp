// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-plugin"

#include "cvm/plugin/libvirt_tdx_backend.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

namespace cvm::plugin {

Result<std::unique_ptr<LibvirtTdxBackend>> LibvirtTdxBackend::create(virConnect *conn, const DomainXml &xml)
{
	auto copy = CVM_TRY(DomainXml::parse(CVM_TRY(xml.serialize())));
	return std::unique_ptr<LibvirtTdxBackend>(new LibvirtTdxBackend(conn, std::move(copy)));
}

Status LibvirtTdxBackend::checkTdxPlatform()
{
	unsigned long version = 0;
	if (virConnectGetLibVersion(conn_, &version) < 0)
		return libvirtError("asking libvirt for its version");
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
	running_.reset(virDomainCreateXML(conn_, text.c_str(), VIR_DOMAIN_START_PAUSED));
	if (!running_)
		return libvirtError("starting TD '" + xml_.name() + "' paused");
	return {};
}

Status LibvirtTdxBackend::resume()
{
	if (!running_)
		return Error(ErrorCode::Internal, "the TD was not started");
	if (virDomainResume(running_.get()) < 0)
		return libvirtError("resuming TD '" + xml_.name() + "'");
	return {};
}

Status LibvirtTdxBackend::destroy()
{
	if (!running_ || virDomainIsActive(running_.get()) != 1)
		return {};
	if (virDomainDestroy(running_.get()) < 0 && virDomainIsActive(running_.get()) == 1)
		return libvirtError("destroying TD '" + xml_.name() + "'");
	return {};
}

} // namespace cvm::plugin
