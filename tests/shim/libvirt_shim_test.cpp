// SPDX-License-Identifier: Apache-2.0
//
// cvm-sev-shim as the emulator of the real system libvirtd (scripts/
// test-services): capability probe, node SEV info, a SEV domain's whole
// launch (paused start, measurement, secret, resume, destroy), a plain
// domain, and a tampered session.
#include <catch2/catch.hpp>

#include <thread>

#include <libvirt/libvirt-qemu.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "cvm/common/bytes.h"
#include "cvm/common/file.h"
#include "cvm/common/json.h"
#include "cvm/sev/chain.h"
#include "cvm/sev/measurement.h"
#include "cvm/sev/secret.h"
#include "cvm/sev/trust.h"
#include "shim_libvirt_support.h"
#include "test_support.h"

using namespace cvm;
using namespace cvm::test;

namespace {

// The value of `xpath` in an XML text ("" when absent).
std::string xmlValue(const std::string &xml, const char *xpath)
{
	xmlDocPtr doc = xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "x.xml", nullptr, XML_PARSE_NONET);
	REQUIRE(doc);
	xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
	xmlXPathObjectPtr o = xmlXPathEvalExpression(reinterpret_cast<const xmlChar *>(xpath), ctx);
	std::string out;
	if (o && o->type == XPATH_STRING && o->stringval)
		out = reinterpret_cast<const char *>(o->stringval);
	xmlXPathFreeObject(o);
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	return out;
}

std::string domainCapabilities(virConnectPtr conn, const char *emulator)
{
	char *caps = virConnectGetDomainCapabilities(conn, emulator, "x86_64", "q35", "qemu", 0);
	INFO(virError());
	REQUIRE(caps);
	std::string s(caps);
	free(caps);
	return s;
}

std::string monitor(virDomainPtr d, const std::string &cmd)
{
	char *reply = nullptr;
	if (virDomainQemuMonitorCommand(d, cmd.c_str(), &reply, 0) != 0)
		return "error: " + virError();
	std::string s(reply);
	free(reply);
	return s;
}

int domainState(virDomainPtr d)
{
	int state = -1, reason = 0;
	REQUIRE(virDomainGetState(d, &state, &reason, 0) == 0);
	return state;
}

// The launch digest of the firmware, from our CLI (an independent path from the simulator's).
sev::Digest256 expectedLaunchDigest()
{
	auto r = run({ buildPath("plugin/cvm-launch"), "sev", "measure", "--firmware", "/usr/share/OVMF/OVMF_CODE.fd",
		       "--json" });
	INFO(r.err);
	REQUIRE(r.exitStatus == 0);
	auto node = json::parseObject(r.out);
	REQUIRE(node.ok());
	auto hex = json::getHex(json_node_get_object(node->get()), "launch-digest");
	REQUIRE(hex.ok());
	REQUIRE(hex->size() == 32);
	sev::Digest256 d;
	std::copy(hex->begin(), hex->end(), d.begin());
	return d;
}

void checkChain(const std::string &pdhB64, const std::string &chainB64, const sim::Platform &platform)
{
	CHECK(pdhB64 == toBase64(platform.pdhCert()));
	CHECK(chainB64 == toBase64(platform.certChain()));
	auto chain = sev::parsePlatformChainBase64(pdhB64, chainB64);
	INFO((chain ? "" : chain.error().message()));
	REQUIRE(chain.ok());
	auto store = sev::TrustStore::load(platform.stateDir() + "/roots", sev::TrustMode::AsGiven);
	INFO((store ? "" : store.error().message()));
	REQUIRE(store.ok());
	auto verdict = sev::verifyChain(*chain, *store);
	INFO(verdict.failure);
	CHECK(verdict.valid());
	// The same through the CLI, with the values as libvirt reports them.
	auto dir = TempDir::create("cvmt-shim-chain-").value();
	auto text = [](const std::string &s) { return ByteView(reinterpret_cast<const uint8_t *>(s.data()), s.size()); };
	REQUIRE(writeFileAtomic(dir.file("pdh.b64"), text(pdhB64)).ok());
	REQUIRE(writeFileAtomic(dir.file("chain.b64"), text(chainB64)).ok());
	std::vector<std::string> cli = { buildPath("plugin/cvm-launch"), "sev", "verify-chain", "--pdh", dir.file("pdh.b64"),
					 "--cert-chain", dir.file("chain.b64") };
	auto withTestRoots = cli;
	withTestRoots.insert(withTestRoots.end(), { "--test-roots", platform.stateDir() + "/roots" });
	auto ok = run(withTestRoots);
	INFO(ok.out << ok.err);
	CHECK(ok.exitStatus == 0);
	auto emptyRoots = TempDir::create("cvmt-shim-roots-").value();
	cli.insert(cli.end(), { "--roots", emptyRoots.path() });
	CHECK(run(cli).exitStatus != 0); // not AMD's roots
}

constexpr uint32_t kPolicy = 0x3; // NODBG | NOKS
constexpr uint64_t kSecretGpa = 0x800000; // Debian's OVMF_CODE.fd has no SEV secret area

} // namespace

TEST_CASE("libvirt probes SEV support through the shim")
{
	auto &s = ShimSetup::get();
	std::string caps = domainCapabilities(s.conn(), s.shim().c_str());
	CHECK(xmlValue(caps, "string(/domainCapabilities/path)") == s.shim());
	CHECK(xmlValue(caps, "string(/domainCapabilities/features/sev/@supported)") == "yes");
	CHECK(xmlValue(caps, "string(/domainCapabilities/features/sev/cbitpos)") ==
	      std::to_string(s.platform().identity().cbitpos));
	CHECK(xmlValue(caps, "string(/domainCapabilities/features/sev/reducedPhysBits)") == "1");
	CHECK(xmlValue(caps, "string(/domainCapabilities/features/sev/cpu0Id)") ==
	      toBase64(s.platform().identity().chipId));
	// What virNodeGetSEVInfo answers from: libvirt's cached probe of this binary.
	auto cached = readTextFile(capabilityCacheFile(s.shim()));
	REQUIRE(cached.ok());
	CHECK(xmlValue(*cached, "string(/qemuCaps/flag[@name='sev-guest']/@name)") == "sev-guest");
	checkChain(xmlValue(*cached, "string(/qemuCaps/sev/pdh)"), xmlValue(*cached, "string(/qemuCaps/sev/certChain)"),
		   s.platform());
}

TEST_CASE("a SEV domain launches through the shim: measurement, secret, resume, destroy")
{
	auto &s = ShimSetup::get();
	const std::string name = "cvmt-shim-sev-" + std::to_string(::getpid());
	s.destroyIfPresent(name);
	auto owner = sev::startSessionWithPdhCert(s.platform().pdhCert(), kPolicy);
	REQUIRE(owner.ok());
	auto dom = s.create(s.domainXml(name, &*owner, kPolicy), VIR_DOMAIN_START_PAUSED);
	INFO(virError());
	REQUIRE(dom);
	CHECK(domainState(dom.get()) == VIR_DOMAIN_PAUSED);
	pid_t shimPid = domainShimPid(name), qemuPid = childPid(shimPid);
	CHECK(processAlive(qemuPid));

	virTypedParameterPtr params = nullptr;
	int n = 0;
	REQUIRE(virDomainGetLaunchSecurityInfo(dom.get(), &params, &n, 0) == 0);
	const char *m = nullptr;
	unsigned major = 0, minor = 0, build = 0, policy = 0;
	REQUIRE(virTypedParamsGetString(params, n, VIR_DOMAIN_LAUNCH_SECURITY_SEV_MEASUREMENT, &m) == 1);
	REQUIRE(virTypedParamsGetUInt(params, n, VIR_DOMAIN_LAUNCH_SECURITY_SEV_API_MAJOR, &major) == 1);
	REQUIRE(virTypedParamsGetUInt(params, n, VIR_DOMAIN_LAUNCH_SECURITY_SEV_API_MINOR, &minor) == 1);
	REQUIRE(virTypedParamsGetUInt(params, n, VIR_DOMAIN_LAUNCH_SECURITY_SEV_BUILD_ID, &build) == 1);
	REQUIRE(virTypedParamsGetUInt(params, n, VIR_DOMAIN_LAUNCH_SECURITY_SEV_POLICY, &policy) == 1);
	auto measurement = sev::LaunchMeasurement::fromBase64(m);
	virTypedParamsFree(params, n);
	REQUIRE(measurement.ok());
	const auto &v = s.platform().identity().version;
	CHECK(major == v.apiMajor);
	CHECK(minor == v.apiMinor);
	CHECK(build == v.buildId);
	CHECK(policy == kPolicy);
	sev::PlatformVersion ver{ static_cast<uint8_t>(major), static_cast<uint8_t>(minor), static_cast<uint8_t>(build) };
	auto digest = expectedLaunchDigest();
	CHECK(sev::verifyMeasurement(owner->keys.tik.view(), ver, policy, digest, *measurement).value());
	digest[0] ^= 1; // another firmware would not verify
	CHECK(!sev::verifyMeasurement(owner->keys.tik.view(), ver, policy, digest, *measurement).value());

	std::vector<sev::SecretEntry> entries;
	const std::string key = "cvmt-shim disk key";
	entries.push_back({ sev::secret_guid::luksKey(),
			    SecureBuffer(ByteView(reinterpret_cast<const uint8_t *>(key.data()), key.size())) });
	auto table = sev::buildSecretTable(entries);
	REQUIRE(table.ok());
	auto packet = sev::sealSecret(owner->keys.tek.view(), owner->keys.tik.view(), measurement->measure, table->view());
	REQUIRE(packet.ok());
	virTypedParameterPtr set = nullptr;
	int ns = 0, maxs = 0;
	std::string hdr = toBase64(packet->header), payload = toBase64(packet->payload);
	virTypedParamsAddString(&set, &ns, &maxs, VIR_DOMAIN_LAUNCH_SECURITY_SEV_SECRET_HEADER, hdr.c_str());
	virTypedParamsAddString(&set, &ns, &maxs, VIR_DOMAIN_LAUNCH_SECURITY_SEV_SECRET, payload.c_str());
	virTypedParamsAddULLong(&set, &ns, &maxs, VIR_DOMAIN_LAUNCH_SECURITY_SEV_SECRET_SET_ADDRESS, kSecretGpa);
	int rc = virDomainSetLaunchSecurityState(dom.get(), set, ns, 0);
	virTypedParamsFree(set, ns);
	INFO(virError());
	REQUIRE(rc == 0);
	std::string got = monitor(dom.get(), R"({"execute":"x-cvm-sim-guest-secret","arguments":{"gpa":8388608}})");
	auto reply = json::parseObject(got);
	REQUIRE(reply.ok());
	auto data = json::getBase64(json::getObject(json_node_get_object(reply->get()), "return").value(), "data");
	REQUIRE(data.ok());
	CHECK(toHex(*data) == toHex(table->view()));

	REQUIRE(virDomainResume(dom.get()) == 0);
	std::this_thread::sleep_for(std::chrono::seconds(2)); // OVMF runs under TCG
	CHECK(domainState(dom.get()) == VIR_DOMAIN_RUNNING);
	CHECK(monitor(dom.get(), R"({"execute":"query-sev"})").find("\"state\":\"running\"") != std::string::npos);
	CHECK(monitor(dom.get(), R"({"execute":"query-status"})").find("\"status\":\"running\"") != std::string::npos);
	REQUIRE(virDomainDestroy(dom.get()) == 0);
	std::this_thread::sleep_for(std::chrono::milliseconds(300));
	CHECK(!processAlive(shimPid));
	CHECK(!processAlive(qemuPid));
}

TEST_CASE("a plain domain runs through the shim as with QEMU")
{
	auto &s = ShimSetup::get();
	const std::string name = "cvmt-shim-plain-" + std::to_string(::getpid());
	s.destroyIfPresent(name);
	auto dom = s.create(s.domainXml(name, nullptr, 0), 0);
	INFO(virError());
	REQUIRE(dom);
	CHECK(domainState(dom.get()) == VIR_DOMAIN_RUNNING);
	pid_t shimPid = domainShimPid(name), qemuPid = childPid(shimPid);
	// QEMU's own answers: SEV is not enabled for this guest...
	std::string qs = monitor(dom.get(), R"({"execute":"query-sev"})");
	INFO(qs);
	CHECK(qs.find("\"enabled\":false") != std::string::npos);
	CHECK(monitor(dom.get(), R"({"execute":"x-cvm-sim-guest-secret"})").find("CommandNotFound") != std::string::npos);
	// ... while the host (the simulated platform) offers SEV.
	CHECK(monitor(dom.get(), R"({"execute":"query-sev-capabilities"})").find(toBase64(s.platform().pdhCert())) !=
	      std::string::npos);
	REQUIRE(virDomainSuspend(dom.get()) == 0);
	CHECK(domainState(dom.get()) == VIR_DOMAIN_PAUSED);
	REQUIRE(virDomainResume(dom.get()) == 0);
	CHECK(domainState(dom.get()) == VIR_DOMAIN_RUNNING);
	REQUIRE(virDomainDestroy(dom.get()) == 0);
	std::this_thread::sleep_for(std::chrono::milliseconds(300));
	CHECK(!processAlive(shimPid));
	CHECK(!processAlive(qemuPid));
}

TEST_CASE("a tampered session fails the start cleanly")
{
	auto &s = ShimSetup::get();
	const std::string name = "cvmt-shim-tamper-" + std::to_string(::getpid());
	s.destroyIfPresent(name);
	auto owner = sev::startSessionWithPdhCert(s.platform().pdhCert(), kPolicy);
	REQUIRE(owner.ok());
	owner->session.wrapMac[5] ^= 0x40;
	auto dom = s.create(s.domainXml(name, &*owner, kPolicy), VIR_DOMAIN_START_PAUSED);
	REQUIRE(!dom);
	std::string err = virError();
	INFO(err);
	CHECK(err.find("LAUNCH_START") != std::string::npos);
	CHECK(err.find("Bad measurement") != std::string::npos);
	VirDomainPtr left(virDomainLookupByName(s.conn(), name.c_str()));
	CHECK(!left);
	// A policy the platform refuses (reserved bits) fails the same way.
	auto owner2 = sev::startSessionWithPdhCert(s.platform().pdhCert(), 0x40);
	REQUIRE(owner2.ok());
	auto dom2 = s.create(s.domainXml(name, &*owner2, 0x40), VIR_DOMAIN_START_PAUSED);
	CHECK(!dom2);
	CHECK(virError().find("LAUNCH_START") != std::string::npos);
}

TEST_CASE("node SEV info comes from the default emulator")
{
	auto &s = ShimSetup::get();
	// libvirt answers virNodeGetSEVInfo from the capabilities of the default
	// emulator: the first qemu-system-x86_64 in libvirtd's PATH.
	std::string caps = domainCapabilities(s.conn(), nullptr);
	std::string def = xmlValue(caps, "string(/domainCapabilities/path)");
	char resolved[4096] = {};
	bool isShim = ::realpath(def.c_str(), resolved) && std::string(resolved).ends_with("/cvm-sev-shim");
	virTypedParameterPtr params = nullptr;
	int n = 0;
	int rc = virNodeGetSEVInfo(s.conn(), &params, &n, 0);
	if (!isShim) {
		// scripts/test (and so CI) starts libvirtd with the shim as the
		// default emulator and says so with CVM_TEST_SEV_SHIM: then this is a failure.
		INFO("the default emulator " << def << " is not cvm-sev-shim: node SEV info is QEMU's (start "
					     "libvirtd with CVM_TEST_SEV_SHIM=1 scripts/test-services start)");
		REQUIRE(!shimRequired());
		WARN("the default emulator " << def << " is not cvm-sev-shim: only QEMU's refusal is checked");
		CHECK(rc != 0);
		CHECK(virError().find("QEMU does not support SEV guest") != std::string::npos);
		return;
	}
	REQUIRE(rc == 0);
	const char *pdh = nullptr, *chain = nullptr;
	unsigned cbitpos = 0;
	REQUIRE(virTypedParamsGetString(params, n, VIR_NODE_SEV_PDH, &pdh) == 1);
	REQUIRE(virTypedParamsGetString(params, n, VIR_NODE_SEV_CERT_CHAIN, &chain) == 1);
	REQUIRE(virTypedParamsGetUInt(params, n, VIR_NODE_SEV_CBITPOS, &cbitpos) == 1);
	std::string pdhS(pdh), chainS(chain);
	virTypedParamsFree(params, n);
	// The default shim's own platform, from its configuration (found as libvirtd's exec finds it).
	auto config = run({ def, "--cvm-sev-shim-config" });
	INFO(config.err);
	REQUIRE(config.exitStatus == 0);
	size_t at = config.out.find("state-dir=");
	REQUIRE(at != std::string::npos);
	std::string dir = config.out.substr(at + 10, config.out.find('\n', at) - at - 10);
	auto platform = sim::Platform::load(dir);
	REQUIRE(platform.ok());
	CHECK(cbitpos == (*platform)->identity().cbitpos);
	checkChain(pdhS, chainS, **platform);
}
