// SPDX-License-Identifier: Apache-2.0
//
// Launch-configuration builders. Expected forms come from the projects that
// consume them: QEMU's documentation of tdx-guest (the JSON -object example
// with a UNIX quote-generation-socket) and libvirt's own test data
// (tests/qemuxmlconfdata/launch-security-tdx.xml: policy 0x10000000, MR*
// values = base64 of 0123456789abcdef repeated to 48 bytes, QGS path).
#include <catch2/catch.hpp>

#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "cvm/common/json.h"
#include "cvm/tdx/launch_config.h"

using namespace cvm;
using namespace cvm::tdx;

namespace {

Sha384Digest libvirtTestDigest()
{
	Sha384Digest d{};
	const uint8_t p[8] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };
	for (size_t i = 0; i < d.size(); ++i)
		d[i] = p[i % 8];
	return d;
}

constexpr const char *kLibvirtTestBase64 = "ASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4mrze8BI0VniavN7wEjRWeJq83v";

struct XmlDoc {
	explicit XmlDoc(const std::string &text)
		: doc(xmlReadMemory(text.data(), static_cast<int>(text.size()), "x.xml", nullptr, XML_PARSE_NONET))
	{
		REQUIRE(doc);
	}
	~XmlDoc() { xmlFreeDoc(doc); }

	std::string eval(const char *xpath) const
	{
		xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
		xmlXPathObjectPtr obj = xmlXPathEvalExpression(reinterpret_cast<const xmlChar *>(xpath), ctx);
		std::string out;
		if (obj && obj->type == XPATH_STRING)
			out = reinterpret_cast<const char *>(obj->stringval);
		else if (obj) {
			xmlChar *s = xmlXPathCastToString(obj);
			out = reinterpret_cast<const char *>(s);
			xmlFree(s);
		}
		xmlXPathFreeObject(obj);
		xmlXPathFreeContext(ctx);
		return out;
	}

	xmlDocPtr doc;
};

std::string configError(const TdxGuestConfig &c)
{
	Status s = validateTdxGuestConfig(c);
	REQUIRE_FALSE(s.ok());
	CHECK(s.error().code() == ErrorCode::InvalidArgument);
	return s.error().message();
}

} // namespace

TEST_CASE("the tdx-guest object matches QEMU's documented JSON form")
{
	TdxGuestConfig c;
	c.quoteGenerationSocket = SocketAddress::unixSocket("/var/run/tdx-qgs/qgs.socket");
	auto arg = tdxGuestObjectArgument(c);
	REQUIRE(arg.ok());
	CHECK(*arg == "{\"qom-type\":\"tdx-guest\",\"id\":\"tdx0\",\"quote-generation-socket\":"
		      "{\"type\":\"unix\",\"path\":\"/var/run/tdx-qgs/qgs.socket\"}}");

	c.quoteGenerationSocket = SocketAddress::vsock(2, kDefaultQgsVsockPort);
	arg = tdxGuestObjectArgument(c);
	REQUIRE(arg.ok());
	CHECK_THAT(*arg, Catch::Contains("{\"type\":\"vsock\",\"cid\":\"2\",\"port\":\"4050\"}"));
}

TEST_CASE("every tdx-guest property, with MR values in base64")
{
	TdxGuestConfig c;
	c.id = "td-1";
	c.attributes = tdattr::kSeptVeDisable | tdattr::kPks;
	c.septVeDisable = true;
	c.mrConfigId = libvirtTestDigest();
	c.mrOwner = libvirtTestDigest();
	c.mrOwnerConfig = libvirtTestDigest();
	auto node = tdxGuestObject(c);
	REQUIRE(node.ok());
	JsonObject *o = json_node_get_object(node->get());
	CHECK(std::string(json_object_get_string_member(o, "qom-type")) == "tdx-guest");
	CHECK(std::string(json_object_get_string_member(o, "id")) == "td-1");
	CHECK(json_object_get_int_member(o, "attributes") == 0x50000000);
	CHECK(json_object_get_boolean_member(o, "sept-ve-disable"));
	CHECK(std::string(json_object_get_string_member(o, "mrconfigid")) == kLibvirtTestBase64);
	CHECK(std::string(json_object_get_string_member(o, "mrowner")) == kLibvirtTestBase64);
	CHECK(std::string(json_object_get_string_member(o, "mrownerconfig")) == kLibvirtTestBase64);
	CHECK_FALSE(json_object_has_member(o, "quote-generation-socket"));

	// PERFMON is bit 63: written as the two's complement QEMU accepts.
	c.attributes = tdattr::kPerfmon | tdattr::kSeptVeDisable;
	node = tdxGuestObject(c);
	REQUIRE(node.ok());
	CHECK(static_cast<uint64_t>(json_object_get_int_member(json_node_get_object(node->get()), "attributes")) ==
	      (tdattr::kPerfmon | tdattr::kSeptVeDisable));
}

TEST_CASE("requested attributes follow QEMU's default and sept-ve-disable")
{
	TdxGuestConfig c;
	CHECK(requestedTdAttributes(c) == tdattr::kSeptVeDisable);
	c.septVeDisable = false;
	CHECK(requestedTdAttributes(c) == 0);
	c.attributes = tdattr::kPks;
	CHECK(requestedTdAttributes(c) == tdattr::kPks);
	c.septVeDisable = true;
	CHECK(requestedTdAttributes(c) == (tdattr::kPks | tdattr::kSeptVeDisable));
}

TEST_CASE("configurations QEMU would refuse are refused here")
{
	TdxGuestConfig c;
	c.id = "0bad";
	CHECK_THAT(configError(c), Catch::Contains("not a valid object id"));
	c.id = "tdx0";
	c.attributes = tdattr::kDebug;
	CHECK_THAT(configError(c), Catch::Contains("DEBUG"));
	c.attributes = 1ull << 5;
	CHECK_THAT(configError(c), Catch::Contains("0x20 are not supported by QEMU"));
	c.attributes = 0;
	c.septVeDisable = true;
	CHECK_THAT(configError(c), Catch::Contains("contradicts"));
	c = TdxGuestConfig();
	c.quoteGenerationSocket = SocketAddress::unixSocket("relative/qgs.socket");
	CHECK_THAT(configError(c), Catch::Contains("absolute path"));
	c.quoteGenerationSocket = SocketAddress::unixSocket("/" + std::string(120, 'a'));
	CHECK_THAT(configError(c), Catch::Contains("at most 107"));
	c.quoteGenerationSocket = SocketAddress::unixSocket("");
	CHECK(validateTdxGuestConfig(c).ok()); // libvirt's default socket
	CHECK_THAT(tdxGuestObject(c).error().message(), Catch::Contains("needs the quote generation socket's path"));
}

TEST_CASE("the -machine wiring")
{
	CHECK(addConfidentialGuestSupport("q35", "tdx0").value() == "q35,confidential-guest-support=tdx0");
	CHECK(addConfidentialGuestSupport("", "tdx0").value() == "confidential-guest-support=tdx0");
	CHECK(addConfidentialGuestSupport("q35,kernel_irqchip=split", "tdx0").value() ==
	      "q35,kernel_irqchip=split,confidential-guest-support=tdx0");
	CHECK(addConfidentialGuestSupport("q35,confidential-guest-support=tdx0", "tdx0").value() ==
	      "q35,confidential-guest-support=tdx0");
	CHECK_THAT(addConfidentialGuestSupport("q35,confidential-guest-support=sev0", "tdx0").error().message(),
		   Catch::Contains("already has confidential-guest-support=sev0"));
	CHECK_THAT(addConfidentialGuestSupport("q35,smm=on", "tdx0").error().message(), Catch::Contains("SMM"));
	CHECK_THAT(addConfidentialGuestSupport("q35,kernel_irqchip=on", "tdx0").error().message(),
		   Catch::Contains("split irqchip"));
	// ",," is a literal comma inside a value, not a separator.
	CHECK(addConfidentialGuestSupport("q35,dumpdtb=a,,smm=on", "tdx0").ok());
	CHECK_FALSE(addConfidentialGuestSupport("q35", "bad id").ok());

	TdxGuestConfig c;
	auto args = tdxQemuArguments(c, "q35,smm=off");
	REQUIRE(args.ok());
	REQUIRE(args->size() == 4);
	CHECK((*args)[0] == "-object");
	CHECK((*args)[1] == "{\"qom-type\":\"tdx-guest\",\"id\":\"tdx0\"}");
	CHECK((*args)[2] == "-machine");
	CHECK((*args)[3] == "q35,smm=off,confidential-guest-support=tdx0");
}

TEST_CASE("libvirt's <launchSecurity type='tdx'> as in libvirt's own test data")
{
	TdxGuestConfig c;
	c.attributes = 0x10000000;
	c.mrConfigId = libvirtTestDigest();
	c.mrOwner = libvirtTestDigest();
	c.mrOwnerConfig = libvirtTestDigest();
	c.quoteGenerationSocket = SocketAddress::unixSocket(std::string(kDefaultQgsSocketPath));
	auto xml = libvirtLaunchSecurityXml(c);
	REQUIRE(xml.ok());
	CHECK(xml->find("<?xml") == std::string::npos);
	XmlDoc d(*xml);
	CHECK(d.eval("string(/launchSecurity/@type)") == "tdx");
	CHECK(d.eval("string(/launchSecurity/policy)") == "0x10000000");
	CHECK(d.eval("string(/launchSecurity/mrConfigId)") == kLibvirtTestBase64);
	CHECK(d.eval("string(/launchSecurity/mrOwner)") == kLibvirtTestBase64);
	CHECK(d.eval("string(/launchSecurity/mrOwnerConfig)") == kLibvirtTestBase64);
	CHECK(d.eval("string(/launchSecurity/quoteGenerationService/@path)") == "/var/run/tdx-qgs/qgs.socket");
	CHECK(d.eval("count(/launchSecurity/*)") == "5");

	// Only what is set; an empty path asks for libvirt's default socket.
	TdxGuestConfig minimal;
	minimal.quoteGenerationSocket = SocketAddress::unixSocket("");
	XmlDoc m(libvirtLaunchSecurityXml(minimal).value());
	CHECK(m.eval("count(/launchSecurity/*)") == "1");
	CHECK(m.eval("count(/launchSecurity/quoteGenerationService/@path)") == "0");
	minimal.septVeDisable = false;
	CHECK(XmlDoc(libvirtLaunchSecurityXml(minimal).value()).eval("string(/launchSecurity/policy)") ==
	      "0x00000000");

	// Escaping is libxml2's.
	TdxGuestConfig odd;
	odd.quoteGenerationSocket = SocketAddress::unixSocket("/run/a&b'<c>.sock");
	CHECK(XmlDoc(libvirtLaunchSecurityXml(odd).value()).eval("string(/launchSecurity/quoteGenerationService/@path)") ==
	      "/run/a&b'<c>.sock");

	TdxGuestConfig vsock;
	vsock.quoteGenerationSocket = SocketAddress::vsock(2, 4050);
	CHECK_THAT(libvirtLaunchSecurityXml(vsock).error().message(), Catch::Contains("only a UNIX socket"));
}

TEST_CASE("the element replaces any launchSecurity in a domain document")
{
	std::string domainXml = "<domain type='kvm'><name>td</name>"
				"<launchSecurity type='sev'><policy>0x0003</policy></launchSecurity>"
				"<devices/></domain>";
	XmlDoc d(domainXml);
	TdxGuestConfig c;
	c.attributes = 0x10000000;
	REQUIRE(setLibvirtLaunchSecurity(d.doc, c).ok());
	CHECK(d.eval("count(/domain/launchSecurity)") == "1");
	CHECK(d.eval("string(/domain/launchSecurity/@type)") == "tdx");
	CHECK(d.eval("string(/domain/launchSecurity/policy)") == "0x10000000");
	CHECK(d.eval("string(/domain/name)") == "td");

	XmlDoc notDomain("<network/>");
	CHECK_FALSE(setLibvirtLaunchSecurity(notDomain.doc, c).ok());
	c.attributes = tdattr::kDebug;
	CHECK_FALSE(setLibvirtLaunchSecurity(d.doc, c).ok());
	CHECK(d.eval("string(/domain/launchSecurity/@type)") == "tdx"); // unchanged on error
}
