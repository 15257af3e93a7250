// SPDX-License-Identifier: Apache-2.0
//
// cvm-launch sev session | measure: the guest owner's side of a launch, offline.
#define G_LOG_DOMAIN "cvm-cli"

#include "sev_measure_command.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "cli.h"
#include "cvm/common/file.h"
#include "cvm/common/json.h"
#include "cvm/sev/launch_digest.h"
#include "cvm/sev/session.h"

namespace cvm::cli {

std::optional<uint64_t> parseUnsignedOption(const char *text, uint64_t max)
{
	if (!text)
		return std::nullopt;
	// Decimal, or hex after 0x. Never octal: "010" is ten, as in
	// virt-qemu-sev-validate and everywhere else a policy is written.
	bool hex = (text[0] == '0' && (text[1] == 'x' || text[1] == 'X'));
	const char *digits = hex ? text + 2 : text;
	if (!*digits)
		return std::nullopt;
	for (const char *c = digits; *c; ++c)
		if (!(hex ? g_ascii_isxdigit(*c) : g_ascii_isdigit(*c)))
			return std::nullopt;
	errno = 0;
	char *end = nullptr;
	unsigned long long v = strtoull(digits, &end, hex ? 16 : 10);
	if (errno != 0 || *end != '\0' || v > max)
		return std::nullopt;
	return v;
}

namespace {

// The PDH as the platform exports it: the raw certificate, or its base64
// (libvirt's <pdh>, QEMU's query-sev-capabilities "pdh").
Result<Bytes> readPdh(const std::string &path)
{
	Bytes raw = CVM_TRY(readFile(path, 1u << 16));
	if (raw.size() == sev::kSevCertificateSize)
		return raw;
	auto decoded = fromBase64(asString(raw));
	if (!decoded)
		return Error(ErrorCode::InvalidData, path + ": neither a 2084-byte PDH certificate nor its base64");
	return decoded;
}

Status writeSessionFiles(const std::string &dir, const sev::OwnerSession &s)
{
	CVM_CHECK(makeDirectories(dir, 0700));
	Bytes session = s.session.serialize();
	std::string godhB64 = toBase64(s.godhCert) + "\n";
	std::string sessionB64 = toBase64(session) + "\n";
	CVM_CHECK(writeFileAtomic(dir + "/godh.cert", s.godhCert));
	CVM_CHECK(writeFileAtomic(dir + "/godh.b64", asBytes(godhB64)));
	CVM_CHECK(writeFileAtomic(dir + "/session.bin", session));
	CVM_CHECK(writeFileAtomic(dir + "/session.b64", asBytes(sessionB64)));
	CVM_CHECK(writeSecretFile(dir + "/tek.bin", s.keys.tek));
	CVM_CHECK(writeSecretFile(dir + "/tik.bin", s.keys.tik));
	return {};
}

} // namespace

int runSevSessionCommand(int argc, char **argv)
{
	struct Options {
		gchar *pdh = nullptr, *policy = nullptr, *outDir = nullptr;
		gboolean json = FALSE;
		~Options()
		{
			g_free(pdh), g_free(policy), g_free(outDir);
		}
	} o;
	gchar *&pdh = o.pdh, *&policyText = o.policy, *&outDir = o.outDir;
	gboolean &json = o.json;
	GOptionEntry entries[] = {
		{ "pdh", 0, 0, G_OPTION_ARG_FILENAME, &pdh, "The platform's PDH certificate (raw or base64), already verified", "F" },
		{ "policy", 0, 0, G_OPTION_ARG_STRING, &policyText, "Guest policy (u32, decimal or 0x hex; leading zeros are decimal)", "N" },
		{ "out-dir", 0, 0, G_OPTION_ARG_FILENAME, &outDir, "Where to write godh.cert/.b64, session.bin/.b64, tek.bin, tik.bin", "DIR" },
		{ "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the result as JSON", nullptr },
		{},
	};
	if (!parseOptions(argv[0], "", "Start a guest-owner launch session for a platform's PDH.", entries, argc, argv))
		return kExitUsage;
	if (argc > 1)
		return usage(argv[0], std::string("unexpected argument ") + argv[1]);
	if (!pdh || !policyText || !outDir)
		return usage(argv[0], "--pdh, --policy and --out-dir are required");
	auto policy = parseUnsignedOption(policyText, UINT32_MAX);
	if (!policy)
		return usage(argv[0], std::string("--policy: not a 32-bit unsigned number: ") + policyText);

	auto cert = readPdh(pdh);
	if (!cert)
		return fail(cert.error());
	auto session = sev::startSessionWithPdhCert(*cert, static_cast<uint32_t>(*policy));
	if (!session)
		return fail(session.error());
	if (auto st = writeSessionFiles(outDir, *session); !st)
		return fail(st.error());

	if (json) {
		json::ObjectBuilder o;
		o.setInt("policy", *policy)
			.setString("out-dir", outDir)
			.setBase64("godh-cert", session->godhCert)
			.setBase64("session", session->session.serialize());
		printJson(o.build().get());
	} else {
		printf("Wrote %s/{godh.cert,godh.b64,session.bin,session.b64} and the 0600 keys tek.bin, tik.bin\n",
		       outDir);
	}
	return kExitOk;
}

namespace {

struct MeasureOptions {
	gchar *firmware = nullptr, *kernel = nullptr, *initrd = nullptr, *cmdline = nullptr;
	gchar *vmsa0 = nullptr, *vmsa1 = nullptr;
	gchar *numCpus = nullptr, *family = nullptr, *model = nullptr, *stepping = nullptr;
	gboolean sevEs = FALSE, json = FALSE;

	~MeasureOptions()
	{
		for (gchar *p : { firmware, kernel, initrd, cmdline, vmsa0, vmsa1, numCpus, family, model, stepping })
			g_free(p);
	}
};

std::optional<std::string> opt(const gchar *s)
{
	return s ? std::optional<std::string>(s) : std::nullopt;
}

// Turns the options into inputs, or a usage message.
Result<sev::LaunchDigestInputs> measureInputs(const MeasureOptions &o)
{
	auto usageError = [](const std::string &m) { return Error(ErrorCode::InvalidArgument, m); };
	if (!o.firmware)
		return usageError("--firmware is required");
	sev::LaunchDigestInputs in;
	in.firmware = o.firmware;
	in.kernel = opt(o.kernel);
	in.initrd = opt(o.initrd);
	in.cmdline = opt(o.cmdline);
	in.sevEs = o.sevEs;
	in.vmsaCpu0 = opt(o.vmsa0);
	in.vmsaCpu1 = opt(o.vmsa1);
	bool anyEs = o.numCpus || o.vmsa0 || o.vmsa1 || o.family || o.model || o.stepping;
	if (!o.sevEs && anyEs)
		return usageError("--num-cpus, --vmsa-cpu0/1 and --cpu-family/model/stepping need --sev-es");
	if (o.numCpus) {
		auto n = parseUnsignedOption(o.numCpus, 4096);
		if (!n || *n == 0)
			return usageError(std::string("--num-cpus: not a vCPU count: ") + o.numCpus);
		in.numCpus = static_cast<unsigned>(*n);
	}
	if (o.family || o.model || o.stepping) {
		if (!o.family || !o.model || !o.stepping)
			return usageError("--cpu-family, --cpu-model and --cpu-stepping go together");
		auto f = parseUnsignedOption(o.family, 0xfff);
		auto m = parseUnsignedOption(o.model, 0xff);
		auto s = parseUnsignedOption(o.stepping, 0xf);
		if (!f || !m || !s)
			return usageError("--cpu-family (0-4095), --cpu-model (0-255), --cpu-stepping (0-15) out of range");
		in.cpuSku = sev::CpuSku{ static_cast<uint32_t>(*f), static_cast<uint32_t>(*m), static_cast<uint32_t>(*s) };
	}
	return in;
}

void printMeasureJson(const sev::LaunchDigestInputs &in, const sev::LaunchDigestReport &r)
{
	json::ObjectBuilder o;
	o.setHex("launch-digest", r.launchDigest)
		.setString("firmware", in.firmware)
		.setInt("firmware-size", static_cast<int64_t>(r.firmwareSize))
		.setBool("sev-es", in.sevEs);
	if (in.sevEs)
		o.setInt("num-cpus", in.numCpus);
	if (r.kernelHashes) {
		json::ObjectBuilder k;
		k.setHex("cmdline", r.kernelHashes->cmdline)
			.setHex("initrd", r.kernelHashes->initrd)
			.setHex("kernel", r.kernelHashes->kernel);
		o.setObject("kernel-hashes", std::move(k));
	}
	printJson(o.build().get());
}

} // namespace

int runSevMeasureCommand(int argc, char **argv)
{
	MeasureOptions o;
	GOptionEntry entries[] = {
		{ "firmware", 0, 0, G_OPTION_ARG_FILENAME, &o.firmware, "OVMF image (pflash unit 0: OVMF_CODE with split images)", "F" },
		{ "kernel", 0, 0, G_OPTION_ARG_FILENAME, &o.kernel, "Direct-boot kernel, measured with kernel-hashes=on", "F" },
		{ "initrd", 0, 0, G_OPTION_ARG_FILENAME, &o.initrd, "Direct-boot initrd", "F" },
		{ "cmdline", 0, 0, G_OPTION_ARG_FILENAME, &o.cmdline, "Kernel command line, exactly as given to QEMU (bytes, no charset conversion)", "S" },
		{ "sev-es", 0, 0, G_OPTION_ARG_NONE, &o.sevEs, "SEV-ES: measure the vCPUs' VMSAs too", nullptr },
		{ "num-cpus", 0, 0, G_OPTION_ARG_STRING, &o.numCpus, "SEV-ES: number of vCPUs", "N" },
		{ "vmsa-cpu0", 0, 0, G_OPTION_ARG_FILENAME, &o.vmsa0, "SEV-ES: VMSA of the boot vCPU", "F" },
		{ "vmsa-cpu1", 0, 0, G_OPTION_ARG_FILENAME, &o.vmsa1, "SEV-ES: VMSA of the additional vCPUs", "F" },
		{ "cpu-family", 0, 0, G_OPTION_ARG_STRING, &o.family, "SEV-ES: vCPU family (VMSAs generated)", "N" },
		{ "cpu-model", 0, 0, G_OPTION_ARG_STRING, &o.model, "SEV-ES: vCPU model", "N" },
		{ "cpu-stepping", 0, 0, G_OPTION_ARG_STRING, &o.stepping, "SEV-ES: vCPU stepping", "N" },
		{ "json", 0, 0, G_OPTION_ARG_NONE, &o.json, "Print the result as JSON", nullptr },
		{},
	};
	if (!parseOptions(argv[0], "", "Compute the expected SEV/SEV-ES launch digest.", entries, argc, argv))
		return kExitUsage;
	if (argc > 1)
		return usage(argv[0], std::string("unexpected argument ") + argv[1]);
	auto in = measureInputs(o);
	if (!in)
		return usage(argv[0], in.error().message());
	auto report = sev::computeLaunchDigest(*in);
	if (!report) {
		ErrorCode c = report.error().code();
		bool usageLike = c == ErrorCode::InvalidArgument || c == ErrorCode::Unsupported;
		return fail(report.error(), usageLike ? kExitUsage : kExitFailure);
	}
	if (o.json)
		printMeasureJson(*in, *report);
	else
		printf("%s\n", toHex(report->launchDigest).c_str());
	return kExitOk;
}

} // namespace cvm::cli
