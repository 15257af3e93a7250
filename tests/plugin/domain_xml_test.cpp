// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "cvm/plugin/domain_xml.h"

using namespace cvm;
using namespace cvm::plugin;

namespace {

// The shape libvirt writes (virsh dumpxml), with things an editor must keep:
// foreign metadata, a comment, an element libvirt does not know, odd spacing.
const char *kDomain = R"(<domain type='qemu'>
  <name>cvmt-plugin-web</name>
  <uuid>9A3E9D4C-1B2F-4A6E-8F00-0123456789AB</uuid>
  <metadata>
    <app:info xmlns:app="http://example.org/app" owner="ops"/>
  </metadata>
  <memory unit='KiB'>131072</memory>
  <!-- keep me -->
  <os>
    <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>
    <loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.fd</loader>
  </os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <console type='pty'/>
  </devices>
  <launchSecurity type='sev'>
    <policy>0x0003</policy>
    <session>b2xk</session>
  </launchSecurity>
</domain>
)";

const char *kWithLaunch = R"(<domain type='kvm'>
  <name>d</name>
  <uuid>00000000-0000-0000-0000-000000000001</uuid>
  <metadata>
    <cvm:launch xmlns:cvm="https://cvm-launch.org/xmlns/1" server="https://as:8443" plain-start="attest"/>
  </metadata>
</domain>)";

DomainXml parse(std::string_view xml)
{
	auto d = DomainXml::parse(xml);
	REQUIRE(d.ok());
	return std::move(d).value();
}

} // namespace

TEST_CASE("name, uuid (lower case), boot kind, session")
{
	auto d = parse(kDomain);
	CHECK(d.name() == "cvmt-plugin-web");
	CHECK(d.uuid() == "9a3e9d4c-1b2f-4a6e-8f00-0123456789ab");
	CHECK_FALSE(d.directKernelBoot());
	CHECK(d.sevSession() == "b2xk");
	auto md = d.metadata();
	REQUIRE(md.ok());
	CHECK_FALSE(md->has_value());
}

TEST_CASE("metadata element is read")
{
	auto d = parse(kWithLaunch);
	auto md = d.metadata();
	REQUIRE(md.ok());
	REQUIRE(md->has_value());
	CHECK((*md)->server == "https://as:8443");
	CHECK((*md)->plainStart == PlainStart::Attest);
	CHECK_FALSE(d.sevSession());
}

TEST_CASE("setMetadata and setSevLaunchSecurity edit only their elements")
{
	auto d = parse(kDomain);
	LaunchMetadata m;
	m.server = "https://as.example";
	m.policy = 1;
	REQUIRE(d.setMetadata(m).ok());
	SevLaunchSecurity sev;
	sev.policy = 0x1;
	sev.cbitpos = 51;
	sev.reducedPhysBits = 1;
	sev.dhCert = Bytes(2084, 0xab);
	sev.session = Bytes(128, 0xcd);
	sev.kernelHashes = true;
	REQUIRE(d.setSevLaunchSecurity(sev).ok());
	auto text = d.serialize();
	REQUIRE(text.ok());

	// Everything else is byte-for-byte where it was.
	for (const char *kept : {
		     "<app:info xmlns:app=\"http://example.org/app\" owner=\"ops\"/>",
		     "<!-- keep me -->",
		     "<loader readonly=\"yes\" type=\"pflash\">/usr/share/OVMF/OVMF_CODE.fd</loader>",
		     "<devices>\n    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n    <console type=\"pty\"/>\n  </devices>",
		     "<memory unit=\"KiB\">131072</memory>",
	     }) {
		INFO(kept);
		CHECK(text->find(kept) != std::string::npos);
	}
	CHECK(text->find("b2xk") == std::string::npos); // the old launchSecurity is gone
	CHECK(text->find("<policy>0x0003</policy>") == std::string::npos);

	auto again = parse(*text);
	CHECK(again.name() == "cvmt-plugin-web");
	CHECK(again.sevSession() == toBase64(sev.session));
	auto md = again.metadata();
	REQUIRE(md.ok());
	REQUIRE(md->has_value());
	CHECK((*md)->server == "https://as.example");
	CHECK((*md)->policy == 1u);
	CHECK(text->find("<cbitpos>51</cbitpos>") != std::string::npos);
	CHECK(text->find("<reducedPhysBits>1</reducedPhysBits>") != std::string::npos);
	CHECK(text->find("<policy>0x0001</policy>") != std::string::npos);
	CHECK(text->find("kernelHashes=\"yes\"") != std::string::npos);
	CHECK(text->find("<dhCert>" + toBase64(sev.dhCert) + "</dhCert>") != std::string::npos);

	// Editing twice replaces, never duplicates.
	REQUIRE(again.setMetadata(m).ok());
	REQUIRE(again.setSevLaunchSecurity(sev).ok());
	auto twice = again.serialize();
	REQUIRE(twice.ok());
	CHECK(*twice == *text);
}

TEST_CASE("metadata is added where there was no <metadata>")
{
	auto d = parse("<domain type='qemu'><name>x</name></domain>");
	REQUIRE(d.setMetadata(LaunchMetadata{ .server = "http://127.0.0.1:9" }).ok());
	auto text = d.serialize();
	REQUIRE(text.ok());
	auto md = parse(*text).metadata();
	REQUIRE(md.ok());
	REQUIRE(md->has_value());
	CHECK((*md)->server == "http://127.0.0.1:9");
}

TEST_CASE("hostile or malformed documents are refused with a reason")
{
	const char *bad[] = {
		"",
		"<domain>",
		"<network><name>x</name></network>",
		"<!DOCTYPE domain [<!ENTITY e SYSTEM 'file:///etc/shadow'>]><domain><name>&e;</name></domain>",
		"<domain><name>a</name><metadata>"
		"<cvm:launch xmlns:cvm='https://cvm-launch.org/xmlns/1'/>"
		"<c2:launch xmlns:c2='https://cvm-launch.org/xmlns/1'/></metadata></domain>",
	};
	for (const char *xml : bad) {
		INFO(xml);
		auto d = DomainXml::parse(xml);
		if (!d.ok()) {
			CHECK_FALSE(d.error().message().empty());
			continue;
		}
		// Well-formed but wrong: the metadata read fails.
		auto md = d->metadata();
		REQUIRE_FALSE(md.ok());
		CHECK(md.error().message().find("more than one") != std::string::npos);
	}
	auto unknown = parse("<domain><metadata><cvm:other xmlns:cvm='https://cvm-launch.org/xmlns/1'/>"
			     "</metadata></domain>");
	CHECK_FALSE(unknown.metadata().ok());
	auto content = parse("<domain><metadata><cvm:launch xmlns:cvm='https://cvm-launch.org/xmlns/1'>"
			     "text</cvm:launch></metadata></domain>");
	CHECK_FALSE(content.metadata().ok());
	auto badAttr = parse("<domain><metadata><cvm:launch xmlns:cvm='https://cvm-launch.org/xmlns/1' "
			     "plain-start='maybe'/></metadata></domain>");
	auto md = badAttr.metadata();
	REQUIRE_FALSE(md.ok());
	CHECK(md.error().message().find("plain-start") != std::string::npos);
}

TEST_CASE("the cheap pre-check never misses our namespace")
{
	CHECK_FALSE(mayHaveLaunchMetadata(kDomain));
	CHECK(mayHaveLaunchMetadata(kWithLaunch));
	// A character reference could spell the URI: parse to be sure.
	CHECK(mayHaveLaunchMetadata("<domain><metadata><x:launch xmlns:x='https&#58;//cvm-launch.org/xmlns/1'/>"));
	auto d = parse("<domain><metadata><x:launch xmlns:x='https&#58;//cvm-launch.org/xmlns/1' vm='v'/>"
		       "</metadata></domain>");
	auto md = d.metadata();
	REQUIRE(md.ok());
	REQUIRE(md->has_value());
	CHECK((*md)->vmId == "v");
}
