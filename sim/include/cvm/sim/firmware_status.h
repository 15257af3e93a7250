// SPDX-License-Identifier: Apache-2.0
//
// SEV firmware status codes (the PSP's SEV_RET_* values) and the texts QEMU
// prints for them (target/i386/sev.c sev_fw_errlist), e.g. a LAUNCH_START
// whose MAC does not verify reports "fw_error=11 'Bad measurement'".
//
// The simulated firmware reports a refusal as an Error whose tag is
// firmwareTag(status), so callers (the QMP layer, the process) can print it
// the way QEMU does.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "cvm/common/error.h"

namespace cvm::sim {

enum class FwStatus : int {
	Success = 0,
	InvalidPlatformState = 1,
	InvalidGuestState = 2,
	InvalidConfig = 3,
	InvalidLength = 4,
	AlreadyOwned = 5,
	InvalidCertificate = 6,
	PolicyFailure = 7,
	Inactive = 8,
	InvalidAddress = 9,
	BadSignature = 10,
	BadMeasurement = 11,
	AsidOwned = 12,
	InvalidAsid = 13,
	WbinvdRequired = 14,
	DfFlushRequired = 15,
	InvalidGuest = 16,
	InvalidCommand = 17,
	Active = 18,
	HwErrorPlatform = 19,
	HwErrorUnsafe = 20,
	Unsupported = 21,
	InvalidParam = 22,
	ResourceLimit = 23,
	SecureDataInvalid = 24,
};

// QEMU's text for a status ("Bad measurement"); "unknown error" outside the table.
const char *fwStatusText(int status);

// "sev-fw-11": the tag of a firmware refusal.
std::string firmwareTag(FwStatus status);
// The status of a firmware refusal, nullopt for any other error.
std::optional<int> firmwareStatus(const Error &error);

// An Error carrying `status`; `detail` says what the firmware found (for logs;
// QEMU itself only shows the status).
Error firmwareError(FwStatus status, std::string detail);

// What QEMU's sev_ioctl returns when the firmware refuses a guest command:
// KVM_MEMORY_ENCRYPT_OP fails with EIO and kvm_vm_ioctl returns -errno, so
// QEMU prints "ret=-5 fw_error=N '...'" (LAUNCH_START's line is the
// exception: it prints a local variable that is 1 there).
inline constexpr int kKvmFirmwareFailureRet = -5;

// "ret=-5 fw_error=N 'text'" for a firmware refusal (N = InvalidParam when
// `error` carries no status), as QEMU's launch commands print it.
std::string qemuFwErrorText(const Error &error);

// The status the PSP returns for a refusal of sev/'s platform side (its
// Error tags: wrap-mac, policy-mac, godh-invalid, secret-mac, ...).
FwStatus statusForSevTag(std::string_view tag);

} // namespace cvm::sim
