// SPDX-License-Identifier: Apache-2.0
//
// The QEMU command line, as far as a SEV launch needs it. QEMU's two option
// syntaxes are both understood:
//   keyval   "sev-guest,id=sev0,policy=0x1,kernel-hashes=on" (",," escapes a comma)
//   JSON     '{"qom-type":"sev-guest","id":"sev0","policy":1}' (what libvirt passes)
// Unknown options are ignored with a debug log (the simulator runs no guest),
// but every option QEMU requires a value for consumes it. Errors read like
// QEMU's ("Parameter 'policy' expects uint32").
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cvm/common/error.h"

namespace cvm::sim {

// An option's parameters in order of appearance; "implied" first key
// (QEMU's implied_key, e.g. the type of -object) under `implied`.
struct OptionParams {
	std::string implied;
	std::vector<std::pair<std::string, std::string>> params;

	std::optional<std::string> get(std::string_view key) const;
};

// "a,b=c,d=e,,f" with `impliedKey` naming the key of a leading bare value.
// Keys without "=" are booleans set to "on" (QEMU's legacy shorthand).
Result<OptionParams> parseKeyval(std::string_view text, bool hasImplied);

// The properties of a sev-guest object (qapi SevGuestProperties, 7.2).
struct SevGuestObject {
	std::string id;
	uint32_t policy = 0x1; // QEMU's default: NODBG
	uint32_t handle = 0;
	std::optional<uint32_t> cbitpos;
	std::optional<uint32_t> reducedPhysBits;
	std::optional<std::string> dhCertFile;
	std::optional<std::string> sessionFile;
	std::optional<std::string> sevDevice;
	bool kernelHashes = false;
};

// One -object argument (either syntax). Objects of other types are returned
// as nullopt (ignored); a sev-guest with a bad property fails.
Result<std::optional<SevGuestObject>> parseObjectOption(std::string_view text);

// QEMU's uint32/bool property parsing: decimal, 0x hex or 0 octal; on/off,
// yes/no, true/false.
Result<uint32_t> parseUint32Property(std::string_view name, std::string_view value);
Result<bool> parseBoolProperty(std::string_view name, std::string_view value);

// Where the QMP monitor listens.
struct QmpEndpoint {
	std::string path; // unix socket path (we create it)
	int fd = -1;      // or an already listening socket handed over (libvirt)
};

struct QemuOptions {
	std::optional<SevGuestObject> sevGuest;
	std::string confidentialGuestSupport; // -machine confidential-guest-support= / memory-encryption=
	std::optional<std::string> firmware;  // -bios, or -drive if=pflash,unit=0
	std::optional<std::string> kernel, initrd, append;
	unsigned smp = 1;
	std::optional<std::string> cpuModel;  // -cpu MODEL,...
	bool startPaused = false;             // -S
	std::vector<QmpEndpoint> qmp;
	uint64_t memoryMiB = 128;
	std::string name;                     // -name guest=...
	// Simulator-only options (not QEMU's; see sim/README.md).
	std::optional<std::string> stateDir;  // --state-dir
	std::optional<uint32_t> cpuSignature; // --cpu-signature (SEV-ES VMSA RDX)
	std::vector<std::string> faults;      // --fault KNOB[=VALUE]
	std::vector<std::string> ignored;     // options we skipped, for the debug log
};

// Parses argv (without argv[0]). "-machine", "--machine" and "-machine=X"
// forms; -chardev socket + -mon mode=control become QMP endpoints.
Result<QemuOptions> parseQemuCommandLine(const std::vector<std::string> &args);

// CPUID(1).EAX for a QEMU CPU model name (EPYC, EPYC-v4, EPYC-Rome,
// EPYC-Milan, EPYC-Genoa, ...), nullopt when unknown.
std::optional<uint32_t> cpuSignatureForModel(std::string_view model);

} // namespace cvm::sim
