// SPDX-License-Identifier: Apache-2.0
//
// A libvirt domain XML document, read and edited with libxml2 (never with
// string surgery): the domain's name and UUID, our <cvm:launch> metadata, the
// SEV <launchSecurity> element. Editing replaces only what it is asked to and
// keeps every other node (unknown elements, other metadata, comments,
// whitespace) as it was.
//
// Input is untrusted (the hook gets it from libvirt, which got it from whoever
// may define domains): the size is bounded, a DOCTYPE or entity declaration is
// refused, nothing is fetched from the network and libxml2 prints nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "cvm/common/bytes.h"
#include "cvm/common/error.h"
#include "cvm/plugin/metadata.h"

typedef struct _xmlDoc xmlDoc;

namespace cvm::tdx {
struct TdxGuestConfig;
}

namespace cvm::plugin {

inline constexpr size_t kMaxDomainXmlSize = 16u << 20;

// The contents of <launchSecurity type='sev'> (libvirt's element names).
struct SevLaunchSecurity {
	uint32_t policy = 0;
	uint32_t cbitpos = 0;
	uint32_t reducedPhysBits = 0;
	Bytes dhCert;                        // guest-owner DH certificate (2084 bytes), base64 in the XML
	Bytes session;                       // LAUNCH_START session (128 bytes), base64 in the XML
	std::optional<bool> kernelHashes;    // kernelHashes='yes|no' attribute when set
};

class DomainXml
{
public:
	static Result<DomainXml> parse(std::string_view xml);
	DomainXml(DomainXml &&) noexcept;
	DomainXml &operator=(DomainXml &&) noexcept;
	~DomainXml();

	std::string name() const;
	std::string uuid() const;

	// The <cvm:launch> element: nullopt when the domain has none; an error
	// when there are several, when another element of our namespace is
	// present, or when an attribute is bad.
	Result<std::optional<LaunchMetadata>> metadata() const;
	// Adds or replaces the <cvm:launch> element (creates <metadata> if needed).
	Status setMetadata(const LaunchMetadata &metadata);

	// <os><kernel> present: direct kernel boot (kernel hashes apply).
	bool directKernelBoot() const;

	// The base64 text of <launchSecurity type='sev'><session>, whitespace
	// trimmed; nullopt without SEV launch security or without a session.
	std::optional<std::string> sevSession() const;

	// Replaces any <launchSecurity> with an SEV one carrying `sev`.
	Status setSevLaunchSecurity(const SevLaunchSecurity &sev);

	// intel-tdx (domain_xml_tdx.cpp): replaces any <launchSecurity> with
	// <launchSecurity type='tdx'> for `config` and sets the hand-over item
	// <sysinfo type='fwcfg'><entry name='opt/org.cvm-launch/tdx-launch'>.
	Status setTdxLaunch(const tdx::TdxGuestConfig &config, std::string_view handover);

	// What ties this definition to one prepared launch, as the pending
	// record holds it (base64): the SEV <session>, or for a TD the hand-over
	// entry's text. nullopt when the definition carries neither.
	std::optional<std::string> launchToken() const;

	// The document as text (the root element and any top-level comments, no
	// XML declaration: the form libvirt itself writes).
	Result<std::string> serialize() const;

private:
	struct DocFree {
		void operator()(xmlDoc *doc) const;
	};
	explicit DomainXml(std::unique_ptr<xmlDoc, DocFree> doc) : doc_(std::move(doc)) {}
	std::unique_ptr<xmlDoc, DocFree> doc_;
};

// Cheap test a hook runs before parsing: false only when `xml` certainly has
// no element of our namespace (the namespace URI does not occur in it and no
// character reference could spell it).
bool mayHaveLaunchMetadata(std::string_view xml);

} // namespace cvm::plugin
