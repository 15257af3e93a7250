// SPDX-License-Identifier: Apache-2.0
//
// The hashes table, VMSA pages and the launch digest. VMSA vectors: SHA-256
// of sevctl's tests/data/vmsa0.bin and vmsa1.bin (virtee/sevctl @ 8b47f3a6,
// built by `sevctl vmsa build --family 25 --model 1 --stepping 1` for its
// trimmed OVMF whose SEV-ES reset block is 0x80b004); virt-qemu-sev-validate
// generates the same two pages.
#include <catch2/catch.hpp>

#include "cvm/common/digest.h"
#include "cvm/sev/launch_digest.h"
#include "sev_test_support.h"

using namespace cvm;
using namespace cvm::sev;

namespace {

Digest256 d256(const Bytes &b)
{
	Digest256 d;
	std::copy(b.begin(), b.end(), d.begin());
	return d;
}

std::string write(const TempDir &dir, const char *name, ByteView data)
{
	std::string p = dir.file(name);
	REQUIRE(writeFileAtomic(p, data).ok());
	return p;
}

} // namespace

TEST_CASE("the hashes table has QEMU's layout")
{
	KernelHashes h;
	h.cmdline = d256(test::randomBytes(32));
	h.initrd = d256(test::randomBytes(32));
	h.kernel = d256(test::randomBytes(32));
	Bytes t = buildSevHashTable(h);
	REQUIRE(t.size() == 176);
	CHECK(toHex(ByteView(t).first(16)) == "06d63894224fc94cb479a793d411fd21");
	CHECK(loadLe16(t, 0x10) == 168);
	CHECK(toHex(ByteView(t).subspan(0x12, 16)) == "d82dd09720bd944caa78e7714d36ab2a");
	CHECK(loadLe16(t, 0x22) == 50);
	CHECK(Bytes(t.begin() + 0x24, t.begin() + 0x44) == Bytes(h.cmdline.begin(), h.cmdline.end()));
	CHECK(toHex(ByteView(t).subspan(0x44, 16)) == "31f7ba442f3ad74b9af141e29169781d");
	CHECK(Bytes(t.begin() + 0x56, t.begin() + 0x76) == Bytes(h.initrd.begin(), h.initrd.end()));
	CHECK(toHex(ByteView(t).subspan(0x76, 16)) == "3794e74dd2ab7f42b835d5b172d2045b");
	CHECK(Bytes(t.begin() + 0x88, t.begin() + 0xa8) == Bytes(h.kernel.begin(), h.kernel.end()));
	CHECK(Bytes(t.begin() + 0xa8, t.end()) == Bytes(8, 0));

	auto back = parseSevHashTable(t);
	REQUIRE(back.ok());
	CHECK(back->kernel == h.kernel);
	CHECK(parseSevHashTable(ByteView(t).first(168)).ok());
	Bytes pad = t;
	pad[0xaf] = 1;
	CHECK_FALSE(parseSevHashTable(pad).ok());
	Bytes swapped = t;
	std::swap_ranges(swapped.begin() + 0x12, swapped.begin() + 0x22, swapped.begin() + 0x44);
	CHECK_FALSE(parseSevHashTable(swapped).ok());
	CHECK_FALSE(parseSevHashTable(Bytes(175)).ok());
}

TEST_CASE("the command line is hashed with its NUL and never trimmed")
{
	CHECK(hashCmdline("").value() == d256(sha256(Bytes{ 0 }).value()));
	CHECK(hashCmdline("console=ttyS0").value() == d256(sha256(asBytes(std::string("console=ttyS0\0", 14))).value()));
	CHECK_FALSE(hashCmdline(" a ").value() == hashCmdline("a").value());

	auto dir = TempDir::create("cvm-sev-ld-").value();
	// sevctl's fake kernel and initrd (tests/data/measurement/*-fake).
	std::string k = write(dir, "vmlinuz", asBytes("fake vmlinuz\n"));
	std::string i = write(dir, "initrd", asBytes("fake initrd\n"));
	auto h = hashKernelFiles(k, i, std::string("foo bar baz fake kernel=cmdline"));
	REQUIRE(h.ok());
	CHECK(h->kernel == d256(sha256(asBytes("fake vmlinuz\n")).value()));
	// The table sevctl measures for its kernel vector.
	CHECK(toHex(sha256(buildSevHashTable(*h)).value()) ==
	      "bd485904c57ecbfa615c56afd8d0aa864121fbb987a78492cc4a417b108991fc");
	auto noInitrd = hashKernelFiles(k, std::nullopt, std::nullopt);
	REQUIRE(noInitrd.ok());
	CHECK(noInitrd->initrd == d256(sha256(ByteView()).value()));
	CHECK(noInitrd->cmdline == hashCmdline("").value());
	CHECK_FALSE(hashKernelFiles(dir.file("absent"), std::nullopt, std::nullopt).ok());
}

TEST_CASE("CPU signatures are encoded as CPUID(1).EAX")
{
	CHECK(cpuSignature(25, 1, 1) == 0xa00f11);  // EPYC-Milan
	CHECK(cpuSignature(23, 49, 0) == 0x830f10); // EPYC-Rome
	CHECK(cpuSignature(23, 1, 2) == 0x800f12);  // EPYC-v4
	CHECK(cpuSignature(25, 17, 0) == 0xa10f10); // Genoa
	CHECK(cpuSignature(6, 85, 4) == 0x50654);   // family <= 0xf: no extended family
}

TEST_CASE("generated VMSAs equal sevctl's captured pages")
{
	VmsaOptions o;
	o.cpuSignature = cpuSignature(25, 1, 1);
	Bytes bsp = buildVmsa(kBspResetAddress, o);
	Bytes ap = buildVmsa(0x80b004, o);
	REQUIRE(bsp.size() == 4096);
	CHECK(toHex(sha256(bsp).value()) == "f8b52f775502472e5797d2674d9de21f6abc05dc05e9bc49cbb7b6a13688d5e7");
	CHECK(toHex(sha256(ap).value()) == "bcee5cb289f72882da17abd8dca5e8a7e9f8e2033e7ad96b4db0ab1a383a6487");
	CHECK(loadLe64(bsp, 0x178) == 0xfff0);     // RIP
	CHECK(loadLe64(bsp, 0x18) == 0xffff0000);  // CS base
	CHECK(loadLe64(ap, 0x178) == 0xb004);
	CHECK(loadLe64(ap, 0x18) == 0x800000);
	CHECK(loadLe64(bsp, 0x310) == 0xa00f11);   // RDX

	VmsaOptions newer = o;
	newer.mxcsr = 0x1f80;
	newer.x87Fcw = 0x37f;
	newer.sevFeatures = 0x20;
	Bytes nb = buildVmsa(kBspResetAddress, newer);
	CHECK(loadLe32(nb, 0x408) == 0x1f80);
	CHECK(loadLe16(nb, 0x410) == 0x37f);
	CHECK(loadLe64(nb, 0x3b0) == 0x20);
	size_t diff = 0;
	for (size_t i = 0; i < 4096; ++i)
		diff += nb[i] != bsp[i];
	CHECK(diff == 5);
}

TEST_CASE("SEV launch digest of Debian's OVMF is the SHA-256 of the file")
{
	test::requireFile(test::kDebianOvmf);
	LaunchDigestInputs in;
	in.firmware = test::kDebianOvmf;
	auto r = computeLaunchDigest(in);
	REQUIRE(r.ok());
	CHECK(Bytes(r->launchDigest.begin(), r->launchDigest.end()) == digestFile(DigestAlgorithm::Sha256, in.firmware).value());
	CHECK(r->firmwareSize == 2097152);
	CHECK_FALSE(r->kernelHashes.has_value());
}

TEST_CASE("kernel hashes: refused on Debian's OVMF, measured on a firmware with a hash-table area")
{
	auto dir = TempDir::create("cvm-sev-ld-").value();
	std::string kernel = write(dir, "kernel", test::randomBytes(100000));
	std::string initrd = write(dir, "initrd", test::randomBytes(3000000));
	LaunchDigestInputs in;
	in.firmware = test::kDebianOvmf;
	in.kernel = kernel;
	in.initrd = initrd;
	in.cmdline = "console=ttyS0 root=/dev/vda ";
	auto refused = computeLaunchDigest(in);
	REQUIRE_FALSE(refused.ok());
	CHECK(refused.error().code() == ErrorCode::Unsupported);
	CHECK(refused.error().tag() == kTagKernelHashesUnsupported);

	// An area too small for the table is refused too.
	in.firmware = test::writeKernelHashesFirmware(dir, "small.fd", 0x810c00, 0xa0);
	CHECK(computeLaunchDigest(in).error().tag() == kTagKernelHashesUnsupported);
	// And a firmware without any footer table.
	in.firmware = write(dir, "plain.fd", test::randomBytes(65536));
	CHECK(computeLaunchDigest(in).error().tag() == kTagKernelHashesUnsupported);

	in.firmware = test::writeKernelHashesFirmware(dir);
	auto r = computeLaunchDigest(in);
	REQUIRE(r.ok());
	REQUIRE(r->kernelHashes.has_value());
	Bytes table = buildSevHashTable(*r->kernelHashes);
	Bytes expect = digest(DigestAlgorithm::Sha256, { readFile(in.firmware).value(), table }).value();
	CHECK(Bytes(r->launchDigest.begin(), r->launchDigest.end()) == expect);
	CHECK(r->kernelHashes->initrd == d256(digestFile(DigestAlgorithm::Sha256, initrd).value()));
}

TEST_CASE("SEV-ES: VMSAs from files or generated, in vCPU order")
{
	test::requireFile(test::kDebianOvmf);
	auto dir = TempDir::create("cvm-sev-ld-").value();
	Bytes fw = readFile(test::kDebianOvmf).value();
	VmsaOptions o;
	o.cpuSignature = cpuSignature(23, 49, 0);
	Bytes bsp = buildVmsa(kBspResetAddress, o), ap = buildVmsa(0x80b004, o);

	LaunchDigestInputs gen;
	gen.firmware = test::kDebianOvmf;
	gen.sevEs = true;
	gen.numCpus = 3;
	gen.cpuSku = CpuSku{ 23, 49, 0 };
	auto r = computeLaunchDigest(gen);
	REQUIRE(r.ok());
	CHECK(r->vmsaCount == 3);
	Bytes expect = digest(DigestAlgorithm::Sha256, { fw, bsp, ap, ap }).value();
	CHECK(Bytes(r->launchDigest.begin(), r->launchDigest.end()) == expect);

	LaunchDigestInputs files = gen;
	files.cpuSku.reset();
	files.vmsaCpu0 = write(dir, "v0", bsp);
	files.vmsaCpu1 = write(dir, "v1", ap);
	auto rf = computeLaunchDigest(files);
	REQUIRE(rf.ok());
	CHECK(rf->launchDigest == r->launchDigest);

	// The incremental form, as the simulator feeds it.
	auto ld = LaunchDigest::create().value();
	REQUIRE(ld.addData(ByteView(fw).first(1 << 20)).ok());
	REQUIRE(ld.addData(ByteView(fw).subspan(1 << 20)).ok());
	REQUIRE(ld.addVmsa(bsp).ok());
	REQUIRE(ld.addVmsa(ap).ok());
	REQUIRE(ld.addVmsa(ap).ok());
	CHECK_FALSE(ld.addVmsa(Bytes(4095)).ok());
	CHECK(ld.finish().value() == r->launchDigest);

	LaunchDigestInputs one = files;
	one.numCpus = 1;
	one.vmsaCpu1.reset();
	auto r1 = computeLaunchDigest(one);
	REQUIRE(r1.ok());
	CHECK(Bytes(r1->launchDigest.begin(), r1->launchDigest.end()) ==
	      digest(DigestAlgorithm::Sha256, { fw, bsp }).value());

	files.vmsaCpu1 = write(dir, "short", Bytes(4000));
	CHECK(computeLaunchDigest(files).error().code() == ErrorCode::InvalidData);
}

TEST_CASE("contradictory inputs are refused")
{
	auto bad = [](LaunchDigestInputs in, const char *what) {
		INFO(what);
		auto r = computeLaunchDigest(in);
		REQUIRE_FALSE(r.ok());
		CHECK(r.error().code() == ErrorCode::InvalidArgument);
	};
	LaunchDigestInputs base;
	base.firmware = test::kDebianOvmf;
	bad(LaunchDigestInputs{}, "no firmware");
	LaunchDigestInputs a = base;
	a.initrd = "x";
	bad(a, "initrd without kernel");
	LaunchDigestInputs b = base;
	b.cpuSku = CpuSku{ 25, 1, 1 };
	bad(b, "VMSA inputs without SEV-ES");
	LaunchDigestInputs c = base;
	c.sevEs = true;
	c.cpuSku = CpuSku{ 25, 1, 1 };
	bad(c, "SEV-ES without a vCPU count");
	c.numCpus = 2;
	c.vmsaCpu0 = "x";
	bad(c, "files and SKU together");
	LaunchDigestInputs d = base;
	d.sevEs = true;
	d.numCpus = 2;
	bad(d, "SEV-ES without VMSAs");
	d.vmsaCpu0 = "x";
	bad(d, "two vCPUs, one VMSA file");
	d.vmsaCpu0.reset();
	d.vmsaCpu1 = "x";
	bad(d, "AP VMSA without BSP VMSA");
}
