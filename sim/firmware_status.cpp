// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-sim"

#include "cvm/sim/firmware_status.h"

#include <array>
#include <charconv>

#include "cvm/sev/secret.h"
#include "cvm/sev/session.h"

namespace cvm::sim {

namespace {

// QEMU's sev_fw_errlist, indexed by status.
constexpr std::array<const char *, 25> kTexts = {
	"",
	"Platform state is invalid",
	"Guest state is invalid",
	"Platform configuration is invalid",
	"Buffer too small",
	"Platform is already owned",
	"Certificate is invalid",
	"Policy is not allowed",
	"Guest is not active",
	"Invalid address",
	"Bad signature",
	"Bad measurement",
	"ASID is already owned",
	"Invalid ASID",
	"WBINVD is required",
	"DF_FLUSH is required",
	"Guest handle is invalid",
	"Invalid command",
	"Guest is active",
	"Hardware error",
	"Hardware unsafe",
	"Feature not supported",
	"Invalid parameter",
	"Required firmware resource depleted",
	"Part-specific integrity check failure",
};

constexpr std::string_view kTagPrefix = "sev-fw-";

} // namespace

const char *fwStatusText(int status)
{
	if (status < 0 || static_cast<size_t>(status) >= kTexts.size())
		return "unknown error";
	return kTexts[static_cast<size_t>(status)];
}

std::string firmwareTag(FwStatus status)
{
	return std::string(kTagPrefix) + std::to_string(static_cast<int>(status));
}

std::optional<int> firmwareStatus(const Error &error)
{
	std::string_view tag = error.tag();
	if (tag.substr(0, kTagPrefix.size()) != kTagPrefix)
		return std::nullopt;
	tag.remove_prefix(kTagPrefix.size());
	int value = 0;
	auto [end, ec] = std::from_chars(tag.data(), tag.data() + tag.size(), value);
	if (ec != std::errc() || end != tag.data() + tag.size())
		return std::nullopt;
	return value;
}

Error firmwareError(FwStatus status, std::string detail)
{
	ErrorCode code = status == FwStatus::BadMeasurement ? ErrorCode::VerificationFailed
							    : ErrorCode::InvalidArgument;
	return Error(code, std::move(detail), firmwareTag(status));
}

FwStatus statusForSevTag(std::string_view tag)
{
	if (tag == sev::kTagGodhInvalid)
		return FwStatus::InvalidCertificate;
	if (tag == sev::kTagSessionMalformed || tag == sev::kTagSecretHeader || tag == sev::kTagSecretLength)
		return FwStatus::InvalidLength;
	if (tag == sev::kTagWrapMac || tag == sev::kTagPolicyMac || tag == sev::kTagSecretMac)
		return FwStatus::BadMeasurement;
	if (tag == sev::kTagPolicyInvalid)
		return FwStatus::PolicyFailure;
	if (tag == sev::kTagSecretFlags)
		return FwStatus::Unsupported;
	return FwStatus::InvalidParam;
}

std::string qemuFwErrorText(const Error &error)
{
	int status = firmwareStatus(error).value_or(static_cast<int>(FwStatus::InvalidParam));
	return "ret=" + std::to_string(kKvmFirmwareFailureRet) + " fw_error=" + std::to_string(status) + " '" +
	       fwStatusText(status) + "'";
}

} // namespace cvm::sim
