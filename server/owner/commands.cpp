// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-owner"

#include "commands.h"

#include <charconv>
#include <cstdio>

#include "common.h"
#include "cvm/attest/protocol.h"
#include "cvm/common/file.h"
#include "cvm/common/gptr.h"
#include "cvm/common/json.h"
#include "digests.h"
#include "tdx_reference.h"

namespace cvm::owner {

using namespace attest;

namespace {

Result<uint64_t> parseNumber(const std::string &what, const char *text, uint64_t max)
{
	std::string_view s(text);
	int base = 10;
	if (s.size() > 2 && (s.substr(0, 2) == "0x" || s.substr(0, 2) == "0X")) {
		s.remove_prefix(2);
		base = 16;
	}
	uint64_t v = 0;
	auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
	if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v > max)
		return Error(ErrorCode::InvalidArgument,
			     what + " '" + text + "' must be a number from 0 to " + std::to_string(max));
	return v;
}

Result<std::string> requireVm(const ConnectionOptions &o)
{
	if (!o.vm || !*o.vm)
		return Error(ErrorCode::InvalidArgument, "--vm ID is required");
	if (!isValidId(o.vm))
		return Error(ErrorCode::InvalidArgument,
			     std::string("VM id '") + o.vm + "' may only hold letters, digits, '.', '_' and '-'");
	return std::string(o.vm);
}

struct RegisterOptions {
	ConnectionOptions conn;
	gchar *scheme = nullptr;
	gchar *policy = nullptr;
	gchar **digests = nullptr;
	gchar **secrets = nullptr;
	gchar **buildIds = nullptr;
	gint maxLaunches = 1;
	gchar *minApi = nullptr;
	gchar *ocaPin = nullptr;
	gchar *expires = nullptr;
	DigestInputs inputs;
	TdxReferenceOptions tdx;

	~RegisterOptions()
	{
		for (gchar *p : { scheme, policy, minApi, ocaPin, expires })
			g_free(p);
		for (gchar **v : { digests, secrets, buildIds })
			g_strfreev(v);
	}
};

Status buildSevReference(RegisterOptions &o, Registration &r);

Result<Registration> buildRegistration(RegisterOptions &o)
{
	Registration r;
	if (o.scheme && std::string_view(o.scheme) == "intel-tdx") {
		if (o.policy || o.digests || o.inputs.wanted() || o.buildIds || o.minApi || o.ocaPin)
			return Error(ErrorCode::InvalidArgument,
				     "--policy, --launch-digest, --firmware, --build-id, --min-api and --oca-pin are for "
				     "amd-sev; intel-tdx takes --reference FILE and/or --mrtd HEX ...");
		r.scheme = Scheme::IntelTdx;
		r.tdx = CVM_TRY(buildTdxReference(o.tdx));
	} else {
		if (o.tdx.given())
			return Error(ErrorCode::InvalidArgument,
				     "--reference, --mrtd, --rtmr, --mrconfigid ... need --scheme intel-tdx");
		CVM_CHECK(buildSevReference(o, r));
	}
	for (gchar **s = o.secrets; s && *s; ++s) {
		std::string spec = *s;
		auto colon = spec.find(':');
		if (colon == std::string::npos)
			return Error(ErrorCode::InvalidArgument,
				     "--secret '" + spec + "' must be NAME:FILE (NAME: luks-key or a GUID)");
		Guid guid = CVM_TRY(parseSecretName(spec.substr(0, colon)));
		SecureBuffer data = CVM_TRY(readSecretFile(spec.substr(colon + 1), kMaxSecretsTotal));
		r.secrets.push_back(SecretEntry{ guid, std::move(data) });
	}
	if (o.maxLaunches < 1)
		return Error(ErrorCode::InvalidArgument, "--max-launches must be at least 1");
	r.maxConcurrentLaunches = static_cast<uint32_t>(o.maxLaunches);
	if (o.expires)
		r.expiresAt = CVM_TRY(parseTime(o.expires));
	return r;
}

Status buildSevReference(RegisterOptions &o, Registration &r)
{
	if (!o.policy)
		return Error(ErrorCode::InvalidArgument, "--policy N is required");
	r.sev.policy = static_cast<uint32_t>(CVM_TRY(parseNumber("policy", o.policy, UINT32_MAX)));
	if (o.scheme)
		r.scheme = CVM_TRY(parseScheme(o.scheme));
	else
		r.scheme = (r.sev.policy & 0x4) ? Scheme::AmdSevEs : Scheme::AmdSev;

	for (gchar **d = o.digests; d && *d; ++d) {
		auto bytes = fromHex(*d);
		if (!bytes || bytes->size() != 32)
			return Error(ErrorCode::InvalidArgument,
				     std::string("--launch-digest '") + *d + "' must be 64 hex digits");
		r.sev.launchDigests.push_back(std::move(*bytes));
	}
	if (o.inputs.wanted()) {
		o.inputs.sevEs = r.scheme == Scheme::AmdSevEs;
		auto computed = CVM_TRY(computeLaunchDigests(o.inputs));
		for (auto &d : computed)
			r.sev.launchDigests.push_back(std::move(d));
		if (r.scheme == Scheme::AmdSevEs)
			r.sev.cpuCount = static_cast<uint32_t>(o.inputs.numCpus);
	}
	if (r.sev.launchDigests.empty())
		return Error(ErrorCode::InvalidArgument,
			     "give --launch-digest HEX, or --firmware F (with --kernel/--initrd/--cmdline) to compute it");
	for (gchar **b = o.buildIds; b && *b; ++b)
		r.sev.buildIds.push_back(static_cast<uint8_t>(CVM_TRY(parseNumber("build id", *b, 255))));
	if (o.minApi)
		r.sev.minApi = CVM_TRY(ApiVersion::parse(o.minApi));
	if (o.ocaPin) {
		auto pin = fromHex(o.ocaPin);
		if (!pin || pin->size() != 32)
			return Error(ErrorCode::InvalidArgument, "--oca-pin must be 64 hex digits (SHA-256 of the OCA)");
		r.sev.ocaPin = std::move(*pin);
	}
	return {};
}

void printTdxReference(const tdx::ReferenceValues &ref)
{
	JsonNodePtr values = tdx::referenceValuesToJson(ref);
	JsonObject *obj = json_node_get_object(values.get());
	GList *members = json_object_get_members(obj);
	for (GList *l = members; l; l = l->next) {
		const char *name = static_cast<const char *>(l->data);
		std::string value = json::serialize(json_object_get_member(obj, name));
		printf("  %-16s %s\n", (std::string(name) + ":").c_str(), value.c_str());
	}
	g_list_free(members);
}

void printSevReference(const SevReference &sev)
{
	printf("  policy:          0x%x\n", sev.policy);
	for (const auto &d : sev.launchDigests)
		printf("  launch digest:   %s\n", toHex(d).c_str());
	printf("  minimum API:     %s\n", sev.minApi.toString().c_str());
	if (!sev.buildIds.empty()) {
		std::string ids;
		for (uint8_t id : sev.buildIds)
			ids += (ids.empty() ? "" : ", ") + std::to_string(id);
		printf("  build ids:       %s\n", ids.c_str());
	}
	if (sev.cpuCount)
		printf("  vCPUs:           %u\n", *sev.cpuCount);
	if (sev.ocaPin)
		printf("  OCA pin:         %s\n", toHex(*sev.ocaPin).c_str());
}

void printVmInfo(const VmInfo &info)
{
	printf("VM %s\n", info.id.c_str());
	printf("  scheme:          %s\n", std::string(schemeName(info.scheme)).c_str());
	if (info.scheme == Scheme::IntelTdx)
		printTdxReference(info.tdx);
	else
		printSevReference(info.sev);
	for (const auto &s : info.secrets)
		printf("  secret:          %s (%zu bytes)\n", s.guid.toString().c_str(), s.size);
	printf("  launches:        %u active, at most %u\n", info.activeLaunches, info.maxConcurrentLaunches);
	if (info.expiresAt)
		printf("  expires:         %s\n", formatTime(*info.expiresAt).c_str());
	printf("  updated:         %s\n", formatTime(info.updated).c_str());
}

// "reported" vs "expected" of a refusal, one member per line, side by side.
void printDetails(const AuditEvent &e)
{
	for (const auto &[label, text] : { std::pair{ "reported", &e.reported }, std::pair{ "expected", &e.expected } }) {
		if (text->empty())
			continue;
		auto node = json::parseObject(*text);
		if (!node)
			continue;
		JsonObject *obj = json_node_get_object(node->get());
		GList *members = json_object_get_members(obj);
		for (GList *l = members; l; l = l->next) {
			const char *name = static_cast<const char *>(l->data);
			std::string value = json::serialize(json_object_get_member(obj, name));
			printf("      %s %-12s %s\n", label, name, value.c_str());
		}
		g_list_free(members);
	}
}

} // namespace

int runRegister(int argc, char **argv)
{
	RegisterOptions o;
	auto entries = connectionEntries(o.conn);
	std::vector<GOptionEntry> own = {
		{ "scheme", 0, 0, G_OPTION_ARG_STRING, &o.scheme,
		  "amd-sev, amd-sev-es (default: from the policy) or intel-tdx",
		  "SCHEME" },
		{ "policy", 'p', 0, G_OPTION_ARG_STRING, &o.policy, "Guest policy (decimal or 0x hex)", "N" },
		{ "launch-digest", 'd', 0, G_OPTION_ARG_STRING_ARRAY, &o.digests,
		  "An accepted launch digest (repeat for several)", "HEX" },
		{ "secret", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.secrets,
		  "Release this secret: luks-key:FILE or GUID:FILE (repeatable)", "NAME:FILE" },
		{ "max-launches", 'm', 0, G_OPTION_ARG_INT, &o.maxLaunches, "Concurrent launches allowed (default 1)",
		  "N" },
		{ "min-api", 0, 0, G_OPTION_ARG_STRING, &o.minApi, "Minimum platform firmware API", "MAJOR.MINOR" },
		{ "build-id", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.buildIds, "Allowed firmware build id (repeatable)",
		  "N" },
		{ "oca-pin", 0, 0, G_OPTION_ARG_STRING, &o.ocaPin, "Accept only platforms with this OCA (SHA-256)",
		  "HEX" },
		{ "expires", 0, 0, G_OPTION_ARG_STRING, &o.expires, "The registration expires then (RFC 3339)", "TIME" },
	};
	entries.insert(entries.end(), own.begin(), own.end());
	auto digestEntries = digestInputEntries(o.inputs);
	entries.insert(entries.end(), digestEntries.begin(), digestEntries.end());
	auto tdxEntries = tdxReferenceEntries(o.tdx);
	entries.insert(entries.end(), tdxEntries.begin(), tdxEntries.end());
	if (!parseCommandLine("cvm-owner register",
			      "Register a VM (or replace its registration) at the attestation server.\n"
			      "The launch digests come from --launch-digest or are computed from --firmware etc.",
			      entries, argc, argv))
		return kExitUsage;
	auto vm = requireVm(o.conn);
	if (!vm)
		return usageError("cvm-owner register", vm.error().message());
	auto registration = buildRegistration(o);
	if (!registration)
		return registration.error().code() == ErrorCode::InvalidArgument
			       ? usageError("cvm-owner register", registration.error().message())
			       : report(registration.error());
	auto client = connect(o.conn);
	if (!client)
		return report(client.error());
	auto info = (*client)->registerVm(*vm, *registration);
	if (!info)
		return report(info.error());
	if (o.conn.json) {
		JsonNodePtr node = vmInfoToJson(*info);
		printJson(node.get());
	} else {
		bool tdx = info->scheme == Scheme::IntelTdx;
		printf("registered VM %s: %zu %s, %zu secret(s), at most %u concurrent launch(es)\n", info->id.c_str(),
		       tdx ? info->tdx.mrtd.size() : info->sev.launchDigests.size(),
		       tdx ? "MRTD(s)" : "launch digest(s)", info->secrets.size(), info->maxConcurrentLaunches);
	}
	return kExitOk;
}

int runShow(int argc, char **argv)
{
	ConnectionOptions o;
	if (!parseCommandLine("cvm-owner show", "Show a VM's registration (never its secrets).", connectionEntries(o),
			      argc, argv))
		return kExitUsage;
	auto vm = requireVm(o);
	if (!vm)
		return usageError("cvm-owner show", vm.error().message());
	auto client = connect(o);
	if (!client)
		return report(client.error());
	auto info = (*client)->getVm(*vm);
	if (!info)
		return report(info.error());
	if (o.json) {
		JsonNodePtr node = vmInfoToJson(*info);
		printJson(node.get());
	} else {
		printVmInfo(*info);
	}
	return kExitOk;
}

int runRevoke(int argc, char **argv)
{
	ConnectionOptions o;
	if (!parseCommandLine("cvm-owner revoke",
			      "Delete a VM's registration and secrets; its unfinished launches are voided.",
			      connectionEntries(o), argc, argv))
		return kExitUsage;
	auto vm = requireVm(o);
	if (!vm)
		return usageError("cvm-owner revoke", vm.error().message());
	auto client = connect(o);
	if (!client)
		return report(client.error());
	if (auto s = (*client)->deleteVm(*vm); !s)
		return report(s.error());
	if (o.json) {
		json::ObjectBuilder b;
		b.setString("vm", *vm).setBool("revoked", true);
		JsonNodePtr node = b.build();
		printJson(node.get());
	} else {
		printf("revoked VM %s\n", vm->c_str());
	}
	return kExitOk;
}

int runAudit(int argc, char **argv)
{
	ConnectionOptions o;
	if (!parseCommandLine("cvm-owner audit",
			      "Show a VM's launches and the audit trail (what hosts reported, what was expected).",
			      connectionEntries(o), argc, argv))
		return kExitUsage;
	auto vm = requireVm(o);
	if (!vm)
		return usageError("cvm-owner audit", vm.error().message());
	auto client = connect(o);
	if (!client)
		return report(client.error());
	auto trail = (*client)->auditTrail(*vm);
	if (!trail)
		return report(trail.error());
	if (o.json) {
		JsonNodePtr node = auditTrailToJson(*trail);
		printJson(node.get());
		return kExitOk;
	}
	printf("VM %s: %zu launch(es)\n", trail->vmId.c_str(), trail->launches.size());
	for (const auto &l : trail->launches)
		printf("  %s  %-9s  started %s%s\n", l.launchId.c_str(), l.state.c_str(), formatTime(l.created).c_str(),
		       l.chipId.empty() ? "" : ("  chip " + l.chipId.substr(0, 16) + "…").c_str());
	printf("events:\n");
	for (const auto &e : trail->events) {
		printf("  #%lld %s  %-8s %-24s %s%s%s\n", static_cast<long long>(e.seq), formatTime(e.time).c_str(),
		       e.event.c_str(), e.result.c_str(), e.launchId.empty() ? "" : ("[" + e.launchId + "] ").c_str(),
		       e.message.c_str(), "");
		if (e.result != "ok")
			printDetails(e);
	}
	return kExitOk;
}

int runEnd(int argc, char **argv)
{
	ConnectionOptions o;
	gchar *launch = nullptr, *reason = nullptr;
	auto entries = connectionEntries(o);
	entries.push_back({ "launch", 'l', 0, G_OPTION_ARG_STRING, &launch, "The launch to end (from 'audit')", "ID" });
	entries.push_back({ "reason", 0, 0, G_OPTION_ARG_STRING, &reason, "Why, for the audit trail", "TEXT" });
	GCharPtr launchOwned, reasonOwned;
	bool parsed = parseCommandLine("cvm-owner end",
				       "End a launch: a pending one is voided, a running instance stops counting against "
				       "the VM's bound (for instances the host never reported ended).",
				       entries, argc, argv);
	launchOwned.reset(launch);
	reasonOwned.reset(reason);
	if (!parsed)
		return kExitUsage;
	auto vm = requireVm(o);
	if (!vm)
		return usageError("cvm-owner end", vm.error().message());
	if (!launch || !isValidId(launch))
		return usageError("cvm-owner end", "--launch ID is required (letters, digits, '.', '_' and '-')");
	auto client = connect(o);
	if (!client)
		return report(client.error());
	if (auto s = (*client)->end(*vm, launch, reason ? reason : ""); !s)
		return report(s.error());
	if (o.json) {
		json::ObjectBuilder b;
		b.setString("vm", *vm).setString("launch", launch).setBool("ended", true);
		JsonNodePtr node = b.build();
		printJson(node.get());
	} else {
		printf("ended launch %s of VM %s\n", launch, vm->c_str());
	}
	return kExitOk;
}

} // namespace cvm::owner
