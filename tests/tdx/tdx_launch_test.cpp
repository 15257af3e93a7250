// SPDX-License-Identifier: Apache-2.0
//
// The TD launch (plugin/tdx_launch.h) against fakes that record every call:
// step order, what the AS's launch configuration becomes, the hand-over, the
// rollback after a failure at each step; and the libvirt side as pure XML:
// the started definition, the hook's token and its verdict for a TD.
#include <catch2/catch.hpp>

#include <algorithm>

#include "cvm/common/json.h"
#include "cvm/plugin/domain_xml.h"
#include "cvm/plugin/hook_decision.h"
#include "cvm/plugin/libvirt_tdx_backend.h"
#include "cvm/plugin/tdx_launch.h"

using namespace cvm;
using namespace cvm::plugin;

namespace {

tdx::Sha384Digest filled(uint8_t v)
{
	tdx::Sha384Digest d{};
	d.fill(v);
	return d;
}

struct Calls {
	std::vector<std::string> log;
	std::string failAt;
	bool fails(const std::string &name)
	{
		log.push_back(name);
		return name == failAt;
	}
};

class FakeTdBackend : public TdxLaunchBackend
{
public:
	explicit FakeTdBackend(Calls &c) : c_(c) {}
	Status checkTdxPlatform() override
	{
		if (c_.fails("platform"))
			return Error(ErrorCode::Unsupported, "no tdx-guest here", "tdx-unsupported");
		return {};
	}
	Status startTd(const TdxStartParameters &p) override
	{
		started = p;
		if (c_.fails("start"))
			return Error(ErrorCode::Disconnected, "the emulator exited");
		return {};
	}
	Status resume() override
	{
		if (c_.fails("resume"))
			return Error(ErrorCode::Protocol, "cont failed");
		return {};
	}
	Status destroy() override
	{
		c_.log.push_back("destroy");
		return {};
	}
	std::optional<TdxStartParameters> started;

private:
	Calls &c_;
};

class FakeTdxAs : public TdxAttestationService
{
public:
	explicit FakeTdxAs(Calls &c) : c_(c)
	{
		response.launchId = "L-7";
		response.nonce = Bytes(32, 0x6e);
		response.expiresAt = 1700000600;
		response.launchConfig.tdAttributes = tdx::tdattr::kSeptVeDisable;
		response.launchConfig.mrConfigId = filled(0xc1);
		response.launchConfig.mrOwner = filled(0x0a);
	}
	Result<attest::TdxLaunchResponse> tdxLaunch() override
	{
		if (c_.fails("as-launch"))
			return Error(ErrorCode::Conflict, "too many launches", "launch-limit-reached");
		return response;
	}
	Status end(std::string_view id, std::string_view reason) override
	{
		c_.log.push_back("as-end");
		endId = std::string(id);
		endReason = std::string(reason);
		return {};
	}
	attest::TdxLaunchResponse response;
	std::string endId, endReason;

private:
	Calls &c_;
};

class FakeJournal : public LaunchJournal
{
public:
	explicit FakeJournal(Calls &c) : c_(c) {}
	Status recordPending(std::string_view id, ByteView token) override
	{
		c_.log.push_back("pending");
		pendingId = std::string(id);
		pendingToken = std::string(asString(token));
		return {};
	}
	Status recordRunning(std::string_view) override
	{
		c_.log.push_back("running");
		return {};
	}
	void clear() override { c_.log.push_back("clear"); }
	std::string pendingId, pendingToken;

private:
	Calls &c_;
};

struct Rig {
	Calls calls;
	FakeTdBackend backend{ calls };
	FakeTdxAs as{ calls };
	FakeJournal journal{ calls };
	TdxLaunchOptions options;
	Rig()
	{
		options.server = "https://as.example:8443";
		options.vmId = "td-1";
		options.qgs = tdx::SocketAddress::unixSocket("/var/run/tdx-qgs/qgs.socket");
	}
	LaunchOutcome run()
	{
		TdxLaunchStateMachine m(backend, as, journal, options);
		return m.run();
	}
};

std::vector<std::string> stepNames(const LaunchOutcome &o)
{
	std::vector<std::string> names;
	for (const auto &s : o.steps)
		names.emplace_back(launchStepName(s.step));
	return names;
}

const char *kDomain = R"(<domain type='kvm'>
  <name>td1</name>
  <uuid>6f1c0b0e-3b1a-4f63-9a51-6f0f9f2d1c01</uuid>
  <metadata>
    <cvm:launch xmlns:cvm="https://cvm-launch.org/xmlns/1" scheme="intel-tdx" vm="td-1"/>
  </metadata>
  <os><type arch='x86_64' machine='q35'>hvm</type><loader type='rom'>/usr/share/ovmf/OVMF.fd</loader></os>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices>
</domain>)";

} // namespace

TEST_CASE("a TD launch: platform, AS launch, start with the AS's configuration, resume")
{
	Rig r;
	LaunchOutcome out = r.run();
	INFO(out.describe());
	REQUIRE(out.ok);
	CHECK(out.launchId == "L-7");
	CHECK(stepNames(out) == std::vector<std::string>{ "platform", "as-launch", "start", "resume" });
	CHECK(r.calls.log ==
	      std::vector<std::string>{ "platform", "as-launch", "pending", "start", "resume", "running" });

	REQUIRE(r.backend.started);
	const tdx::TdxGuestConfig &c = r.backend.started->config;
	CHECK(c.id == "tdx0");
	CHECK(c.attributes == tdx::tdattr::kSeptVeDisable);
	CHECK(c.mrConfigId == filled(0xc1));
	CHECK(c.mrOwner == filled(0x0a));
	CHECK_FALSE(c.mrOwnerConfig);
	REQUIRE(c.quoteGenerationSocket);
	CHECK(c.quoteGenerationSocket->path == "/var/run/tdx-qgs/qgs.socket");

	// The hand-over tells the TD its launch; the pending record holds it.
	const std::string &h = r.backend.started->handover;
	CHECK(r.journal.pendingId == "L-7");
	CHECK(r.journal.pendingToken == h);
	auto doc = json::parseObject(h);
	REQUIRE(doc.ok());
	JsonObject *o = json_node_get_object(doc->get());
	CHECK(*json::getString(o, "format") == "cvm-launch/tdx-launch/1");
	CHECK(*json::getString(o, "server") == "https://as.example:8443");
	CHECK(*json::getString(o, "vm") == "td-1");
	CHECK(*json::getString(o, "launch-id") == "L-7");
	CHECK(*json::getBase64(o, "nonce") == Bytes(32, 0x6e));
	CHECK(*json::getString(o, "report-data") == "sha512(nonce || tee-public-key)");
	CHECK(*json::getString(o, "expires") == attest::formatTime(1700000600));
}

TEST_CASE("an unfit platform stops the launch before the AS issues one")
{
	Rig r;
	r.calls.failAt = "platform";
	LaunchOutcome out = r.run();
	CHECK_FALSE(out.ok);
	CHECK(out.failedStep == LaunchStep::Platform);
	CHECK(out.launchId.empty());
	CHECK(r.calls.log == std::vector<std::string>{ "platform", "clear" });
	CHECK_FALSE(out.destroyed);
	CHECK_FALSE(out.voided);
	CHECK_THAT(out.describe(), Catch::StartsWith("platform: tdx-unsupported: no tdx-guest here"));
}

TEST_CASE("a launch configuration QEMU would refuse is refused at as-launch and voided")
{
	Rig r;
	r.as.response.launchConfig.tdAttributes = tdx::tdattr::kDebug;
	LaunchOutcome out = r.run();
	CHECK_FALSE(out.ok);
	CHECK(out.failedStep == LaunchStep::AsLaunch);
	REQUIRE(out.error);
	CHECK(out.error->tag() == "config-unusable");
	CHECK_THAT(out.error->message(), Catch::Contains("DEBUG"));
	CHECK(r.calls.log == std::vector<std::string>{ "platform", "as-launch", "as-end", "clear" });
	CHECK(out.voided);
	CHECK_FALSE(r.backend.started);
	CHECK(r.as.endId == "L-7");
}

TEST_CASE("a refused AS launch leaves nothing to void")
{
	Rig r;
	r.calls.failAt = "as-launch";
	LaunchOutcome out = r.run();
	CHECK(out.failedStep == LaunchStep::AsLaunch);
	CHECK(r.calls.log == std::vector<std::string>{ "platform", "as-launch", "clear" });
	CHECK_FALSE(out.voided);
}

TEST_CASE("a failed start or resume destroys the TD, then voids the launch")
{
	for (const char *at : { "start", "resume" }) {
		Rig r;
		r.calls.failAt = at;
		LaunchOutcome out = r.run();
		INFO(at);
		CHECK_FALSE(out.ok);
		CHECK(launchStepName(*out.failedStep) == at);
		CHECK(out.destroyed);
		CHECK(out.voided);
		auto &log = r.calls.log;
		REQUIRE(log.size() >= 3);
		CHECK(std::vector<std::string>(log.end() - 3, log.end()) ==
		      std::vector<std::string>{ "destroy", "as-end", "clear" });
		CHECK(std::find(log.begin(), log.end(), "running") == log.end());
		CHECK_THAT(r.as.endReason, Catch::StartsWith(std::string(at) + ": "));
	}
}

TEST_CASE("the host's QGS is optional; a vsock one goes to QEMU as is")
{
	Rig r;
	r.options.qgs.reset();
	REQUIRE(r.run().ok);
	CHECK_FALSE(r.backend.started->config.quoteGenerationSocket);
	Rig v;
	v.options.qgs = tdx::SocketAddress::vsock(2, 4050);
	REQUIRE(v.run().ok);
	CHECK(v.backend.started->config.quoteGenerationSocket->type == tdx::SocketAddress::Type::Vsock);
}

TEST_CASE("libvirt: the started definition carries launchSecurity type='tdx' and the hand-over")
{
	auto xml = DomainXml::parse(kDomain);
	REQUIRE(xml.ok());
	CHECK_FALSE(xml->launchToken());
	TdxStartParameters p;
	p.config.attributes = tdx::tdattr::kSeptVeDisable;
	p.config.mrConfigId = filled(0xc1);
	p.config.quoteGenerationSocket = tdx::SocketAddress::unixSocket("/var/run/tdx-qgs/qgs.socket");
	p.handover = "{\"launch-id\":\"L-7\",\"nonce\":\"bm9uY2U=\"}";
	auto text = LibvirtTdxBackend::startXml(*xml, p);
	REQUIRE(text.ok());
	auto started = DomainXml::parse(*text);
	REQUIRE(started.ok());
	CHECK(started->name() == "td1");
	CHECK(started->metadata()->value().scheme == SevScheme::IntelTdx);
	CHECK_THAT(*text, Catch::Contains("<launchSecurity type=\"tdx\"><policy>0x10000000</policy><mrConfigId>" +
					  toBase64(filled(0xc1)) +
					  "</mrConfigId><quoteGenerationService path=\"/var/run/tdx-qgs/qgs.socket\"/>"
					  "</launchSecurity>"));
	CHECK_THAT(*text, Catch::Contains("<sysinfo type=\"fwcfg\"><entry name=\"opt/org.cvm-launch/tdx-launch\">"));
	CHECK_THAT(*text, Catch::Contains("<loader type=\"rom\">/usr/share/ovmf/OVMF.fd</loader>"));
	// The hook's token for this definition is the hand-over, as recorded.
	CHECK(started->launchToken() == toBase64(asBytes(p.handover)));
	// A vsock QGS has no libvirt form: refused before libvirt sees anything.
	p.config.quoteGenerationSocket = tdx::SocketAddress::vsock(2, 4050);
	CHECK_THAT(LibvirtTdxBackend::startXml(*xml, p).error().message(), Catch::Contains("only a UNIX socket"));
}

TEST_CASE("the hook lets exactly the prepared TD start through")
{
	auto xml = DomainXml::parse(kDomain);
	REQUIRE(xml.ok());
	TdxStartParameters p;
	p.handover = "{\"launch-id\":\"L-7\"}";
	auto started = DomainXml::parse(LibvirtTdxBackend::startXml(*xml, p).value()).value();

	LaunchRecord rec;
	rec.uuid = "6f1c0b0e-3b1a-4f63-9a51-6f0f9f2d1c01";
	rec.launchId = "L-7";
	rec.state = RecordState::Pending;
	rec.session = toBase64(asBytes(p.handover)); // what FileLaunchJournal::recordPending stores
	rec.expires = 2000;
	PrepareInput in;
	in.name = "td1";
	in.metadata = started.metadata();
	in.session = started.launchToken();
	in.record = std::optional<LaunchRecord>(rec);
	in.now = 1000;
	PrepareDecision ok = decidePrepare(in);
	CHECK(ok.allow);
	CHECK(ok.consumeRecord);

	// A plain start of the persistent definition (no hand-over) or another
	// launch's hand-over is refused.
	in.session = xml->launchToken();
	CHECK_FALSE(decidePrepare(in).allow);
	p.handover = "{\"launch-id\":\"L-8\"}";
	in.session = DomainXml::parse(LibvirtTdxBackend::startXml(*xml, p).value())->launchToken();
	PrepareDecision other = decidePrepare(in);
	CHECK_FALSE(other.allow);
	CHECK_THAT(other.message, Catch::Contains("cvm-launch start td1"));
}
