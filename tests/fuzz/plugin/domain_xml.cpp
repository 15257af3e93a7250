// SPDX-License-Identifier: Apache-2.0
//
// The domain XML the hook reads from libvirt: parse, read the metadata and the
// session, edit and serialise again (the edited document must parse).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cvm/plugin/domain_xml.h"

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
	return 0;
}
