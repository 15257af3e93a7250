// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-sim"

#include "cvm/sim/sev_qmp_commands.h"

#include <glib.h>

#include "cvm/common/gptr.h"
#include "cvm/common/json.h"
#include "cvm/sim/firmware_status.h"

namespace cvm::sim {

namespace {

// g_base64_decode, as QEMU decodes (lenient: junk is skipped, not refused).
Bytes lenientBase64(const char *text)
{
	gsize len = 0;
	guchar *data = g_base64_decode(text, &len);
	Bytes out(data, data + len);
	g_free(data);
	return out;
}

std::string hexAddress(uint64_t v)
{
	GCharPtr s(g_strdup_printf("0x%" G_GINT64_MODIFIER "x", static_cast<guint64>(v)));
	return s.get();
}

Result<JsonNodePtr> querySev(const SevQmpContext &c)
{
	const GuestLaunch *l = c.launch;
	json::ObjectBuilder b;
	b.setBool("enabled", l != nullptr);
	b.setInt("api-minor", l ? l->version().apiMinor : 0);
	b.setInt("handle", l ? l->handle() : 0);
	b.setString("state", sevStateName(l ? l->state() : SevState::Uninit));
	b.setInt("api-major", l ? l->version().apiMajor : 0);
	b.setInt("build-id", l ? l->version().buildId : 0);
	b.setInt("policy", l ? l->policy() : 0);
	return b.build();
}

Result<JsonNodePtr> queryCapabilities(const SevQmpContext &c)
{
	if (!c.platform)
		return qmpError("KVM not enabled");
	const Platform &p = *c.platform;
	return json::ObjectBuilder()
		.setBase64("pdh", p.pdhCert())
		.setBase64("cert-chain", p.certChain())
		.setBase64("cpu0-id", p.identity().chipId)
		.setInt("cbitpos", p.identity().cbitpos)
		.setInt("reduced-phys-bits", p.identity().reducedPhysBits)
		.build();
}

Result<JsonNodePtr> queryMeasure(const SevQmpContext &c)
{
	const GuestLaunch *l = c.launch;
	if (!l || l->state() < SevState::LaunchSecret || !l->measurement())
		return qmpError("SEV launch measurement is not available");
	return json::ObjectBuilder().setString("data", l->measurement()->toBase64()).build();
}

Result<uint64_t> targetGpa(const SevQmpContext &c, JsonObject *args)
{
	if (args && json_object_has_member(args, "gpa"))
		return static_cast<uint64_t>(json_object_get_int_member(args, "gpa"));
	if (!c.secretAreaBase)
		return qmpError("SEV: no secret area found in OVMF, gpa must be specified.");
	return *c.secretAreaBase;
}

Result<JsonNodePtr> injectSecret(const SevQmpContext &c, JsonObject *args)
{
	GuestLaunch *l = c.launch;
	if (!l)
		return qmpError("SEV not enabled for guest");
	uint64_t gpa = CVM_TRY(targetGpa(c, args));
	if (l->state() != SevState::LaunchSecret) {
		GCharPtr s(g_strdup_printf("SEV: Not in correct state. (LSECRET) %x", static_cast<int>(l->state())));
		return qmpError(s.get());
	}
	Bytes header = lenientBase64(json_object_get_string_member(args, "packet-header"));
	if (header.empty())
		return qmpError("SEV: Failed to decode sequence header");
	Bytes secret = lenientBase64(json_object_get_string_member(args, "secret"));
	if (secret.empty())
		return qmpError("SEV: Failed to decode data");
	if (Status s = l->injectSecret(header, secret, gpa); !s) {
		g_info("LAUNCH_SECRET refused: %s", s.error().message().c_str());
		return qmpError("SEV: failed to inject secret " + qemuFwErrorText(s.error()));
	}
	return json::ObjectBuilder().build();
}

Result<JsonNodePtr> guestSecret(const SevQmpContext &c, JsonObject *args)
{
	if (!c.launch)
		return qmpError("SEV not enabled for guest");
	uint64_t gpa = CVM_TRY(targetGpa(c, args));
	const SecureBuffer *mem = c.launch->guestMemory(gpa);
	if (!mem)
		return qmpError("no launch secret was injected at " + hexAddress(gpa));
	return json::ObjectBuilder().setBase64("data", mem->view()).setInt("gpa", static_cast<int64_t>(gpa)).build();
}

Result<JsonNodePtr> attestation(const SevQmpContext &c, JsonObject *args)
{
	if (!c.launch || !c.platform)
		return qmpError("SEV is not enabled");
	gsize len = 0;
	guchar *raw = g_base64_decode(json_object_get_string_member(args, "mnonce"), &len);
	Bytes mnonce(raw, raw + len);
	g_free(raw);
	if (mnonce.size() != 16)
		return qmpError("SEV: mnonce must be 16 bytes (got " + std::to_string(mnonce.size()) + ")");
	auto report = attestationReport(*c.platform, *c.launch, mnonce);
	if (!report) {
		// QEMU first asks for the report's length; a refusal other than
		// INVALID_LENGTH (e.g. the guest state) already fails that call.
		int status = firmwareStatus(report.error()).value_or(static_cast<int>(FwStatus::InvalidParam));
		g_info("LAUNCH_ATTESTATION refused: %s", report.error().message().c_str());
		return qmpError("SEV: Failed to query the attestation report length ret=" +
				std::to_string(kKvmFirmwareFailureRet) + " fw_err=" + std::to_string(status) + " (" +
				fwStatusText(status) + ")");
	}
	return json::ObjectBuilder().setBase64("data", *report).build();
}

} // namespace

void registerSevCommands(QmpDispatcher &d, const SevQmpContext &context)
{
	const SevQmpContext *c = &context;
	d.add({ "query-sev", {}, [c](JsonObject *) { return querySev(*c); } });
	d.add({ "query-sev-capabilities", {}, [c](JsonObject *) { return queryCapabilities(*c); } });
	d.add({ "query-sev-launch-measure", {}, [c](JsonObject *) { return queryMeasure(*c); } });
	d.add({ "sev-inject-launch-secret",
		{ { "packet-header", ArgType::String }, { "secret", ArgType::String },
		  { "gpa", ArgType::Uint64, true } },
		[c](JsonObject *a) { return injectSecret(*c, a); } });
	d.add({ "query-sev-attestation-report", { { "mnonce", ArgType::String } },
		[c](JsonObject *a) { return attestation(*c, a); } });
	if (context.testCommands)
		d.add({ "x-cvm-sim-guest-secret", { { "gpa", ArgType::Uint64, true } },
			[c](JsonObject *a) { return guestSecret(*c, a); } });
}

} // namespace cvm::sim
