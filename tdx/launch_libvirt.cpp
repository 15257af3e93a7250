// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-tdx"

#include <cstdio>
#include <cstring>

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
	xmlNodePtr root = domain ? xmlDocGetRootElement(domain) : nullptr;
	if (!root || std::strcmp(reinterpret_cast<const char *>(root->name), "domain") != 0)
		return Error(ErrorCode::InvalidArgument, "not a libvirt domain XML document (no <domain> root)");
	xmlNodePtr ls = CVM_TRY(buildElement(domain, c));
	for (xmlNodePtr n = root->children; n;) {
		xmlNodePtr next = n->next;
		if (n->type == XML_ELEMENT_NODE && std::strcmp(reinterpret_cast<const char *>(n->name), "launchSecurity") == 0) {
			xmlUnlinkNode(n);
			xmlFreeNode(n);
		}
		n = next;
	}
	xmlAddChild(root, ls);
	return {};
}

} // namespace cvm::tdx
