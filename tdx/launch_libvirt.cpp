// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-tdx"

#include <cstdio>
#include <cstring>
#include <string>

#include "cvm/tdx/launch_config.h"

namespace cvm::tdx {

namespace {

const xmlChar *X(const char *s)
{
	return reinterpret_cast<const xmlChar *>(s);
}

struct XmlBufferFree {
	void operator()(xmlBufferPtr b) const { xmlBufferFree(b); }
};
struct XmlDocFree {
	void operator()(xmlDocPtr d) const { xmlFreeDoc(d); }
};

Result<xmlNodePtr> buildElement(xmlDocPtr doc, const TdxGuestConfig &c)
{
	CVM_CHECK(validateTdxGuestConfig(c));
	if (c.quoteGenerationSocket && c.quoteGenerationSocket->type != SocketAddress::Type::Unix)
		return Error(ErrorCode::Unsupported,
			     "TDX launch configuration: libvirt's <quoteGenerationService> takes only a UNIX socket path");
	xmlNodePtr ls = xmlNewDocNode(doc, nullptr, X("launchSecurity"), nullptr);
	if (!ls)
		return Error(ErrorCode::Internal, "out of memory building <launchSecurity>");
	xmlNewProp(ls, X("type"), X("tdx"));
	if (c.attributes || c.septVeDisable) {
		char buf[32];
		snprintf(buf, sizeof(buf), "0x%08llx", static_cast<unsigned long long>(requestedTdAttributes(c)));
		xmlNewTextChild(ls, nullptr, X("policy"), X(buf));
	}
	auto digestChild = [ls](const char *name, const std::optional<Sha384Digest> &d) {
		if (d)
			xmlNewTextChild(ls, nullptr, X(name), X(toBase64(*d).c_str()));
	};
	digestChild("mrConfigId", c.mrConfigId);
	digestChild("mrOwner", c.mrOwner);
	digestChild("mrOwnerConfig", c.mrOwnerConfig);
	if (c.quoteGenerationSocket) {
		xmlNodePtr qgs = xmlNewChild(ls, nullptr, X("quoteGenerationService"), nullptr);
		if (!c.quoteGenerationSocket->path.empty())
			xmlNewProp(qgs, X("path"), X(c.quoteGenerationSocket->path.c_str()));
	}
	return ls;
}

bool isElement(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && std::strcmp(reinterpret_cast<const char *>(n->name), name) == 0;
}

std::string property(xmlNodePtr n, const char *name)
{
	xmlChar *v = xmlGetProp(n, X(name));
	std::string out = v ? reinterpret_cast<const char *>(v) : "";
	xmlFree(v);
	return out;
}

Result<xmlNodePtr> domainRoot(xmlDocPtr domain)
{
	xmlNodePtr root = domain ? xmlDocGetRootElement(domain) : nullptr;
	if (!root || !isElement(root, "domain"))
		return Error(ErrorCode::InvalidArgument, "not a libvirt domain XML document (no <domain> root)");
	return root;
}

xmlNodePtr fwCfgSysinfo(xmlNodePtr root)
{
	for (xmlNodePtr n = root->children; n; n = n->next)
		if (isElement(n, "sysinfo") && property(n, "type") == "fwcfg")
			return n;
	return nullptr;
}

std::string versionText(unsigned long v)
{
	return std::to_string(v / 1000000) + "." + std::to_string(v / 1000 % 1000) + "." + std::to_string(v % 1000);
}

} // namespace

Result<std::string> libvirtLaunchSecurityXml(const TdxGuestConfig &c)
{
	std::unique_ptr<xmlDoc, XmlDocFree> doc(xmlNewDoc(X("1.0")));
	if (!doc)
		return Error(ErrorCode::Internal, "out of memory building <launchSecurity>");
	xmlNodePtr ls = CVM_TRY(buildElement(doc.get(), c));
	xmlDocSetRootElement(doc.get(), ls);
	std::unique_ptr<xmlBuffer, XmlBufferFree> buf(xmlBufferCreate());
	if (!buf || xmlNodeDump(buf.get(), doc.get(), ls, 0, 1) < 0)
		return Error(ErrorCode::Internal, "cannot serialise <launchSecurity>");
	return std::string(reinterpret_cast<const char *>(xmlBufferContent(buf.get())),
			   static_cast<size_t>(xmlBufferLength(buf.get())));
}

Status setLibvirtLaunchSecurity(xmlDocPtr domain, const TdxGuestConfig &c)
{
	xmlNodePtr root = CVM_TRY(domainRoot(domain));
	xmlNodePtr ls = CVM_TRY(buildElement(domain, c));
	for (xmlNodePtr n = root->children; n;) {
		xmlNodePtr next = n->next;
		if (isElement(n, "launchSecurity")) {
			xmlUnlinkNode(n);
			xmlFreeNode(n);
		}
		n = next;
	}
	xmlAddChild(root, ls);
	return {};
}

Status setLibvirtFwCfgEntry(xmlDocPtr domain, std::string_view name, std::string_view value)
{
	xmlNodePtr root = CVM_TRY(domainRoot(domain));
	std::string n(name), v(value);
	if (n.rfind("opt/", 0) != 0 || v.find('\0') != std::string::npos)
		return Error(ErrorCode::InvalidArgument, "fw_cfg entry \"" + n + "\": the name must start with opt/");
	xmlNodePtr sysinfo = fwCfgSysinfo(root);
	if (!sysinfo) {
		sysinfo = xmlNewChild(root, nullptr, X("sysinfo"), nullptr);
		if (!sysinfo)
			return Error(ErrorCode::Internal, "out of memory building <sysinfo>");
		xmlNewProp(sysinfo, X("type"), X("fwcfg"));
	}
	for (xmlNodePtr e = sysinfo->children; e;) {
		xmlNodePtr next = e->next;
		if (isElement(e, "entry") && property(e, "name") == n) {
			xmlUnlinkNode(e);
			xmlFreeNode(e);
		}
		e = next;
	}
	// xmlNewTextChild escapes the value (xmlNewChild would not).
	xmlNodePtr entry = xmlNewTextChild(sysinfo, nullptr, X("entry"), X(v.c_str()));
	if (!entry)
		return Error(ErrorCode::Internal, "out of memory building <entry>");
	xmlNewProp(entry, X("name"), X(n.c_str()));
	return {};
}

std::optional<std::string> libvirtFwCfgEntry(xmlDocPtr domain, std::string_view name)
{
	auto root = domainRoot(domain);
	if (!root)
		return std::nullopt;
	xmlNodePtr sysinfo = fwCfgSysinfo(*root);
	for (xmlNodePtr e = sysinfo ? sysinfo->children : nullptr; e; e = e->next) {
		if (!isElement(e, "entry") || property(e, "name") != name)
			continue;
		xmlChar *text = xmlNodeGetContent(e);
		std::string out = text ? reinterpret_cast<const char *>(text) : "";
		xmlFree(text);
		return out;
	}
	return std::nullopt;
}

Status checkLibvirtTdxVersion(unsigned long version)
{
	if (version >= kLibvirtTdxMinVersion)
		return {};
	return Error(ErrorCode::Unsupported,
		     "libvirt " + versionText(version) + " has no Intel TDX support: <launchSecurity type='tdx'> needs "
		     "libvirt 11 or later built with TDX (upstream support arrived in the 11.x series; Debian 12 ships "
		     "9.0.0). Launch the TD with 'cvm-launch qemu --scheme intel-tdx' and a QEMU >= 10.1 instead",
		     "tdx-unsupported");
}

} // namespace cvm::tdx
