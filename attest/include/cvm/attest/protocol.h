// SPDX-License-Identifier: Apache-2.0
//
// The attestation server API v1 (docs/api.md, docs/openapi.yaml): one C++ type
// per request/response body, with JSON conversion in both directions. The
// server parses requests and writes responses with these, the client the
// reverse, so both sides share one definition of the wire format.
//
// Parsing is for untrusted input: every member is type- and range-checked and
// errors name the member ("member 'policy' must be an integer in [0, 4294967295]").
// Request parsers are strict (unknown members are refused, so a misspelt
// "max-concurrent-launches" cannot silently fall back to a default); response
// parsers ignore unknown members so old clients keep working with new servers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cvm/common/bytes.h"
#include "cvm/common/error.h"
#include "cvm/common/gptr.h"
#include "cvm/common/secure_buffer.h"
#include "cvm/tdx/reference.h"

namespace cvm::attest {

// Body size limits (bytes) the server enforces and documents.
inline constexpr size_t kMaxRequestBody = 256 * 1024;
inline constexpr size_t kMaxSecretsTotal = 16 * 1024;   // sevctl's bound on a secret table
inline constexpr size_t kMaxLaunchDigests = 64;
inline constexpr size_t kMaxBuildIds = 256;
inline constexpr size_t kMaxSecrets = 64;

// Registration schemes. New schemes (intel-tdx) add a value and a reference
// struct; the stored form is scheme + scheme-specific JSON, so no table changes.
enum class Scheme { AmdSev, AmdSevEs, IntelTdx };
std::string_view schemeName(Scheme scheme);
Result<Scheme> parseScheme(std::string_view name);

struct ApiVersion {
	uint8_t major = 0;
	uint8_t minor = 0;

	// "MAJOR.MINOR", each 0..255.
	static Result<ApiVersion> parse(std::string_view text);
	std::string toString() const;
	auto operator<=>(const ApiVersion &) const = default;
};

// The well-known secret GUID for a disk passphrase (alias "luks-key").
Guid luksKeyGuid();
// "luks-key" or a GUID in text form.
Result<Guid> parseSecretName(std::string_view name);

struct SecretEntry {
	Guid guid;
	SecureBuffer data;
};

// What the owner accepts for an AMD SEV / SEV-ES launch.
struct SevReference {
	uint32_t policy = 0;
	std::vector<Bytes> launchDigests;      // 32 bytes each, at least one
	ApiVersion minApi;                     // platform firmware API ≥ this
	std::vector<uint8_t> buildIds;         // allowed firmware build ids; empty = any
	std::optional<uint32_t> cpuCount;      // SEV-ES: vCPUs the digests were computed for
	std::optional<Bytes> ocaPin;           // SHA-256 of the platform's OCA certificate
};

// PUT /v1/vm/{id} request body.
struct Registration {
	Scheme scheme = Scheme::AmdSev;
	SevReference sev;
	tdx::ReferenceValues tdx; // intel-tdx: member "tdx-reference" (protocol_tdx.h)
	std::vector<SecretEntry> secrets;
	uint32_t maxConcurrentLaunches = 1;
	std::optional<int64_t> expiresAt;      // unix seconds; absent = never
};

struct SecretInfo {
	Guid guid;
	size_t size = 0;
};

// GET /v1/vm/{id} response (and the answer to PUT): the registration without
// secret values.
struct VmInfo {
	std::string id;
	Scheme scheme = Scheme::AmdSev;
	SevReference sev;
	tdx::ReferenceValues tdx; // intel-tdx
	std::vector<SecretInfo> secrets;
	uint32_t maxConcurrentLaunches = 1;
	uint32_t activeLaunches = 0;
	std::optional<int64_t> expiresAt;
	int64_t created = 0;
	int64_t updated = 0;
};

// POST /v1/vm/{id}/launch: the platform's certificates as libvirt/QEMU report them.
struct LaunchRequest {
	Bytes pdh;                   // 2084-byte PDH certificate
	Bytes certChain;             // PEK || OCA || CEK (3 × 2084 bytes)
	std::optional<Bytes> cpuId;  // GET_ID (cpu0-id): needed when the CEK is unsigned
};

struct LaunchResponse {
	std::string launchId;
	Bytes session;               // 128-byte LAUNCH_START session buffer
	Bytes ownerCert;             // 2084-byte guest-owner DH certificate
	uint32_t policy = 0;
	int64_t expiresAt = 0;
};

// POST /v1/vm/{id}/launch/{launch-id}/validate: what the platform reported.
struct ValidateRequest {
	uint8_t apiMajor = 0;
	uint8_t apiMinor = 0;
	uint8_t buildId = 0;
	uint32_t policy = 0;
	Bytes measurement;           // 48 bytes: MEASURE || MNONCE
};

// The secret packet for sev-inject-launch-secret. Encrypted under the launch's
// TEK (the host cannot read it), but still kept in secure memory.
struct ValidateResponse {
	bool hasSecret = false;
	SecureBuffer secretHeader;   // 52 bytes
	SecureBuffer secretPayload;  // encrypted secret table
};

// POST …/end
struct EndRequest {
	std::string reason;
};

// One entry of the append-only audit trail.
struct AuditEvent {
	int64_t seq = 0;
	int64_t time = 0;
	std::string launchId;        // empty for registration events
	std::string event;           // "register", "launch", "validate", "end", "expire", "revoke", ...
	std::string result;          // "ok" or an error code
	std::string message;
	std::string reported;        // JSON object text ("" when none): what the host reported
	std::string expected;        // JSON object text ("" when none): what the owner registered
};

struct LaunchSummary {
	std::string launchId;
	std::string state;           // pending, validated, rejected, ended, expired, revoked
	int64_t created = 0;
	int64_t expiresAt = 0;
	std::optional<int64_t> finished;
	std::string chipId;          // hex, when the host sent cpu-id
};

// GET /v1/vm/{id}/launches
struct AuditTrail {
	std::string vmId;
	std::vector<LaunchSummary> launches;
	std::vector<AuditEvent> events;
};

struct ErrorBody {
	std::string code;
	std::string message;
};

// RFC 3339 UTC ("2024-05-01T12:00:00Z") <-> unix seconds.
std::string formatTime(int64_t unixSeconds);
Result<int64_t> parseTime(std::string_view text);

// VM and launch ids in URLs: 1-128 characters of [A-Za-z0-9._-] (UUIDs fit).
bool isValidId(std::string_view id);

// --- JSON -----------------------------------------------------------------
// Requests (strict: unknown members are refused).
Result<Registration> parseRegistration(JsonObject *obj);
Result<LaunchRequest> parseLaunchRequest(JsonObject *obj);
Result<ValidateRequest> parseValidateRequest(JsonObject *obj);
Result<EndRequest> parseEndRequest(JsonObject *obj);

// The registration body carries secret values: it is built into a
// SecureBuffer (and the intermediate JSON strings are wiped).
SecureBuffer registrationToJson(const Registration &registration);
JsonNodePtr launchRequestToJson(const LaunchRequest &request);
JsonNodePtr validateRequestToJson(const ValidateRequest &request);
JsonNodePtr endRequestToJson(const EndRequest &request);

// The AMD SEV reference values on their own, as the server stores them.
JsonNodePtr sevReferenceToJson(const SevReference &reference);
Result<SevReference> parseSevReferenceJson(JsonObject *obj, Scheme scheme);

// Responses (lenient about unknown members).
JsonNodePtr vmInfoToJson(const VmInfo &info);
JsonNodePtr launchResponseToJson(const LaunchResponse &response);
JsonNodePtr validateResponseToJson(const ValidateResponse &response);
JsonNodePtr auditTrailToJson(const AuditTrail &trail);
JsonNodePtr errorBodyToJson(const ErrorBody &error);

Result<VmInfo> parseVmInfo(JsonObject *obj);
Result<LaunchResponse> parseLaunchResponse(JsonObject *obj);
Result<ValidateResponse> parseValidateResponse(JsonObject *obj);
Result<AuditTrail> parseAuditTrail(JsonObject *obj);
Result<ErrorBody> parseErrorBody(JsonObject *obj);

} // namespace cvm::attest
