// SPDX-License-Identifier: Apache-2.0
//
// Launch configuration of a TD, as pure builders for the orchestrator:
//
// QEMU (>= 10.1): the `tdx-guest` object (QAPI TdxGuestProperties) in JSON
// form — the only form that can carry `quote-generation-socket`, a QAPI
// SocketAddress — usable as `-object '<json>'` or as QMP object-add arguments,
// and the `-machine ...,confidential-guest-support=<id>` wiring. QEMU also
// needs `-bios <TDVF>` (no pflash), KVM, a split irqchip (its default for TDX)
// and no SMM; those belong to the rest of the command line.
//
// libvirt (>= 11.7, built with TDX support; Debian 12's libvirt 9.0 has none):
//   <launchSecurity type='tdx'>
//     <policy>0x10000000</policy>            TD attributes
//     <mrConfigId>base64</mrConfigId>        48-byte SHA-384 values, base64
//     <mrOwner>base64</mrOwner>
//     <mrOwnerConfig>base64</mrOwnerConfig>
//     <quoteGenerationService path='/var/run/tdx-qgs/qgs.socket'/>
//   </launchSecurity>
// (upstream libvirt names the element quoteGenerationService; drafts and
// design documents quoting it as quoteGenerationSocket predate the merge).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <libxml/tree.h>

#include "cvm/common/error.h"
#include "cvm/common/gptr.h"
#include "cvm/tdx/quote.h"
#include "cvm/tdx/reference.h"
#include "cvm/tdx/types.h"

namespace cvm::tdx {

// Intel's Quote Generation Service: UNIX socket of the packaged daemon, and
// its vsock default (host CID 2, port 4050).
constexpr std::string_view kDefaultQgsSocketPath = "/var/run/tdx-qgs/qgs.socket";
constexpr uint32_t kDefaultQgsVsockPort = 4050;

// QEMU's default TD attributes when none are given: SEPT_VE_DISABLE.
constexpr uint64_t kQemuDefaultTdAttributes = tdattr::kSeptVeDisable;
// The attribute bits QEMU lets a user request (target/i386/kvm/tdx.c).
constexpr uint64_t kQemuSupportedTdAttributes = tdattr::kSeptVeDisable | tdattr::kPks | tdattr::kPerfmon;

// The subset of QAPI SocketAddress a QGS listens on.
struct SocketAddress {
	enum class Type { Unix, Vsock };
	Type type = Type::Unix;
	std::string path; // Unix; empty = libvirt's default (libvirt only)
	uint32_t cid = 0; // Vsock
	uint32_t port = 0;

	static SocketAddress unixSocket(std::string path);
	static SocketAddress vsock(uint32_t cid, uint32_t port);
};

struct TdxGuestConfig {
	std::string id = "tdx0"; // QOM id of the tdx-guest object
	std::optional<uint64_t> attributes;
	std::optional<bool> septVeDisable;
	std::optional<Sha384Digest> mrConfigId;
	std::optional<Sha384Digest> mrOwner;
	std::optional<Sha384Digest> mrOwnerConfig;
	std::optional<SocketAddress> quoteGenerationSocket;
};

// Refuses what QEMU would refuse (a malformed id, DEBUG or unsupported
// attribute bits, sept-ve-disable contradicting attributes) and socket
// addresses that are not absolute UNIX paths that fit sun_path.
Status validateTdxGuestConfig(const TdxGuestConfig &config);

// The attributes QEMU requests for the TD (before the bits QEMU adds on its
// own: PKS from the CPU model, PERFMON with pmu=on).
uint64_t requestedTdAttributes(const TdxGuestConfig &config);

// {"qom-type": "tdx-guest", "id": ..., ...}. attributes >= 2^63 are written
// as their two's complement (negative), which QEMU's QObject input visitor
// accepts for uint64 members (json-glib integers are signed).
Result<JsonNodePtr> tdxGuestObject(const TdxGuestConfig &config);
// The same as one compact JSON string, for `-object`.
Result<std::string> tdxGuestObjectArgument(const TdxGuestConfig &config);

// Appends confidential-guest-support=<id> to a -machine option string
// ("q35,smm=off" -> "q35,smm=off,confidential-guest-support=tdx0"). Refuses an
// existing different confidential-guest-support, smm=on and
// kernel-irqchip=on/off (TDX needs split).
Result<std::string> addConfidentialGuestSupport(std::string_view machineOptions, std::string_view objectId);

// {"-object", <json>, "-machine", <machine options with the wiring>}.
Result<std::vector<std::string>> tdxQemuArguments(const TdxGuestConfig &config, std::string_view machineOptions);

// The <launchSecurity type='tdx'> element as text (no XML declaration).
// <policy> is written when attributes or sept-ve-disable are set. A vsock QGS
// is refused: libvirt takes only a UNIX socket path.
Result<std::string> libvirtLaunchSecurityXml(const TdxGuestConfig &config);

// Replaces any <launchSecurity> under the <domain> root of `domain` with ours.
Status setLibvirtLaunchSecurity(xmlDocPtr domain, const TdxGuestConfig &config);

// --- Wiring a launch (launch_plan.cpp, launch_libvirt.cpp) -----------------

// What the host sets when it creates the TD, taken from the owner's
// registration: TD attributes, MRCONFIGID, MROWNER, MROWNERCONFIG (the
// KVM_TDX_INIT_VM inputs the TD report shows). MRTD, RTMRs and XFAM are not
// launch configuration (they follow from firmware, boot and CPU).
ReferenceValues launchValuesOf(const ReferenceValues &reference);
// Refuses values with members that are not launch configuration.
Status checkLaunchValuesOnly(const ReferenceValues &values);
// Refuses values that are not launch configuration, then builds and
// validates the tdx-guest configuration (a DEBUG TD or attributes QEMU does
// not support are refused here, before anything starts).
Result<TdxGuestConfig> guestConfigFromLaunchValues(const ReferenceValues &values, std::string id = "tdx0");

// A QGS address as an admin writes it: an absolute UNIX socket path, or
// "vsock:CID:PORT". Empty text is an error (callers treat "unset" themselves).
Result<SocketAddress> parseSocketAddress(std::string_view text);
std::string socketAddressText(const SocketAddress &address);

// The emulator's argument vector with the TD wired in: every -machine / -M
// option is checked (addConfidentialGuestSupport), the last one gets
// confidential-guest-support=<id> (a "-machine confidential-guest-support=<id>"
// is appended when there is none), then "-object <tdx-guest JSON>" is
// appended. An ARGS that already creates a tdx-guest object is refused: the
// TD's configuration comes from the attestation server.
Result<std::vector<std::string>> tdxEmulatorArguments(const std::vector<std::string> &args,
						      const TdxGuestConfig &config);

// The fw_cfg item through which the host hands the TD its launch (AS URL, VM
// id, launch id, nonce; nothing secret): QEMU `-fw_cfg name=…,file=…`, libvirt
// <sysinfo type='fwcfg'><entry name='…'>. In the guest:
// /sys/firmware/qemu_fw_cfg/by_name/opt/org.cvm-launch/tdx-launch/raw.
constexpr std::string_view kFwCfgLaunchItem = "opt/org.cvm-launch/tdx-launch";
// "name=<name>,file=<path>" with commas doubled (QEMU option syntax). Refuses
// names QEMU refuses (not under opt/, 56 bytes or more).
Result<std::string> fwCfgFileArgument(std::string_view name, std::string_view path);

// Adds or replaces <sysinfo type='fwcfg'><entry name='NAME'>VALUE</entry>
// under the <domain> root (libvirt >= 6.5), keeping other entries.
Status setLibvirtFwCfgEntry(xmlDocPtr domain, std::string_view name, std::string_view value);
// The text of that entry; nullopt when absent.
std::optional<std::string> libvirtFwCfgEntry(xmlDocPtr domain, std::string_view name);

// libvirt's <launchSecurity type='tdx'>: upstream libvirt gained it during
// the 11.x series (believed 11.7.0); older libvirt does not know the type.
// `version` as virConnectGetLibVersion reports it (major * 1000000 + minor *
// 1000 + micro). Refuses anything below 11.0.0 with a message naming the
// version; a libvirt 11 without TDX support refuses the XML itself.
constexpr unsigned long kLibvirtTdxMinVersion = 11000000;
Status checkLibvirtTdxVersion(unsigned long version);

} // namespace cvm::tdx
