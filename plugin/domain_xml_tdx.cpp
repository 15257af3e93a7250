// SPDX-License-Identifier: Apache-2.0
//
// The intel-tdx edits of a domain definition (DomainXml members kept apart
// from the SEV ones): <launchSecurity type='tdx'> and the fw_cfg hand-over
// item, both from tdx/launch_libvirt.cpp's builders.
#define G_LOG_DOMAIN "cvm-plugin"

#include <cstring>

#include <libxml/tree.h>

#include "cvm/plugin/domain_xml.h"
#include "cvm/tdx/launch_config.h"

namespace cvm::plugin {

Status DomainXml::setTdxLaunch(const tdx::TdxGuestConfig &config, std::string_view handover)
{
	CVM_CHECK(tdx::setLibvirtLaunchSecurity(doc_.get(), config));
	return tdx::setLibvirtFwCfgEntry(doc_.get(), tdx::kFwCfgLaunchItem, handover);
}

std::optional<std::string> DomainXml::launchToken() const
{
	if (auto session = sevSession())
		return session;
	xmlNode *root = xmlDocGetRootElement(doc_.get());
	bool tdx = false;
	for (xmlNode *n = root ? root->children : nullptr; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE || std::strcmp(reinterpret_cast<const char *>(n->name), "launchSecurity"))
			continue;
		xmlChar *type = xmlGetProp(n, reinterpret_cast<const xmlChar *>("type"));
		tdx = type && std::strcmp(reinterpret_cast<const char *>(type), "tdx") == 0;
		xmlFree(type);
	}
	if (!tdx)
		return std::nullopt;
	auto handover = tdx::libvirtFwCfgEntry(doc_.get(), tdx::kFwCfgLaunchItem);
	if (!handover)
		return std::nullopt;
	return toBase64(asBytes(*handover));
}

} // namespace cvm::plugin
