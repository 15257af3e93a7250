// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-plugin"

#include "cvm/plugin/domain_xml.h"

#include <cstring>
#include <functional>
#include <vector>

#include <glib.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

namespace cvm::plugin {

namespace {

const xmlChar *X(const char *s)
{
	return reinterpret_cast<const xmlChar *>(s);
}

std::string text(const xmlChar *s)
{
	return s ? std::string(reinterpret_cast<const char *>(s)) : std::string();
}

bool isElement(const xmlNode *n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && std::strcmp(reinterpret_cast<const char *>(n->name), name) == 0 &&
	       !n->ns;
}

bool inOurNamespace(const xmlNode *n)
{
	return n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
	       kMetadataNamespace == reinterpret_cast<const char *>(n->ns->href);
}

xmlNode *child(const xmlNode *parent, const char *name)
{
	if (!parent)
		return nullptr;
	for (xmlNode *n = parent->children; n; n = n->next)
		if (isElement(n, name))
			return n;
	return nullptr;
}

std::string contentOf(const xmlNode *n)
{
	struct Free {
		void operator()(xmlChar *p) const { xmlFree(p); }
	};
	std::unique_ptr<xmlChar, Free> c(xmlNodeGetContent(n));
	std::string s = text(c.get());
	const char *ws = " \t\r\n";
	size_t b = s.find_first_not_of(ws);
	if (b == std::string::npos)
		return {};
	size_t e = s.find_last_not_of(ws);
	return s.substr(b, e - b + 1);
}

std::string attribute(const xmlNode *n, const char *name)
{
	struct Free {
		void operator()(xmlChar *p) const { xmlFree(p); }
	};
	std::unique_ptr<xmlChar, Free> v(xmlGetNoNsProp(n, X(name)));
	return text(v.get());
}

void appendIndented(xmlNode *parent, xmlNode *node, const char *indent)
{
	// Keeps the document readable: the new element on its own line, before the
	// whitespace that closes the parent (removeChildren takes both away again).
	xmlNode *last = xmlGetLastChild(parent);
	if (last && last->type == XML_TEXT_NODE && xmlIsBlankNode(last)) {
		std::string lead = std::string("\n") + indent;
		// Node first: libxml2 merges a text node inserted next to another one.
		xmlAddPrevSibling(last, node);
		xmlAddPrevSibling(node, xmlNewText(X(lead.c_str())));
	} else {
		xmlAddChild(parent, node);
	}
}

void removeChildren(xmlNode *parent, const std::function<bool(const xmlNode *)> &match)
{
	for (xmlNode *n = parent->children; n;) {
		xmlNode *next = n->next;
		if (match(n)) {
			// Take the indentation in front of it along.
			xmlNode *prev = n->prev;
			if (prev && prev->type == XML_TEXT_NODE && xmlIsBlankNode(prev)) {
				xmlUnlinkNode(prev);
				xmlFreeNode(prev);
			}
			xmlUnlinkNode(n);
			xmlFreeNode(n);
		}
		n = next;
	}
}

} // namespace

void DomainXml::DocFree::operator()(xmlDoc *doc) const
{
	xmlFreeDoc(doc);
}

DomainXml::DomainXml(DomainXml &&) noexcept = default;
DomainXml &DomainXml::operator=(DomainXml &&) noexcept = default;
DomainXml::~DomainXml() = default;

bool mayHaveLaunchMetadata(std::string_view xml)
{
	// Comments and CDATA cannot create elements; a character reference could
	// spell the URI and a DOCTYPE could declare entities (parse() refuses it).
	return xml.find(kMetadataNamespace) != std::string_view::npos || xml.find("&#") != std::string_view::npos ||
	       xml.find("<!DOCTYPE") != std::string_view::npos;
}

Result<DomainXml> DomainXml::parse(std::string_view xml)
{
	if (xml.size() > kMaxDomainXmlSize)
		return Error(ErrorCode::InvalidData, "domain XML larger than " + std::to_string(kMaxDomainXmlSize) + " bytes");
	if (xml.find("<!DOCTYPE") != std::string_view::npos || xml.find("<!ENTITY") != std::string_view::npos)
		return Error(ErrorCode::InvalidData, "domain XML must not contain a DOCTYPE or entity declarations");
	struct CtxtFree {
		void operator()(xmlParserCtxt *c) const { xmlFreeParserCtxt(c); }
	};
	std::unique_ptr<xmlParserCtxt, CtxtFree> ctxt(xmlNewParserCtxt());
	if (!ctxt)
		return Error(ErrorCode::Internal, "out of memory creating an XML parser");
	int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;
	std::unique_ptr<xmlDoc, DocFree> doc(
		xmlCtxtReadMemory(ctxt.get(), xml.data(), static_cast<int>(xml.size()), "domain.xml", nullptr, options));
	if (!doc) {
		const xmlError *e = xmlCtxtGetLastError(ctxt.get());
		std::string why = e && e->message ? text(X(e->message)) : "not well-formed";
		while (!why.empty() && (why.back() == '\n' || why.back() == ' '))
			why.pop_back();
		return Error(ErrorCode::InvalidData,
			     "domain XML is not well-formed" + (e ? " (line " + std::to_string(e->line) + ")" : std::string()) +
				     ": " + why);
	}
	if (doc->intSubset || doc->extSubset)
		return Error(ErrorCode::InvalidData, "domain XML must not contain a DOCTYPE");
	xmlNode *root = xmlDocGetRootElement(doc.get());
	if (!isElement(root, "domain"))
		return Error(ErrorCode::InvalidData, "not a libvirt domain XML document (the root element is not <domain>)");
	return DomainXml(std::move(doc));
}

std::string DomainXml::name() const
{
	xmlNode *n = child(xmlDocGetRootElement(doc_.get()), "name");
	return n ? contentOf(n) : std::string();
}

std::string DomainXml::uuid() const
{
	xmlNode *n = child(xmlDocGetRootElement(doc_.get()), "uuid");
	if (!n)
		return {};
	// libvirt writes UUIDs in lower case; the AS id defaults to this text.
	std::string u = contentOf(n);
	for (char &c : u)
		c = g_ascii_tolower(c);
	return u;
}

Result<std::optional<LaunchMetadata>> DomainXml::metadata() const
{
	xmlNode *md = child(xmlDocGetRootElement(doc_.get()), "metadata");
	if (!md)
		return std::optional<LaunchMetadata>();
	const xmlNode *found = nullptr;
	for (xmlNode *n = md->children; n; n = n->next) {
		if (!inOurNamespace(n))
			continue;
		if (kMetadataElement != reinterpret_cast<const char *>(n->name))
			return Error(ErrorCode::InvalidArgument,
				     "unknown element <" + text(n->name) + "> in the cvm-launch namespace (only <launch>)");
		if (found)
			return Error(ErrorCode::InvalidArgument,
				     "the domain has more than one <cvm:launch> metadata element (exactly one is allowed)");
		found = n;
	}
	if (!found)
		return std::optional<LaunchMetadata>();
	std::vector<std::pair<std::string, std::string>> attrs;
	for (const xmlAttr *a = found->properties; a; a = a->next) {
		if (a->ns)
			return Error(ErrorCode::InvalidArgument,
				     "<cvm:launch> attribute '" + text(a->name) + "' must not have a namespace prefix");
		attrs.emplace_back(text(a->name), attribute(found, reinterpret_cast<const char *>(a->name)));
	}
	for (const xmlNode *c = found->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE || (c->type == XML_TEXT_NODE && !xmlIsBlankNode(c)))
			return Error(ErrorCode::InvalidArgument, "<cvm:launch> must be empty (all settings are attributes)");
	return std::optional<LaunchMetadata>(CVM_TRY(parseLaunchAttributes(attrs)));
}

Status DomainXml::setMetadata(const LaunchMetadata &metadata)
{
	xmlNode *root = xmlDocGetRootElement(doc_.get());
	xmlNode *md = child(root, "metadata");
	if (!md) {
		md = xmlNewDocNode(doc_.get(), nullptr, X("metadata"), nullptr);
		appendIndented(root, md, "  ");
	}
	removeChildren(md, [](const xmlNode *n) { return inOurNamespace(n); });
	xmlNode *el = xmlNewDocNode(doc_.get(), nullptr, X("launch"), nullptr);
	std::string uri(kMetadataNamespace), prefix(kMetadataPrefix);
	xmlNs *ns = xmlNewNs(el, X(uri.c_str()), X(prefix.c_str()));
	xmlSetNs(el, ns);
	for (const auto &[k, v] : launchAttributes(metadata))
		xmlNewProp(el, X(k.c_str()), X(v.c_str()));
	appendIndented(md, el, "    ");
	return {};
}

bool DomainXml::directKernelBoot() const
{
	return child(child(xmlDocGetRootElement(doc_.get()), "os"), "kernel") != nullptr;
}

std::optional<std::string> DomainXml::sevSession() const
{
	xmlNode *ls = child(xmlDocGetRootElement(doc_.get()), "launchSecurity");
	if (!ls || attribute(ls, "type") != "sev")
		return std::nullopt;
	xmlNode *s = child(ls, "session");
	if (!s)
		return std::nullopt;
	return contentOf(s);
}

Status DomainXml::setSevLaunchSecurity(const SevLaunchSecurity &sev)
{
	xmlNode *root = xmlDocGetRootElement(doc_.get());
	removeChildren(root, [](const xmlNode *n) { return isElement(n, "launchSecurity"); });
	xmlNode *ls = xmlNewDocNode(doc_.get(), nullptr, X("launchSecurity"), nullptr);
	xmlNewProp(ls, X("type"), X("sev"));
	if (sev.kernelHashes)
		xmlNewProp(ls, X("kernelHashes"), X(*sev.kernelHashes ? "yes" : "no"));
	char policy[16];
	snprintf(policy, sizeof(policy), "0x%04x", sev.policy);
	std::string cbit = std::to_string(sev.cbitpos), reduced = std::to_string(sev.reducedPhysBits);
	std::string dh = toBase64(sev.dhCert), session = toBase64(sev.session);
	const std::pair<const char *, const char *> children[] = {
		{ "cbitpos", cbit.c_str() },   { "reducedPhysBits", reduced.c_str() }, { "policy", policy },
		{ "dhCert", dh.c_str() },      { "session", session.c_str() },
	};
	for (const auto &[name, value] : children) {
		xmlAddChild(ls, xmlNewText(X("\n    ")));
		xmlNewTextChild(ls, nullptr, X(name), X(value));
	}
	xmlAddChild(ls, xmlNewText(X("\n  ")));
	appendIndented(root, ls, "  ");
	return {};
}

Result<std::string> DomainXml::serialize() const
{
	struct BufFree {
		void operator()(xmlBuffer *b) const { xmlBufferFree(b); }
	};
	std::unique_ptr<xmlBuffer, BufFree> buf(xmlBufferCreate());
	if (!buf)
		return Error(ErrorCode::Internal, "out of memory serialising the domain XML");
	for (xmlNode *n = doc_->children; n; n = n->next) {
		if (xmlNodeDump(buf.get(), doc_.get(), n, 0, 0) < 0)
			return Error(ErrorCode::Internal, "cannot serialise the domain XML");
		xmlBufferAdd(buf.get(), X("\n"), 1);
	}
	return std::string(reinterpret_cast<const char *>(xmlBufferContent(buf.get())),
			   static_cast<size_t>(xmlBufferLength(buf.get())));
}

} // namespace cvm::plugin
