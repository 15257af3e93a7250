// SPDX-License-Identifier: Apache-2.0
//
// Interop with libvirt's virt-qemu-sev-validate (offline mode), run from one
// Python process by vqsv_driver.py, on >= 200 random cases: random TIK/TEK,
// policy, API version and build; Debian's OVMF images, and for kernel hashes
// a patched copy of Debian's OVMF.fd (sev_test_support.h) with random
// kernel/initrd/cmdline; SEV and SEV-ES with a random CPU SKU or random VMSA
// files and 1-8 vCPUs. For every case:
//  - our `sev measure` digest equals the one the tool computes;
//  - our measurement is accepted by the tool and by our `sev validate`, and a
//    one-bit change is rejected by both (exit 1);
//  - the tool's secret packet verifies and decrypts with our platform side;
//  - ours verifies and decrypts with an independent Python implementation;
// plus sessions from `sev session` unwrapped by the independent code.
// (Exit-code parity of the two validators: validate_parity_test.cpp.)
// Seed: CVM_INTEROP_SEED (printed on failure).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <map>
#include <random>

#include <openssl/pem.h>

#include "cvm/common/json.h"
#include "cvm/sev/kdf.h"
#include "cvm/sev/launch_digest.h"
#include "cvm/sev/secret.h"
#include "cvm/sev/session.h"
#include "interop_support.h"
#include "sev_test_support.h"

using namespace cvm;
using namespace cvm::sev;
namespace sevtest = cvm::sev::test;
using namespace cvm::sev::test;

namespace {

constexpr int kCases = 240;
constexpr int kSessions = 20;

struct Secret {
	std::string name; // alias or GUID text
	Guid guid;
	std::string path;
};

struct Case {
	std::string id;
	PlatformVersion version;
	uint32_t policy = 0;
	LaunchDigestInputs inputs;
	std::vector<std::string> keyArgs; // --tik/--tek or --tk
	Bytes tek, tik;
	LaunchMeasurement good, bad;
	std::vector<Secret> secrets;
	Digest256 ld{};
};

class Generator
{
public:
	Generator(const TempDir &dir, uint64_t seed) : dir_(dir), rng_(seed)
	{
		hashesFirmware_ = sevtest::writeKernelHashesFirmware(dir);
	}

	Case make(int n);

private:
	uint64_t pick(uint64_t lo, uint64_t hi) { return std::uniform_int_distribution<uint64_t>(lo, hi)(rng_); }
	Bytes bytes(size_t n)
	{
		Bytes b(n);
		for (auto &c : b)
			c = static_cast<uint8_t>(pick(0, 255));
		return b;
	}
	std::string file(const std::string &name, ByteView data)
	{
		std::string p = dir_.file(name);
		REQUIRE(writeFileAtomic(p, data).ok());
		return p;
	}
	std::string cmdline();
	void addSecrets(Case &c);

	const TempDir &dir_;
	std::mt19937_64 rng_;
	std::string hashesFirmware_;
};

std::string Generator::cmdline()
{
	static const std::vector<std::string> pieces = { "console=ttyS0", "root=/dev/vda1", " ", "quiet", "a=\"b c\"",
							 "init=/bin/sh", "\xc3\xbc", "x", "  ", "=" };
	std::string s;
	for (uint64_t i = pick(0, 6); i > 0; --i)
		s += pieces[pick(0, pieces.size() - 1)];
	return s;
}

void Generator::addSecrets(Case &c)
{
	for (uint64_t i = pick(1, 3); i > 0; --i) {
		Secret s;
		if (i == 1 && pick(0, 1)) {
			s.name = "luks-key";
		} else {
			Bytes g = bytes(16);
			g[7] = (g[7] & 0x0f) | 0x40; // a version-4 GUID, as uuid4() makes
			s.name = Guid::fromBytes(g).toString();
		}
		s.guid = secretGuid(s.name).value();
		bool dup = false;
		for (const auto &o : c.secrets)
			dup |= o.guid == s.guid;
		if (dup)
			continue;
		s.path = file(c.id + "-secret" + std::to_string(c.secrets.size()), bytes(pick(0, 300)));
		c.secrets.push_back(std::move(s));
	}
}

Case Generator::make(int n)
{
	Case c;
	c.id = "c" + std::to_string(n);
	bool es = pick(0, 1);
	bool kernel = pick(0, 9) < 4;
	c.policy = static_cast<uint32_t>(pick(0, UINT32_MAX));
	c.policy = es ? (c.policy | policy::kEncryptedState) : (c.policy & ~policy::kEncryptedState);
	c.version = { static_cast<uint8_t>(pick(0, 255)), static_cast<uint8_t>(pick(0, 255)),
		      static_cast<uint8_t>(pick(0, 255)) };
	c.tek = bytes(16);
	c.tik = bytes(16);
	if (pick(0, 3) == 0) {
		c.keyArgs = { "--tk", file(c.id + "-tk", concat({ c.tek, c.tik })) };
	} else {
		c.keyArgs = { "--tik", file(c.id + "-tik", c.tik), "--tek", file(c.id + "-tek", c.tek) };
	}

	LaunchDigestInputs &in = c.inputs;
	const char *firmwares[] = { sevtest::kDebianOvmf, sevtest::kDebianOvmfCode, sevtest::kDebianOvmfCode4M };
	in.firmware = kernel ? hashesFirmware_ : firmwares[pick(0, 2)];
	if (kernel) {
		in.kernel = file(c.id + "-kernel", bytes(pick(1, 200000)));
		if (pick(0, 1))
			in.initrd = file(c.id + "-initrd", bytes(pick(0, 1000000)));
		if (pick(0, 3))
			in.cmdline = cmdline();
	}
	if (es) {
		in.sevEs = true;
		in.numCpus = static_cast<unsigned>(pick(1, 8));
		if (pick(0, 1)) {
			in.cpuSku = CpuSku{ static_cast<uint32_t>(pick(0x10, 0x1a)), static_cast<uint32_t>(pick(0, 255)),
					    static_cast<uint32_t>(pick(0, 15)) };
		} else {
			// Always both files: with one vCPU and no --vmsa-cpu1 the tool
			// crashes (None * 0 in get_cpu_state; see the parity test).
			in.vmsaCpu0 = file(c.id + "-vmsa0", bytes(4096));
			in.vmsaCpu1 = file(c.id + "-vmsa1", bytes(4096));
		}
	}
	auto report = computeLaunchDigest(in);
	INFO(c.id << ": " << (report.ok() ? "" : report.error().message()));
	REQUIRE(report.ok());
	c.ld = report->launchDigest;
	c.good = measureLaunch(c.tik, c.version, c.policy, c.ld).value();
	c.bad = c.good;
	size_t bit = pick(0, 383);
	if (bit < 256)
		c.bad.measure[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
	else
		c.bad.mnonce[(bit - 256) / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
	if (pick(0, 2) == 0)
		addSecrets(c);
	return c;
}

// The options both tools take for this case (without secrets).
std::vector<std::string> validateArgs(const Case &c, const LaunchMeasurement &m)
{
	const LaunchDigestInputs &in = c.inputs;
	std::vector<std::string> a = { "--measurement=" + m.toBase64(),
				       "--api-major", std::to_string(c.version.apiMajor),
				       "--api-minor", std::to_string(c.version.apiMinor),
				       "--build-id", std::to_string(c.version.buildId),
				       "--policy", std::to_string(c.policy),
				       "--firmware", in.firmware };
	a.insert(a.end(), c.keyArgs.begin(), c.keyArgs.end());
	if (in.kernel)
		a.insert(a.end(), { "--kernel", *in.kernel });
	if (in.initrd)
		a.insert(a.end(), { "--initrd", *in.initrd });
	if (in.cmdline)
		a.push_back("--cmdline=" + *in.cmdline);
	if (in.sevEs)
		a.insert(a.end(), { "--num-cpus", std::to_string(in.numCpus) });
	if (in.vmsaCpu0)
		a.insert(a.end(), { "--vmsa-cpu0", *in.vmsaCpu0 });
	if (in.vmsaCpu1)
		a.insert(a.end(), { "--vmsa-cpu1", *in.vmsaCpu1 });
	if (in.cpuSku)
		a.insert(a.end(), { "--cpu-family", std::to_string(in.cpuSku->family), "--cpu-model",
				    std::to_string(in.cpuSku->model), "--cpu-stepping", std::to_string(in.cpuSku->stepping) });
	return a;
}

std::vector<std::string> secretArgs(const Case &c, const std::string &header, const std::string &payload)
{
	std::vector<std::string> a;
	for (const auto &s : c.secrets)
		a.insert(a.end(), { "--inject-secret", s.name + ":" + s.path });
	a.insert(a.end(), { "--secret-header", header, "--secret-payload", payload });
	return a;
}

std::vector<std::string> measureArgs(const Case &c)
{
	const LaunchDigestInputs &in = c.inputs;
	std::vector<std::string> a = { "measure", "--firmware", in.firmware };
	for (auto &[flag, v] : { std::pair{ "--kernel", in.kernel }, std::pair{ "--initrd", in.initrd },
				 std::pair{ "--vmsa-cpu0", in.vmsaCpu0 }, std::pair{ "--vmsa-cpu1", in.vmsaCpu1 } })
		if (v)
			a.insert(a.end(), { flag, *v });
	if (in.cmdline)
		a.push_back("--cmdline=" + *in.cmdline);
	if (in.sevEs)
		a.insert(a.end(), { "--sev-es", "--num-cpus", std::to_string(in.numCpus) });
	if (in.cpuSku)
		a.insert(a.end(), { "--cpu-family", std::to_string(in.cpuSku->family), "--cpu-model",
				    std::to_string(in.cpuSku->model), "--cpu-stepping", std::to_string(in.cpuSku->stepping) });
	return a;
}

json::ObjectBuilder digestRequest(const Case &c)
{
	json::ObjectBuilder o;
	const LaunchDigestInputs &in = c.inputs;
	o.setString("id", c.id + "-digest").setInt("policy", c.policy).setString("firmware", in.firmware);
	if (in.sevEs)
		o.setInt("num_cpus", in.numCpus);
	for (auto &[k, v] : { std::pair{ "kernel", in.kernel }, std::pair{ "initrd", in.initrd },
			      std::pair{ "cmdline", in.cmdline }, std::pair{ "vmsa0", in.vmsaCpu0 },
			      std::pair{ "vmsa1", in.vmsaCpu1 } })
		if (v)
			o.setString(k, *v);
	if (in.cpuSku) {
		JsonArray *sku = json_array_new();
		json_array_add_int_element(sku, in.cpuSku->family);
		json_array_add_int_element(sku, in.cpuSku->model);
		json_array_add_int_element(sku, in.cpuSku->stepping);
		JsonNodePtr n(json_node_new(JSON_NODE_ARRAY));
		json_node_take_array(n.get(), sku);
		o.setNode("sku", std::move(n));
	}
	return o;
}

json::ObjectBuilder packetRequest(const Case &c, const std::string &header, const std::string &payload)
{
	json::ObjectBuilder o;
	o.setString("id", c.id + "-ours-packet")
		.setHex("tek", c.tek)
		.setHex("tik", c.tik)
		.setHex("measure", c.good.measure)
		.setString("header", header)
		.setString("payload", payload);
	std::vector<json::ObjectBuilder> secrets;
	for (const auto &s : c.secrets) {
		json::ObjectBuilder e;
		e.setString("guid", s.guid.toString()).setString("path", s.path);
		secrets.push_back(std::move(e));
	}
	o.setNode("secrets", arrayOf(secrets));
	return o;
}

// The secret table a packet carries, checked against the case's secret files.
void checkOpenedPacket(const Case &c, const std::string &header, const std::string &payload)
{
	auto headerText = readTextFile(header), payloadText = readTextFile(payload);
	INFO(c.id);
	REQUIRE(headerText.ok());
	REQUIRE(payloadText.ok());
	Bytes h = fromBase64(*headerText).value();
	Bytes p = fromBase64(*payloadText).value();
	auto table = openSecret(c.tek, c.tik, c.good.measure, h, p);
	INFO(c.id << ": " << (table.ok() ? "" : table.error().message()));
	REQUIRE(table.ok());
	auto entries = parseSecretTable(*table);
	REQUIRE(entries.ok());
	REQUIRE(entries->size() == c.secrets.size());
	for (size_t i = 0; i < c.secrets.size(); ++i) {
		CHECK((*entries)[i].guid == c.secrets[i].guid);
		Bytes want = readFile(c.secrets[i].path).value();
		CHECK(Bytes((*entries)[i].value.view().begin(), (*entries)[i].value.view().end()) == want);
	}
}

} // namespace

TEST_CASE("interop with virt-qemu-sev-validate on random cases")
{
	requireTool();
	sevtest::requireFile(sevtest::kDebianOvmf);
	uint64_t seed = std::random_device{}();
	if (const char *s = getenv("CVM_INTEROP_SEED"))
		seed = strtoull(s, nullptr, 0);
	INFO("seed " << seed << " (CVM_INTEROP_SEED to reproduce)");
	auto dir = TempDir::create("cvm-sev-interop-").value();
	Generator gen(dir, seed);

	std::vector<Case> cases;
	Driver d;
	for (int i = 0; i < kCases; ++i) {
		Case c = gen.make(i);
		INFO(c.id);
		auto m = ours(measureArgs(c));
		INFO(m.err);
		REQUIRE(m.exitStatus == 0);
		CHECK(m.out == toHex(c.ld) + "\n");

		std::vector<std::string> good = validateArgs(c, c.good), bad = validateArgs(c, c.bad);
		std::vector<std::string> ourGood = good;
		if (!c.secrets.empty()) {
			auto s = secretArgs(c, dir.file(c.id + "-our.hdr"), dir.file(c.id + "-our.payload"));
			ourGood.insert(ourGood.end(), s.begin(), s.end());
			auto t = secretArgs(c, dir.file(c.id + "-tool.hdr"), dir.file(c.id + "-tool.payload"));
			good.insert(good.end(), t.begin(), t.end());
		}
		ourGood.insert(ourGood.begin(), "validate");
		auto v = ours(ourGood);
		INFO(v.err);
		CHECK(v.exitStatus == 0);
		bad.insert(bad.begin(), "validate");
		CHECK(ours(bad).exitStatus == 1);
		bad.erase(bad.begin());

		d.runs.push_back(run(c.id + "-good", good));
		d.runs.push_back(run(c.id + "-bad", bad));
		d.digests.push_back(digestRequest(c));
		if (!c.secrets.empty())
			d.packets.push_back(packetRequest(c, dir.file(c.id + "-our.hdr"), dir.file(c.id + "-our.payload")));
		cases.push_back(std::move(c));
	}

	JsonNodePtr holder;
	JsonObject *results = d.execute(dir, holder);
	size_t withSecrets = 0, es = 0, kernels = 0;
	for (const Case &c : cases) {
		INFO(c.id);
		CHECK(resultString(results, c.id + "-digest") == toHex(c.ld));
		CHECK(resultRc(results, c.id + "-good") == 0);
		CHECK(resultRc(results, c.id + "-bad") == 1);
		es += c.inputs.sevEs;
		kernels += c.inputs.kernel.has_value();
		if (c.secrets.empty())
			continue;
		++withSecrets;
		CHECK(resultString(results, c.id + "-ours-packet") == "ok");
		checkOpenedPacket(c, dir.file(c.id + "-tool.hdr"), dir.file(c.id + "-tool.payload"));
	}
	// The random mix covers every kind of case.
	CHECK(withSecrets > 20);
	CHECK(es > 50);
	CHECK(kernels > 30);
}

TEST_CASE("sessions from `sev session` unwrap with an independent implementation")
{
	requireTool();
	auto dir = TempDir::create("cvm-sev-interop-").value();
	Driver d;
	std::vector<std::string> ids;
	for (int i = 0; i < kSessions; ++i) {
		std::string id = "s" + std::to_string(i);
		EvpPkeyPtr pdh = generateP384Key().value();
		std::string keyFile = dir.file(id + "-pdh.pem");
		{
			FILE *f = fopen(keyFile.c_str(), "w");
			REQUIRE(f);
			REQUIRE(PEM_write_PrivateKey(f, pdh.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1);
			fclose(f);
		}
		std::string pdhFile = dir.file(id + "-pdh.cert");
		REQUIRE(writeFileAtomic(pdhFile, makeGodhCertificate(pdh.get()).value()).ok());
		uint32_t policy = static_cast<uint32_t>(sevtest::randomBytes(1)[0]) * 0x01010101u;
		std::string out = dir.file(id);
		auto r = ours({ "session", "--pdh", pdhFile, "--policy", std::to_string(policy), "--out-dir", out });
		REQUIRE(r.exitStatus == 0);
		json::ObjectBuilder o;
		o.setString("id", id)
			.setString("pdh_key", keyFile)
			.setString("godh", out + "/godh.cert")
			.setString("session", out + "/session.bin")
			.setInt("policy", policy)
			.setHex("tek", readSecretFile(out + "/tek.bin").value())
			.setHex("tik", readSecretFile(out + "/tik.bin").value());
		d.sessions.push_back(std::move(o));
		ids.push_back(id);
	}
	JsonNodePtr holder;
	JsonObject *results = d.execute(dir, holder);
	for (const auto &id : ids) {
		INFO(id);
		CHECK(resultString(results, id) == "ok");
	}
}
