// SPDX-License-Identifier: Apache-2.0
//
// From a registration to the emulator's command line and the libvirt
// definition (tdx/launch_plan.cpp, the fw_cfg and version parts of
// tdx/launch_libvirt.cpp): which values the host sets, QGS addresses, the
// wiring inside a real-looking argument vector, the hand-over item.
#include <catch2/catch.hpp>

#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "cvm/tdx/launch_config.h"

using namespace cvm;
using namespace cvm::tdx;

namespace {

Sha384Digest filled(uint8_t v)
{
	Sha384Digest d{};
	d.fill(v);
	return d;
}

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
		xmlChar *s = obj ? xmlXPathCastToString(obj) : nullptr;
		std::string out = s ? reinterpret_cast<const char *>(s) : "";
		xmlFree(s);
		xmlXPathFreeObject(obj);
		xmlXPathFreeContext(ctx);
		return out;
	}
	std::string text() const
	{
		xmlChar *buf = nullptr;
		int size = 0;
		xmlDocDumpMemory(doc, &buf, &size);
		std::string out(reinterpret_cast<const char *>(buf), static_cast<size_t>(size));
		xmlFree(buf);
		return out;
	}
	xmlDocPtr doc;
};

using Args = std::vector<std::string>;

} // namespace

TEST_CASE("the host sets the registration's launch values, and only those")
{
	ReferenceValues ref;
	ref.mrtd = { filled(1) };
	ref.rtmr[2] = filled(2);
	ref.mrConfigId = filled(3);
	ref.mrOwner = filled(4);
	ref.tdAttributes = tdattr::kSeptVeDisable;
	ref.xfam = 0xe7;
	ReferenceValues v = launchValuesOf(ref);
	CHECK(v.mrtd.empty());
	CHECK_FALSE(v.rtmr[2]);
	CHECK_FALSE(v.xfam);
	CHECK(v.mrConfigId == filled(3));
	CHECK(v.mrOwner == filled(4));
	CHECK_FALSE(v.mrOwnerConfig);
	CHECK(v.tdAttributes == tdattr::kSeptVeDisable);

	auto c = guestConfigFromLaunchValues(v, "td7");
	REQUIRE(c.ok());
	CHECK(c->id == "td7");
	CHECK(c->attributes == tdattr::kSeptVeDisable);
	CHECK(c->mrConfigId == filled(3));
	CHECK(c->mrOwner == filled(4));
	CHECK_FALSE(c->mrOwnerConfig);
	CHECK_FALSE(c->septVeDisable);
	CHECK_FALSE(c->quoteGenerationSocket);

	// Measurements are not launch configuration.
	CHECK_THAT(guestConfigFromLaunchValues(ref).error().message(), Catch::Contains("not launch configuration"));
	CHECK_FALSE(checkLaunchValuesOnly(ref).ok());
	CHECK(checkLaunchValuesOnly(v).ok());
	// What QEMU refuses is refused before anything starts.
	v.tdAttributes = tdattr::kDebug | tdattr::kSeptVeDisable;
	CHECK_THAT(guestConfigFromLaunchValues(v).error().message(), Catch::Contains("DEBUG"));
	// Nothing registered: QEMU's defaults.
	auto defaults = guestConfigFromLaunchValues(ReferenceValues());
	REQUIRE(defaults.ok());
	CHECK(tdxGuestObjectArgument(*defaults).value() == "{\"qom-type\":\"tdx-guest\",\"id\":\"tdx0\"}");
}

TEST_CASE("QGS addresses: a UNIX socket path or vsock:CID:PORT")
{
	auto u = parseSocketAddress("/var/run/tdx-qgs/qgs.socket");
	REQUIRE(u.ok());
	CHECK(u->type == SocketAddress::Type::Unix);
	CHECK(u->path == "/var/run/tdx-qgs/qgs.socket");
	CHECK(socketAddressText(*u) == "/var/run/tdx-qgs/qgs.socket");
	auto v = parseSocketAddress("vsock:2:4050");
	REQUIRE(v.ok());
	CHECK(v->type == SocketAddress::Type::Vsock);
	CHECK(v->cid == 2);
	CHECK(v->port == kDefaultQgsVsockPort);
	CHECK(socketAddressText(*v) == "vsock:2:4050");
	for (const char *bad : { "", "qgs.socket", "unix:/x", "vsock:2", "vsock:x:1", "vsock:2:", "vsock:-1:2",
				 "vsock:2:4294967296", "vsock:2:40 50" }) {
		INFO(bad);
		CHECK_FALSE(parseSocketAddress(bad).ok());
	}
	CHECK_THAT(parseSocketAddress("/" + std::string(200, 'q')).error().message(), Catch::Contains("at most 107"));
}

TEST_CASE("the TD wired into an emulator command line")
{
	TdxGuestConfig c;
	c.attributes = tdattr::kSeptVeDisable;
	c.mrConfigId = filled(0xc1);
	c.quoteGenerationSocket = SocketAddress::unixSocket("/var/run/tdx-qgs/qgs.socket");
	const std::string object = tdxGuestObjectArgument(c).value();
	CHECK(object == "{\"qom-type\":\"tdx-guest\",\"id\":\"tdx0\",\"attributes\":268435456,\"mrconfigid\":\"" +
				toBase64(filled(0xc1)) +
				"\",\"quote-generation-socket\":{\"type\":\"unix\",\"path\":\"/var/run/tdx-qgs/qgs.socket\"}}");

	// The (last) -machine gets the wiring in place; the object goes last.
	Args in = { "qemu", "-accel", "kvm", "-machine", "q35,smm=off", "-bios", "OVMF.fd" };
	CHECK(tdxEmulatorArguments(in, c).value() ==
	      Args{ "qemu", "-accel", "kvm", "-machine", "q35,smm=off,confidential-guest-support=tdx0", "-bios",
		    "OVMF.fd", "-object", object });
	CHECK(tdxEmulatorArguments({ "qemu", "-M", "q35", "--machine", "kernel-irqchip=split" }, c).value() ==
	      Args{ "qemu", "-M", "q35", "--machine", "kernel-irqchip=split,confidential-guest-support=tdx0", "-object",
		    object });
	// No -machine at all: one is added.
	CHECK(tdxEmulatorArguments({ "qemu", "-bios", "OVMF.fd" }, c).value() ==
	      Args{ "qemu", "-bios", "OVMF.fd", "-machine", "confidential-guest-support=tdx0", "-object", object });

	// Every -machine is checked, not just the one that gets the wiring.
	CHECK_THAT(tdxEmulatorArguments({ "qemu", "-machine", "q35,smm=on", "-machine", "q35" }, c).error().message(),
		   Catch::Contains("SMM"));
	CHECK_THAT(tdxEmulatorArguments({ "qemu", "-machine", "q35,confidential-guest-support=sev0" }, c).error().message(),
		   Catch::Contains("confidential-guest-support=sev0"));
	CHECK_THAT(tdxEmulatorArguments({ "qemu", "-machine" }, c).error().message(), Catch::Contains("no value"));
	// The TD's object comes from the AS, never from ARGS.
	CHECK_THAT(tdxEmulatorArguments({ "qemu", "-object", "{\"qom-type\":\"tdx-guest\",\"id\":\"mine\"}" }, c)
			   .error()
			   .message(),
		   Catch::Contains("already create a tdx-guest"));
	CHECK_THAT(tdxEmulatorArguments({ "qemu", "-object", "tdx-guest,id=mine" }, c).error().message(),
		   Catch::Contains("already create a tdx-guest"));
}

TEST_CASE("the fw_cfg hand-over item")
{
	CHECK(fwCfgFileArgument(kFwCfgLaunchItem, "/tmp/w/tdx-launch.json").value() ==
	      "name=opt/org.cvm-launch/tdx-launch,file=/tmp/w/tdx-launch.json");
	CHECK(fwCfgFileArgument(kFwCfgLaunchItem, "/tmp/a,b/f").value() ==
	      "name=opt/org.cvm-launch/tdx-launch,file=/tmp/a,,b/f");
	CHECK_FALSE(fwCfgFileArgument("etc/tdx-launch", "/f").ok());
	CHECK_FALSE(fwCfgFileArgument("opt/" + std::string(52, 'x'), "/f").ok());
	CHECK_FALSE(fwCfgFileArgument(kFwCfgLaunchItem, "").ok());

	XmlDoc d("<domain type='kvm'><name>td</name><sysinfo type='smbios'><bios><entry name='vendor'>x</entry>"
		 "</bios></sysinfo><devices/></domain>");
	CHECK_FALSE(libvirtFwCfgEntry(d.doc, kFwCfgLaunchItem));
	std::string handover = "{\"launch-id\":\"l1\",\"odd\":\"<&'\\\">\"}";
	REQUIRE(setLibvirtFwCfgEntry(d.doc, kFwCfgLaunchItem, handover).ok());
	CHECK(libvirtFwCfgEntry(d.doc, kFwCfgLaunchItem) == handover);
	CHECK(d.eval("string(/domain/sysinfo[@type='fwcfg']/entry[@name='opt/org.cvm-launch/tdx-launch'])") == handover);
	// Replaced, not repeated; other sysinfo and entries stay.
	REQUIRE(setLibvirtFwCfgEntry(d.doc, "opt/other", "kept").ok());
	REQUIRE(setLibvirtFwCfgEntry(d.doc, kFwCfgLaunchItem, "second").ok());
	CHECK(d.eval("count(/domain/sysinfo[@type='fwcfg'])") == "1");
	CHECK(d.eval("count(/domain/sysinfo[@type='fwcfg']/entry)") == "2");
	CHECK(libvirtFwCfgEntry(d.doc, kFwCfgLaunchItem) == "second");
	CHECK(libvirtFwCfgEntry(d.doc, "opt/other") == "kept");
	CHECK(d.eval("string(/domain/sysinfo[@type='smbios']/bios/entry)") == "x");
	// The document stays well formed through a round trip.
	XmlDoc again(d.text());
	CHECK(libvirtFwCfgEntry(again.doc, kFwCfgLaunchItem) == "second");
	CHECK_FALSE(setLibvirtFwCfgEntry(d.doc, "etc/x", "v").ok());
	XmlDoc notDomain("<network/>");
	CHECK_FALSE(setLibvirtFwCfgEntry(notDomain.doc, kFwCfgLaunchItem, "v").ok());
	CHECK_FALSE(libvirtFwCfgEntry(notDomain.doc, kFwCfgLaunchItem));
}

TEST_CASE("libvirt older than 11 is refused with its version named")
{
	Status debian = checkLibvirtTdxVersion(9000000);
	REQUIRE_FALSE(debian.ok());
	CHECK(debian.error().code() == ErrorCode::Unsupported);
	CHECK(debian.error().tag() == "tdx-unsupported");
	CHECK_THAT(debian.error().message(), Catch::StartsWith("libvirt 9.0.0 has no Intel TDX support"));
	CHECK_THAT(debian.error().message(), Catch::Contains("cvm-launch qemu --scheme intel-tdx"));
	CHECK_THAT(checkLibvirtTdxVersion(10010002).error().message(), Catch::Contains("libvirt 10.10.2"));
	CHECK(checkLibvirtTdxVersion(kLibvirtTdxMinVersion).ok());
	CHECK(checkLibvirtTdxVersion(11007000).ok());
	CHECK(checkLibvirtTdxVersion(12005000).ok());
}
