// SPDX-License-Identifier: Apache-2.0
//
// QEMU 7.2's SEV QMP commands answered from the simulated firmware, written
// so that a proxy (the libvirt emulator shim) can register them in its own
// dispatcher and forward everything else to a real QEMU:
//
//   query-sev                 flat 7.2 shape {enabled, api-major, api-minor,
//                             build-id, policy, state, handle}
//   query-sev-capabilities    pdh, cert-chain (PEK||OCA||CEK), cpu0-id,
//                             cbitpos, reduced-phys-bits
//   query-sev-launch-measure  {data: base64 of the 48-byte blob}
//   sev-inject-launch-secret  packet-header, secret, optional gpa (default:
//                             the OVMF secret area)
//   query-sev-attestation-report  mnonce (16 bytes) -> LAUNCH_ATTESTATION report
//   x-cvm-sim-guest-secret    test-only: {data: base64 of what the guest
//                             received at gpa (default: the secret area)}
//
// Error texts are QEMU's (reference notes §2.1).
#pragma once

#include <cstdint>
#include <optional>

#include "cvm/sim/guest_launch.h"
#include "cvm/sim/platform.h"
#include "cvm/sim/qmp_dispatch.h"

namespace cvm::sim {

struct SevQmpContext {
	const Platform *platform = nullptr; // null: no SEV on this host ("KVM not enabled")
	GuestLaunch *launch = nullptr;      // null: not a SEV guest
	std::optional<uint64_t> secretAreaBase;
	// The simulator's test-only commands (x-cvm-sim-*); off in a proxy that
	// must look exactly like QEMU.
	bool testCommands = true;
};

// The context is borrowed and must outlive the dispatcher's use.
void registerSevCommands(QmpDispatcher &dispatcher, const SevQmpContext &context);

// The LAUNCH_ATTESTATION report (0xD0 bytes) for `mnonce`, signed with the
// PEK: MNONCE || LAUNCH_DIGEST || POLICY || SIG_USAGE || SIG_ALGO || 0 || r || s.
Result<Bytes> attestationReport(const Platform &platform, const GuestLaunch &launch, ByteView mnonce);

} // namespace cvm::sim
