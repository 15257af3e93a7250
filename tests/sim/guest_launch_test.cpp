// SPDX-License-Identifier: Apache-2.0
//
// The simulated firmware against sev/'s guest-owner side: sessions made for
// the platform's PDH open, the measurement is the one the owner expects for
// the same firmware (kernel hashes, SEV-ES VMSAs), secrets sealed by the
// owner arrive in guest memory; tampering of every kind is refused with the
// firmware status QEMU would report.
#include <catch2/catch.hpp>

#include "cvm/sev/kdf.h"
#include "cvm/sev/launch_digest.h"
#include "cvm/sev/ovmf.h"
#include "cvm/sev/secret.h"
#include "cvm/sev/session.h"
#include "cvm/sim/firmware_status.h"
#include "cvm/sim/guest_boot.h"
#include "cvm/sim/guest_launch.h"
#include "sev_test_support.h"
#include "sim_test_support.h"

using namespace cvm;
using namespace cvm::sim;
namespace st = cvm::sev::test;

namespace {

sev::OwnerSession ownerSession(uint32_t policy)
{
	auto s = sev::startSessionWithPdhCert(test::sharedPlatform().pdhCert(), policy);
	REQUIRE(s.ok());
	return std::move(s).value();
}

LaunchStartParams params(const sev::OwnerSession &s, uint32_t policy)
{
	LaunchStartParams p;
	p.policy = policy;
	p.godhCert = s.godhCert;
	p.session = s.session.serialize();
	return p;
}

int statusOf(const Error &e)
{
	return firmwareStatus(e).value_or(-1);
}

// The owner verifies the measurement, seals `table` and the firmware opens it.
void ownerCompletesLaunch(GuestLaunch &launch, const sev::OwnerSession &owner, const sev::LaunchDigestInputs &in,
			  uint64_t gpa)
{
	REQUIRE(launch.state() == SevState::LaunchSecret);
	auto expected = sev::computeLaunchDigest(in);
	REQUIRE(expected.ok());
	CHECK(*launch.launchDigest() == expected->launchDigest);
	auto ok = sev::verifyMeasurement(owner.keys.tik, launch.version(), owner.policy, expected->launchDigest,
					 *launch.measurement());
	REQUIRE(ok.ok());
	CHECK(*ok);
	SecureBuffer table = test::sampleSecretTable();
	auto packet = sev::sealSecret(owner.keys.tek, owner.keys.tik, launch.measurement()->measure, table);
	REQUIRE(packet.ok());
	REQUIRE(launch.injectSecret(packet->header, packet->payload, gpa).ok());
	const SecureBuffer *mem = launch.guestMemory(gpa);
	REQUIRE(mem != nullptr);
	CHECK(Bytes(mem->view().begin(), mem->view().end()) == Bytes(table.view().begin(), table.view().end()));
	REQUIRE(launch.finish().ok());
	CHECK(launch.state() == SevState::Running);
}

GuestBootConfig bootConfig(const test::SessionFiles &f, uint32_t policy, const std::string &firmware)
{
	GuestBootConfig c;
	c.sev.id = "sev0";
	c.sev.policy = policy;
	c.sev.cbitpos = 51;
	c.sev.reducedPhysBits = 1;
	c.sev.dhCertFile = f.godh;
	c.sev.sessionFile = f.session;
	c.firmware = firmware;
	return c;
}

} // namespace

TEST_CASE("SEV: LAUNCH_START with the owner's session, measurement verified, secret received")
{
	st::requireFile(st::kDebianOvmf);
	sev::OwnerSession owner = ownerSession(0x1);
	auto launch = GuestLaunch::start(test::sharedPlatform(), params(owner, 0x1));
	REQUIRE(launch.ok());
	CHECK((*launch)->state() == SevState::LaunchUpdate);
	Bytes fw = readFile(st::kDebianOvmf).value();
	REQUIRE((*launch)->updateData(fw).ok());
	auto m = (*launch)->measure();
	REQUIRE(m.ok());
	// A fresh mnonce each launch: the same owner session, firmware and
	// platform measured twice give the same digest but never the same blob.
	auto again = GuestLaunch::start(test::sharedPlatform(), params(owner, 0x1));
	REQUIRE(again.ok());
	REQUIRE((*again)->updateData(fw).ok());
	auto m2 = (*again)->measure();
	REQUIRE(m2.ok());
	CHECK(*(*again)->launchDigest() == *(*launch)->launchDigest());
	CHECK(m2->mnonce != m->mnonce);
	CHECK(m2->measure != m->measure);
	CHECK(m2->toBase64() != m->toBase64());
	sev::LaunchDigestInputs in;
	in.firmware = st::kDebianOvmf;
	ownerCompletesLaunch(**launch, owner, in, 0x810000);
}

TEST_CASE("SEV with kernel hashes: the firmware measures the hashes table the owner expects")
{
	auto dir = TempDir::create("cvm-sim-kh-").value();
	std::string fw = st::writeKernelHashesFirmware(dir);
	std::string kernel = dir.file("vmlinuz"), initrd = dir.file("initrd");
	REQUIRE(writeFileAtomic(kernel, st::randomBytes(100000)).ok());
	REQUIRE(writeFileAtomic(initrd, st::randomBytes(5000)).ok());
	sev::OwnerSession owner = ownerSession(0x1);
	GuestBootConfig c = bootConfig(test::writeSessionFiles(dir, owner), 0x1, fw);
	c.sev.kernelHashes = true;
	c.kernel = kernel;
	c.initrd = initrd;
	c.append = " console=ttyS0 ";
	auto guest = bootSevGuest(test::sharedPlatform(), c);
	REQUIRE(guest.ok());
	sev::LaunchDigestInputs in;
	in.firmware = fw;
	in.kernel = kernel;
	in.initrd = initrd;
	in.cmdline = " console=ttyS0 ";
	// Debian's OvmfX64 has no secret-area entry: the gpa is given explicitly.
	CHECK_FALSE(guest->secretAreaBase.has_value());
	ownerCompletesLaunch(*guest->launch, owner, in, 0x810000);

	SECTION("without kernel-hashes the table is not measured")
	{
		GuestBootConfig off = c;
		off.sev.kernelHashes = false;
		sev::OwnerSession o2 = ownerSession(0x1);
		off.sev.dhCertFile = test::writeSessionFiles(dir, o2, "b-").godh;
		off.sev.sessionFile = dir.file("b-session.b64");
		auto g2 = bootSevGuest(test::sharedPlatform(), off);
		REQUIRE(g2.ok());
		sev::LaunchDigestInputs plain;
		plain.firmware = fw;
		CHECK(*g2->launch->launchDigest() == sev::computeLaunchDigest(plain)->launchDigest);
	}
}

TEST_CASE("kernel hashes with a firmware that has no hashes area: QEMU's error")
{
	st::requireFile(st::kDebianOvmf);
	auto dir = TempDir::create("cvm-sim-kh-").value();
	std::string kernel = dir.file("vmlinuz");
	REQUIRE(writeFileAtomic(kernel, st::randomBytes(4096)).ok());
	GuestBootConfig c = bootConfig(test::writeSessionFiles(dir, ownerSession(0x1)), 0x1, st::kDebianOvmf);
	c.sev.kernelHashes = true;
	c.kernel = kernel;
	auto guest = bootSevGuest(test::sharedPlatform(), c);
	REQUIRE_FALSE(guest.ok());
	CHECK(guest.error().message() == "SEV: kernel specified but guest firmware has no hashes table GUID");
}

TEST_CASE("SEV-ES: one VMSA per vCPU, measured after the firmware")
{
	st::requireFile(st::kDebianOvmf);
	auto dir = TempDir::create("cvm-sim-es-").value();
	uint32_t policy = 0x5;
	sev::OwnerSession owner = ownerSession(policy);
	GuestBootConfig c = bootConfig(test::writeSessionFiles(dir, owner), policy, st::kDebianOvmf);
	c.vcpus = 3;
	c.cpuSignature = sev::cpuSignature(23, 49, 0); // EPYC-Rome
	auto guest = bootSevGuest(test::sharedPlatform(), c);
	REQUIRE(guest.ok());
	CHECK(guest->launch->vmsaCount() == 3);
	sev::LaunchDigestInputs in;
	in.firmware = st::kDebianOvmf;
	in.sevEs = true;
	in.numCpus = 3;
	in.cpuSku = sev::CpuSku{ 23, 49, 0 };
	ownerCompletesLaunch(*guest->launch, owner, in, 0x810000);

	SECTION("another vCPU count does not match")
	{
		sev::LaunchDigestInputs two = in;
		two.numCpus = 2;
		CHECK(sev::computeLaunchDigest(two)->launchDigest != *guest->launch->launchDigest());
	}
}

TEST_CASE("LAUNCH_START refusals carry the firmware's status")
{
	sev::OwnerSession owner = ownerSession(0x1);
	const Platform &platform = test::sharedPlatform();

	SECTION("tampered session: WRAP_MAC -> Bad measurement")
	{
		LaunchStartParams p = params(owner, 0x1);
		p.session[0x10] ^= 0x01;
		auto r = GuestLaunch::start(platform, p);
		REQUIRE_FALSE(r.ok());
		CHECK(statusOf(r.error()) == 11);
		CHECK(std::string(fwStatusText(11)) == "Bad measurement");
	}
	SECTION("a policy other than the one the session was made for: POLICY_MAC")
	{
		auto r = GuestLaunch::start(platform, params(owner, 0x3));
		REQUIRE_FALSE(r.ok());
		CHECK(statusOf(r.error()) == 11);
		CHECK(r.error().message().find("POLICY_MAC") != std::string::npos);
	}
	SECTION("a session made for another platform's PDH")
	{
		auto other = sev::generateP384Key().value();
		auto s = sev::startSession(other.get(), 0x1).value();
		auto r = GuestLaunch::start(platform, params(s, 0x1));
		REQUIRE_FALSE(r.ok());
		CHECK(statusOf(r.error()) == 11);
	}
	SECTION("GODH with the wrong usage / algorithm / point / size")
	{
		struct Case {
			size_t offset;
			uint8_t value;
		} cases[] = { { 0x008, 0x02 }, { 0x00c, 0x02 }, { 0x014, 0x5a }, { 0x000, 0x02 } };
		for (const auto &k : cases) {
			LaunchStartParams p = params(owner, 0x1);
			p.godhCert[k.offset] = k.value;
			auto r = GuestLaunch::start(platform, p);
			REQUIRE_FALSE(r.ok());
			CHECK(statusOf(r.error()) == 6);
		}
		LaunchStartParams shortCert = params(owner, 0x1);
		shortCert.godhCert.resize(2000);
		CHECK(statusOf(GuestLaunch::start(platform, shortCert).error()) == 4);
		LaunchStartParams shortSession = params(owner, 0x1);
		shortSession.session.resize(127);
		CHECK(statusOf(GuestLaunch::start(platform, shortSession).error()) == 4);
	}
	SECTION("policies the firmware refuses")
	{
		// Reserved bits, and a minimum API version above the platform's (1.52).
		for (uint32_t bad : { 0x41u, 0x00350001u, 0x02000001u | (1u << 16) * 2 }) {
			auto s = ownerSession(bad);
			auto r = GuestLaunch::start(platform, params(s, bad));
			REQUIRE_FALSE(r.ok());
			CHECK(statusOf(r.error()) == 7);
		}
	}
}

TEST_CASE("LAUNCH_SECRET: state, lengths, MAC, flags, replays from another launch")
{
	st::requireFile(st::kDebianOvmf);
	Bytes fw = readFile(st::kDebianOvmf).value();
	sev::OwnerSession owner = ownerSession(0x1);
	auto launch = GuestLaunch::start(test::sharedPlatform(), params(owner, 0x1)).value();
	SecureBuffer table = test::sampleSecretTable();
	auto early = sev::sealSecret(owner.keys.tek, owner.keys.tik, Bytes(32, 0), table).value();
	CHECK(statusOf(launch->injectSecret(early.header, early.payload, 0x810000).error()) == 2);
	REQUIRE(launch->updateData(fw).ok());
	CHECK(statusOf(launch->updateData(ByteView(fw.data(), 15)).error()) == 4);
	CHECK(statusOf(launch->updateVmsa(Bytes(4096, 0)).error()) == 7); // not SEV-ES
	auto m = launch->measure().value();
	CHECK(statusOf(launch->updateData(fw).error()) == 2);
	auto packet = sev::sealSecret(owner.keys.tek, owner.keys.tik, m.measure, table).value();

	Bytes badMac = packet.header;
	badMac[20] ^= 1;
	CHECK(statusOf(launch->injectSecret(badMac, packet.payload, 0x810000).error()) == 11);
	Bytes badPayload = packet.payload;
	badPayload[0] ^= 1;
	CHECK(statusOf(launch->injectSecret(packet.header, badPayload, 0x810000).error()) == 11);
	CHECK(statusOf(launch->injectSecret(packet.header, ByteView(packet.payload.data(), 15), 0x810000).error()) ==
	      4);
	CHECK(statusOf(launch->injectSecret(packet.header, Bytes(0x5010, 0), 0x810000).error()) == 4);
	CHECK(statusOf(launch->injectSecret(ByteView(packet.header.data(), 51), packet.payload, 0x810000).error()) ==
	      4);
	CHECK(statusOf(launch->injectSecret(packet.header, packet.payload, 0x810008).error()) == 9);
	Bytes flags = packet.header;
	flags[0] = 1;
	CHECK(statusOf(launch->injectSecret(flags, packet.payload, 0x810000).error()) == 21);
	CHECK(launch->secretsInjected() == 0);
	CHECK(launch->guestMemory(0x810000) == nullptr);

	// A packet sealed for another launch (other TIK, other MEASURE) is refused.
	sev::OwnerSession other = ownerSession(0x1);
	auto launch2 = GuestLaunch::start(test::sharedPlatform(), params(other, 0x1)).value();
	REQUIRE(launch2->updateData(fw).ok());
	REQUIRE(launch2->measure().ok());
	CHECK(statusOf(launch2->injectSecret(packet.header, packet.payload, 0x810000).error()) == 11);

	// Like the firmware's LSECRET state, several LAUNCH_SECRETs are accepted.
	REQUIRE(launch->injectSecret(packet.header, packet.payload, 0x810000).ok());
	REQUIRE(launch->injectSecret(packet.header, packet.payload, 0x820000).ok());
	CHECK(launch->secretsInjected() == 2);
	REQUIRE(launch->finish().ok());
	CHECK(statusOf(launch->injectSecret(packet.header, packet.payload, 0x810000).error()) == 2);
	CHECK(statusOf(launch->finish().error()) == 2);
}

TEST_CASE("the wrong-measurement knob: a consistent launch the owner refuses")
{
	st::requireFile(st::kDebianOvmf);
	sev::OwnerSession owner = ownerSession(0x1);
	auto launch = GuestLaunch::start(test::sharedPlatform(), params(owner, 0x1)).value();
	launch->setCorruptMeasurement(true);
	REQUIRE(launch->updateData(readFile(st::kDebianOvmf).value()).ok());
	auto m = launch->measure().value();
	sev::LaunchDigestInputs in;
	in.firmware = st::kDebianOvmf;
	auto expected = sev::computeLaunchDigest(in).value();
	CHECK_FALSE(*sev::verifyMeasurement(owner.keys.tik, launch->version(), 0x1, expected.launchDigest, m));
	CHECK(*sev::verifyMeasurement(owner.keys.tik, launch->version(), 0x1, *launch->launchDigest(), m));
}
