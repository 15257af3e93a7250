// SPDX-License-Identifier: Apache-2.0
//
// The domain XML the hook reads from libvirt: parse, read the metadata and the
// session (or a TD's hand-over), edit and serialise again (the edited document
// must parse and give back what was written).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cvm/plugin/domain_xml.h"
#include "cvm/tdx/launch_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	std::string_view xml(reinterpret_cast<const char *>(data), size);
	(void)cvm::plugin::mayHaveLaunchMetadata(xml);
	auto doc = cvm::plugin::DomainXml::parse(xml);
	if (!doc.ok())
		return 0;
	(void)doc->name();
	(void)doc->uuid();
	(void)doc->sevSession();
	(void)doc->launchToken();
	(void)doc->directKernelBoot();
	auto md = doc->metadata();
	cvm::plugin::LaunchMetadata m = md.ok() && md->has_value() ? **md : cvm::plugin::LaunchMetadata{};
	cvm::plugin::SevLaunchSecurity sev;
	sev.session = cvm::Bytes(16, 1);
	if (!doc->setMetadata(m).ok() || !doc->setSevLaunchSecurity(sev).ok())
		abort();
	auto text = doc->serialize();
	if (!text.ok())
		return 0;
	auto again = cvm::plugin::DomainXml::parse(*text);
	if (!again.ok() || again->sevSession() != cvm::toBase64(sev.session))
		abort();
	// The TD edits: launchSecurity type='tdx' and the fw_cfg hand-over.
	cvm::tdx::TdxGuestConfig td;
	td.attributes = 0x10000000;
	const std::string handover = "{\"launch-id\":\"l<&>'\"}";
	if (!again->setTdxLaunch(td, handover).ok())
		abort();
	auto tdText = again->serialize();
	if (!tdText.ok())
		return 0;
	auto third = cvm::plugin::DomainXml::parse(*tdText);
	if (!third.ok() || third->sevSession() || third->launchToken() != cvm::toBase64(cvm::asBytes(handover)))
		abort();
	return 0;
}
