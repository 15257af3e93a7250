// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-plugin"

#include "cvm/plugin/libvirt_backend.h"

#include <cstdlib>

#include <glib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "cvm/common/scope_exit.h"

namespace cvm::plugin {

namespace {

struct TypedParams {
	virTypedParameterPtr params = nullptr;
	int count = 0;
	int max = 0;
	~TypedParams() { virTypedParamsFree(params, count); }
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

} // namespace

void VirConnectClose::operator()(virConnect *c) const
{
	virConnectClose(c);
}

void VirDomainFree::operator()(virDomain *d) const
{
	virDomainFree(d);
}

Error libvirtError(std::string_view context)
{
	const char *msg = virGetLastErrorMessage();
	virErrorPtr e = virGetLastError();
	ErrorCode code = ErrorCode::Remote;
	if (e && (e->code == VIR_ERR_NO_DOMAIN))
		code = ErrorCode::NotFound;
	else if (e && (e->code == VIR_ERR_NO_CONNECT || e->code == VIR_ERR_SYSTEM_ERROR || e->code == VIR_ERR_RPC))
		code = ErrorCode::Disconnected;
	else if (e && e->code == VIR_ERR_OPERATION_UNSUPPORTED)
		code = ErrorCode::Unsupported;
	return Error(code, std::string(context) + ": " + (msg ? msg : "unknown libvirt error"));
}

Result<VirConnectPtr> openLibvirt(const std::string &uri)
{
	// libvirt prints errors to stderr by default; we report them ourselves.
	virSetErrorFunc(nullptr, [](void *, virErrorPtr) {});
	VirConnectPtr c(virConnectOpen(uri.empty() ? nullptr : uri.c_str()));
	if (!c)
		return libvirtError("cannot connect to libvirt at " + uri);
	return c;
}

LibvirtBackend::LibvirtBackend(virConnect *conn, VirDomainPtr domain, DomainXml xml)
	: conn_(conn), domain_(std::move(domain)), xml_(std::move(xml))
{
}

Result<std::unique_ptr<LibvirtBackend>> LibvirtBackend::open(virConnect *conn, const std::string &name)
{
	VirDomainPtr d(virDomainLookupByName(conn, name.c_str()));
	if (!d)
		d.reset(virDomainLookupByUUIDString(conn, name.c_str()));
	if (!d)
		return libvirtError("domain '" + name + "'");
	char *raw = virDomainGetXMLDesc(d.get(), VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
	if (!raw)
		return libvirtError("reading the definition of domain '" + name + "'");
	ScopeExit freeRaw([raw] { free(raw); });
	auto xml = CVM_TRY(DomainXml::parse(raw));
	return std::unique_ptr<LibvirtBackend>(new LibvirtBackend(conn, std::move(d), std::move(xml)));
}

bool LibvirtBackend::isActive() const
{
	return virDomainIsActive(domain_.get()) == 1;
}

bool LibvirtBackend::isPaused() const
{
	int state = 0, reason = 0;
	return virDomainGetState(domain_.get(), &state, &reason, 0) == 0 && state == VIR_DOMAIN_PAUSED;
}

Result<PlatformCertificates> LibvirtBackend::certificates()
{
	return nodeSevCertificates(conn_);
}

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

Status LibvirtBackend::startPaused(const SevStartParameters &p)
{
	if (isActive())
		return Error(ErrorCode::Conflict, "domain '" + xml_.name() + "' is already running");
	auto edited = CVM_TRY(DomainXml::parse(CVM_TRY(xml_.serialize())));
	SevLaunchSecurity sev{ p.policy, p.cbitpos, p.reducedPhysBits, p.dhCert, p.session, p.kernelHashes };
	CVM_CHECK(edited.setSevLaunchSecurity(sev));
	std::string text = CVM_TRY(edited.serialize());
	running_.reset(virDomainCreateXML(conn_, text.c_str(), VIR_DOMAIN_START_PAUSED));
	if (!running_)
		return libvirtError("starting domain '" + xml_.name() + "' paused");
	return {};
}

Result<PlatformMeasurement> LibvirtBackend::measure()
{
	TypedParams p;
	virDomain *d = running_ ? running_.get() : domain_.get();
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

Status LibvirtBackend::injectSecret(const SecureBuffer &header, const SecureBuffer &payload,
				    std::optional<uint64_t> address)
{
	TypedParams p;
	std::string h = toBase64(header.view()), s = toBase64(payload.view());
	ScopeExit wipe([&] {
		secureWipe(h.data(), h.size());
		secureWipe(s.data(), s.size());
	});
	if (virTypedParamsAddString(&p.params, &p.count, &p.max, VIR_DOMAIN_LAUNCH_SECURITY_SEV_SECRET_HEADER,
				    h.c_str()) < 0 ||
	    virTypedParamsAddString(&p.params, &p.count, &p.max, VIR_DOMAIN_LAUNCH_SECURITY_SEV_SECRET, s.c_str()) < 0 ||
	    (address && virTypedParamsAddULLong(&p.params, &p.count, &p.max,
						VIR_DOMAIN_LAUNCH_SECURITY_SEV_SECRET_SET_ADDRESS, *address) < 0))
		return libvirtError("building the secret parameters");
	virDomain *d = running_ ? running_.get() : domain_.get();
	if (virDomainSetLaunchSecurityState(d, p.params, p.count, 0) < 0)
		return libvirtError("injecting the launch secret (virDomainSetLaunchSecurityState)");
	return {};
}

Status LibvirtBackend::resume()
{
	virDomain *d = running_ ? running_.get() : domain_.get();
	if (virDomainResume(d) < 0)
		return libvirtError("resuming domain '" + xml_.name() + "'");
	return {};
}

Status LibvirtBackend::destroy()
{
	virDomain *d = running_ ? running_.get() : domain_.get();
	if (virDomainIsActive(d) != 1)
		return {};
	if (virDomainDestroy(d) < 0 && virDomainIsActive(d) == 1)
		return libvirtError("destroying domain '" + xml_.name() + "'");
	return {};
}

} // namespace cvm::plugin
