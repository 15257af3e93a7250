// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-plugin"

#include "cvm/plugin/libvirt_backend.h"

#include <cstdlib>
#include <cstring>
#include <variant>

#include <glib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

namespace cvm::plugin {

namespace {

struct TypedParams {
	virTypedParameterPtr params = nullptr;
	int count = 0;
	int max = 0;
	bool secret = false;   // wipe string values before libvirt frees them
	~TypedParams()
	{
		for (int i = 0; secret && i < count; ++i)
			if (params[i].type == VIR_TYPED_PARAM_STRING && params[i].value.s)
				secureWipe(params[i].value.s, strlen(params[i].value.s));
		virTypedParamsFree(params, count);
	}
};

Result<Bytes> base64Param(const TypedParams &p, const char *name, bool required, const char *what)
{
	const char *value = nullptr;
	if (virTypedParamsGetString(p.params, p.count, name, &value) < 0 || !value || !*value) {
		if (!required)
			return Bytes();
		return Error(ErrorCode::Protocol, std::string(what) + ": libvirt did not report '" + name + "'");
	}
	auto b = fromBase64(value);
	if (!b)
		return b.error().withContext(std::string(what) + ": '" + name + "'");
	return b;
}

Result<unsigned> uintParam(const TypedParams &p, const char *name, const char *what)
{
	unsigned v = 0;
	if (virTypedParamsGetUInt(p.params, p.count, name, &v) != 1)
		return Error(ErrorCode::Protocol, std::string(what) + ": libvirt did not report '" + name + "'");
	return v;
}

Result<uint8_t> byteParam(const TypedParams &p, const char *name, const char *what)
{
	unsigned v = CVM_TRY(uintParam(p, name, what));
	if (v > 255)
		return Error(ErrorCode::Protocol, std::string(what) + ": '" + name + "' out of range");
	return static_cast<uint8_t>(v);
}

Result<std::string> xmlDesc(virDomain *d, unsigned flags, const std::string &what)
{
	char *raw = virDomainGetXMLDesc(d, flags);
	if (!raw)
		return libvirtError(what);
	std::string text(raw);
	free(raw);
	return text;
}

Result<PlatformMeasurement> launchSecurityInfo(virDomain *d)
{
	TypedParams p;
	if (virDomainGetLaunchSecurityInfo(d, &p.params, &p.count, 0) < 0)
		return libvirtError("reading the launch measurement (virDomainGetLaunchSecurityInfo)");
	const char *what = "virDomainGetLaunchSecurityInfo";
	PlatformMeasurement m;
	m.measurement = CVM_TRY(base64Param(p, VIR_DOMAIN_LAUNCH_SECURITY_SEV_MEASUREMENT, true, what));
	m.apiMajor = CVM_TRY(byteParam(p, VIR_DOMAIN_LAUNCH_SECURITY_SEV_API_MAJOR, what));
	m.apiMinor = CVM_TRY(byteParam(p, VIR_DOMAIN_LAUNCH_SECURITY_SEV_API_MINOR, what));
	m.buildId = CVM_TRY(byteParam(p, VIR_DOMAIN_LAUNCH_SECURITY_SEV_BUILD_ID, what));
	m.policy = CVM_TRY(uintParam(p, VIR_DOMAIN_LAUNCH_SECURITY_SEV_POLICY, what));
	return m;
}

// The rollback's one look at the domain: destroyed when it runs with
// `session`, left alone otherwise.
Status destroyIfSession(virConnect *c, const std::string &uuid, const std::string &name, const Bytes &session)
{
	VirDomainPtr d(virDomainLookupByUUIDString(c, uuid.c_str()));
	if (!d)
		return virGetLastErrorCode() == VIR_ERR_NO_DOMAIN ? Status() : libvirtError("looking up domain '" + name + "'");
	int active = virDomainIsActive(d.get());
	if (active < 0)
		return libvirtError("asking whether domain '" + name + "' runs");
	if (active == 0)
		return {};
	auto live = xmlDesc(d.get(), 0, "reading the live definition of domain '" + name + "'");
	if (!live)
		return virDomainIsActive(d.get()) == 0 ? Status() : Status(live.error());
	auto doc = CVM_TRY(DomainXml::parse(*live));
	auto text = doc.sevSession();
	auto runs = text ? fromBase64(*text) : Result<Bytes>(Bytes());
	if (!runs || *runs != session) {
		g_message("domain '%s' runs, but not with this launch's session: it is not this launch's guest, left alone",
			  name.c_str());
		return {};
	}
	if (virDomainDestroy(d.get()) < 0 && virDomainIsActive(d.get()) != 0)
		return libvirtError("destroying domain '" + name + "'");
	return {};
}

} // namespace

Result<PlatformCertificates> nodeSevCertificates(virConnect *conn)
{
	TypedParams p;
	if (virNodeGetSEVInfo(conn, &p.params, &p.count, 0) < 0)
		return libvirtError("reading the platform's SEV certificates (virNodeGetSEVInfo)");
	const char *what = "virNodeGetSEVInfo";
	PlatformCertificates c;
	c.pdh = CVM_TRY(base64Param(p, VIR_NODE_SEV_PDH, true, what));
	c.certChain = CVM_TRY(base64Param(p, VIR_NODE_SEV_CERT_CHAIN, true, what));
	Bytes cpu = CVM_TRY(base64Param(p, VIR_NODE_SEV_CPU0_ID, false, what));
	if (!cpu.empty())
		c.cpuId = std::move(cpu);
	c.cbitpos = CVM_TRY(uintParam(p, VIR_NODE_SEV_CBITPOS, what));
	c.reducedPhysBits = CVM_TRY(uintParam(p, VIR_NODE_SEV_REDUCED_PHYS_BITS, what));
	return c;
}

LibvirtBackend::LibvirtBackend(std::unique_ptr<LibvirtConnection> conn, DomainXml xml)
	: conn_(std::move(conn)), xml_(std::move(xml)), uuid_(xml_.uuid()), name_(xml_.name())
{
}

Result<std::unique_ptr<LibvirtBackend>> LibvirtBackend::open(const std::string &uri, const std::string &name,
							     std::chrono::milliseconds stepTimeout)
{
	auto conn = CVM_TRY(LibvirtConnection::open(uri, stepTimeout));
	auto text = CVM_TRY(conn->call<std::string>(
		"domain '" + name + "'",
		[name](virConnect *c) -> Result<std::string> {
			VirDomainPtr d(virDomainLookupByName(c, name.c_str()));
			if (!d)
				d.reset(virDomainLookupByUUIDString(c, name.c_str()));
			if (!d)
				return libvirtError("domain '" + name + "'");
			return xmlDesc(d.get(), VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE,
				       "reading the definition of domain '" + name + "'");
		},
		conn->deadline(), true));
	auto xml = CVM_TRY(DomainXml::parse(text));
	return std::unique_ptr<LibvirtBackend>(new LibvirtBackend(std::move(conn), std::move(xml)));
}

Result<bool> LibvirtBackend::isActive()
{
	return conn_->call<bool>(
		"domain '" + name_ + "'",
		[uuid = uuid_, name = name_](virConnect *c) -> Result<bool> {
			VirDomainPtr d(virDomainLookupByUUIDString(c, uuid.c_str()));
			if (!d)
				return libvirtError("looking up domain '" + name + "'");
			int active = virDomainIsActive(d.get());
			if (active < 0)
				return libvirtError("asking whether domain '" + name + "' runs");
			return active == 1;
		},
		conn_->deadline(), true);
}

Result<SharedDomain> LibvirtBackend::started(const char *what) const
{
	if (!running_)
		return Error(ErrorCode::Internal, std::string(what) + ": this launch has not started the guest");
	return running_;
}

Result<PlatformCertificates> LibvirtBackend::certificates()
{
	auto c = CVM_TRY(
		conn_->call<PlatformCertificates>("virNodeGetSEVInfo", nodeSevCertificates, conn_->deadline(), true));
	if (!c.cpuId)
		g_message("libvirt reported no chip id (cpu0-id) for this host; libvirt 9.0 drops it once it has "
			  "loaded the emulator's capabilities from its cache (docs/launch.md). An attestation server "
			  "that must fetch the AMD-signed CEK by chip id will refuse the launch");
	return c;
}

Status LibvirtBackend::startPaused(const SevStartParameters &p)
{
	// From here on the rollback looks for a guest with this session: a
	// create that fails may still have started one.
	session_ = p.session;
	if (CVM_TRY(isActive()))
		return Error(ErrorCode::Conflict, "domain '" + name_ + "' is already running");
	auto edited = CVM_TRY(DomainXml::parse(CVM_TRY(xml_.serialize())));
	SevLaunchSecurity sev{ p.policy, p.cbitpos, p.reducedPhysBits, p.dhCert, p.session, p.kernelHashes };
	CVM_CHECK(edited.setSevLaunchSecurity(sev));
	std::string text = CVM_TRY(edited.serialize());
	std::string what = "starting domain '" + name_ + "' paused";
	running_ = CVM_TRY(conn_->call<SharedDomain>(
		what,
		[text, what](virConnect *c) -> Result<SharedDomain> {
			VirDomainPtr d(virDomainCreateXML(c, text.c_str(), VIR_DOMAIN_START_PAUSED));
			if (!d)
				return libvirtError(what);
			return shareDomain(std::move(d));
		},
		conn_->deadline(), true));
	return {};
}

Result<PlatformMeasurement> LibvirtBackend::measure()
{
	auto d = CVM_TRY(started("measure"));
	return conn_->call<PlatformMeasurement>(
		"virDomainGetLaunchSecurityInfo", [d](virConnect *) { return launchSecurityInfo(d.get()); },
		conn_->deadline(), true);
}

Status LibvirtBackend::injectSecret(const SecureBuffer &header, const SecureBuffer &payload,
				    std::optional<uint64_t> address)
{
	auto d = CVM_TRY(started("inject"));
	// Shared with the call's thread; wiped by whichever lets go last.
	auto p = std::make_shared<TypedParams>();
	p->secret = true;
	std::string h = toBase64(header.view()), s = toBase64(payload.view());
	int rc = virTypedParamsAddString(&p->params, &p->count, &p->max, VIR_DOMAIN_LAUNCH_SECURITY_SEV_SECRET_HEADER,
					 h.c_str());
	if (rc == 0)
		rc = virTypedParamsAddString(&p->params, &p->count, &p->max, VIR_DOMAIN_LAUNCH_SECURITY_SEV_SECRET,
					     s.c_str());
	secureWipe(h.data(), h.size());
	secureWipe(s.data(), s.size());
	if (rc == 0 && address)
		rc = virTypedParamsAddULLong(&p->params, &p->count, &p->max,
					     VIR_DOMAIN_LAUNCH_SECURITY_SEV_SECRET_SET_ADDRESS, *address);
	if (rc < 0)
		return libvirtError("building the secret parameters");
	return status(conn_->call<Done>(
		"virDomainSetLaunchSecurityState",
		[d, p](virConnect *) -> Result<Done> {
			if (virDomainSetLaunchSecurityState(d.get(), p->params, p->count, 0) < 0)
				return libvirtError("injecting the launch secret (virDomainSetLaunchSecurityState)");
			return Done();
		},
		conn_->deadline(), true));
}

Status LibvirtBackend::resume()
{
	auto d = CVM_TRY(started("resume"));
	std::string what = "resuming domain '" + name_ + "'";
	return status(conn_->call<Done>(
		what,
		[d, what](virConnect *) -> Result<Done> {
			if (virDomainResume(d.get()) < 0)
				return libvirtError(what);
			return Done();
		},
		conn_->deadline(), true));
}

Status LibvirtBackend::destroy()
{
	if (!session_)
		return {};   // no start was attempted: no guest of this launch can run
	if (!conn_->settle(conn_->deadline()))
		g_warning("a libvirt call of this launch still has not returned; looking for the guest anyway");
	return destroyLaunch(*session_);
}

Status LibvirtBackend::destroyLaunch(ByteView session)
{
	auto deadline = conn_->deadline();
	Bytes want(session.begin(), session.end());
	for (;;) {
		auto st = conn_->call<Done>(
			"destroying domain '" + name_ + "'",
			[uuid = uuid_, name = name_, want](virConnect *c) -> Result<Done> {
				CVM_CHECK(destroyIfSession(c, uuid, name, want));
				return Done();
			},
			deadline, false);
		if (st) {
			running_.reset();
			return {};
		}
		if (conn_->alive() || LibvirtConnection::Clock::now() >= deadline)
			return st.error();
		// libvirtd went away (restarted): the guest may well outlive it.
		g_message("%s; reconnecting to %s", st.error().message().c_str(), conn_->uri().c_str());
		running_.reset();
		if (auto again = conn_->reopen(deadline); !again)
			return Error(st.error().code(), st.error().message() + "; reconnecting to " + conn_->uri() +
								": " + again.error().message());
	}
}

} // namespace cvm::plugin
