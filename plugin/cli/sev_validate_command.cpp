// SPDX-License-Identifier: Apache-2.0
//
// cvm-launch sev validate: the offline mode of libvirt's virt-qemu-sev-validate
// with its option names, messages ("OK: Looks good to me", "ERROR: ...") and
// exit codes: 0 ok, 1 attestation failed, 2 unsupported usage, 3 insecure
// usage, 4 incorrect config, 5 invalid state, 6 any other error (unreadable
// or malformed files). Online mode (--domain) talks to libvirt and is not
// supported here: exit 2.
//
// Numbers are read as the tool's argparse type=int reads them (Python's
// int(): decimal only, leading zeros and single underscores between digits
// allowed, surrounding whitespace and a '+' ignored): `--policy 010` is 10,
// `--policy 0x10` a usage error (2), as in the tool.
//
// Deliberate differences, listed in --help (kDifferences) and pinned by
// tests/sev/validate_parity_test.cpp: out-of-range numbers are usage errors
// (2, where the Python tool crashes with 6 or, for vCPU counts and the CPU
// SKU, computes a digest no platform produces); an SEV-ES --num-cpus 0 is
// a usage error (2; the tool measures it as one vCPU); kernel hashes with a
// firmware that has no hash-table area are refused (2) instead of computing
// a digest no QEMU can produce; SEV-ES with one vCPU and only --vmsa-cpu0 is
// measured (the tool crashes with 6). Not visible in exit codes: secrets are
// never printed, not even with --debug; the secret table pads to the next
// multiple of 16 (sevctl), which the guest parses the same.
#define G_LOG_DOMAIN "cvm-cli"

#include "sev_measure_command.h"

#include <cstdio>
#include <regex>
#include <vector>

#include <sys/stat.h>

#include "cli.h"
#include "cvm/common/file.h"
#include "cvm/sev/launch_digest.h"
#include "cvm/sev/secret.h"
#include "cvm/sev/session.h"

namespace cvm::cli {

namespace {

constexpr int kExitAttestationFailed = 1;
constexpr int kExitUnsupported = 2;
constexpr int kExitOther = 6;

// Read at most this much of a key file: anything longer has the wrong size
// (exit 2, as in the tool, which reads the whole file first).
constexpr size_t kMaxKeyFile = 4096;

const char *kDifferences =
	"Differences from virt-qemu-sev-validate (exit codes):\n"
	"  - a number out of range is a usage error (2): API version and build id 0-255, policy\n"
	"    32 bits (the tool fails with 6), --num-cpus 0-4096, CPU family/model/stepping\n"
	"    0-4095/0-255/0-15 (the tool computes a digest no platform produces)\n"
	"  - SEV-ES with --num-cpus 0 is a usage error (2); the tool measures one vCPU\n"
	"  - --kernel with a firmware that has no SEV hash-table area (Debian's OVMF.fd) is refused\n"
	"    (2): QEMU cannot boot it with kernel hashes; the tool computes a digest anyway\n"
	"  - SEV-ES with one vCPU and only --vmsa-cpu0 is measured; the tool fails with 6\n"
	"  - online mode (--domain) is not supported (2)\n"
	"Numbers are decimal, as for the tool (010 is ten; 0x10 is refused).";

// An error with the exit code it maps to.
struct Failure {
	int exitCode;
	std::string message;
};

struct ValidateOptions {
	gboolean debug = FALSE, quiet = FALSE, insecure = FALSE, ignoreConfig = FALSE;
	gchar *measurement = nullptr, *apiMajor = nullptr, *apiMinor = nullptr, *buildId = nullptr;
	gchar *policy = nullptr, *firmware = nullptr, *kernel = nullptr, *initrd = nullptr, *cmdline = nullptr;
	gchar *numCpus = nullptr, *vmsa0 = nullptr, *vmsa1 = nullptr;
	gchar *family = nullptr, *model = nullptr, *stepping = nullptr;
	gchar *tik = nullptr, *tek = nullptr, *tk = nullptr, *connect = nullptr, *domain = nullptr;
	gchar **injectSecret = nullptr;
	gchar *secretPayload = nullptr, *secretHeader = nullptr;

	~ValidateOptions()
	{
		for (gchar *p : { measurement, apiMajor, apiMinor, buildId, policy, firmware, kernel, initrd,
				  cmdline, numCpus, vmsa0, vmsa1, family, model, stepping, tik, tek, tk, connect,
				  domain, secretPayload, secretHeader })
			g_free(p);
		g_strfreev(injectSecret);
	}
	size_t secretCount() const { return injectSecret ? g_strv_length(injectSecret) : 0; }
};

std::vector<GOptionEntry> validateEntries(ValidateOptions &o)
{
	return {
		{ "debug", 'd', 0, G_OPTION_ARG_NONE, &o.debug, "Show debug information (never secrets)", nullptr },
		{ "quiet", 'q', 0, G_OPTION_ARG_NONE, &o.quiet, "Do not display status", nullptr },
		{ "measurement", 'm', 0, G_OPTION_ARG_STRING, &o.measurement, "Measurement for the running domain (base64)", "B64" },
		{ "api-major", 0, 0, G_OPTION_ARG_STRING, &o.apiMajor, "SEV API major version for the running domain", "N" },
		{ "api-minor", 0, 0, G_OPTION_ARG_STRING, &o.apiMinor, "SEV API minor version for the running domain", "N" },
		{ "build-id", 0, 0, G_OPTION_ARG_STRING, &o.buildId, "SEV build ID for the running domain", "N" },
		{ "policy", 0, 0, G_OPTION_ARG_STRING, &o.policy, "SEV policy for the running domain", "N" },
		{ "firmware", 'f', 0, G_OPTION_ARG_FILENAME, &o.firmware, "Path to the firmware binary", "F" },
		{ "kernel", 'k', 0, G_OPTION_ARG_FILENAME, &o.kernel, "Path to the kernel binary", "F" },
		{ "initrd", 'r', 0, G_OPTION_ARG_FILENAME, &o.initrd, "Path to the initrd binary", "F" },
		{ "cmdline", 'e', 0, G_OPTION_ARG_FILENAME, &o.cmdline, "Cmdline string booted with", "S" },
		{ "num-cpus", 'n', 0, G_OPTION_ARG_STRING, &o.numCpus, "Number of virtual CPUs", "N" },
		{ "vmsa-cpu0", '0', 0, G_OPTION_ARG_FILENAME, &o.vmsa0, "VMSA state for the boot CPU", "F" },
		{ "vmsa-cpu1", '1', 0, G_OPTION_ARG_FILENAME, &o.vmsa1, "VMSA state for the additional CPUs", "F" },
		{ "cpu-family", 0, 0, G_OPTION_ARG_STRING, &o.family, "Hypervisor host CPU family number", "N" },
		{ "cpu-model", 0, 0, G_OPTION_ARG_STRING, &o.model, "Hypervisor host CPU model number", "N" },
		{ "cpu-stepping", 0, 0, G_OPTION_ARG_STRING, &o.stepping, "Hypervisor host CPU stepping number", "N" },
		{ "tik", 0, 0, G_OPTION_ARG_FILENAME, &o.tik, "TIK file for domain", "F" },
		{ "tek", 0, 0, G_OPTION_ARG_FILENAME, &o.tek, "TEK file for domain", "F" },
		{ "tk", 0, 0, G_OPTION_ARG_FILENAME, &o.tk, "TEK/TIK combined file for domain", "F" },
		{ "connect", 'c', 0, G_OPTION_ARG_STRING, &o.connect, "libvirt connection URI (online mode: not supported)", "URI" },
		{ "domain", 'o', 0, G_OPTION_ARG_STRING, &o.domain, "domain ID / Name / UUID (online mode: not supported)", "DOM" },
		{ "insecure", 'i', 0, G_OPTION_ARG_NONE, &o.insecure, "Proceed even if usage scenario is insecure (online mode)", nullptr },
		{ "ignore-config", 'g', 0, G_OPTION_ARG_NONE, &o.ignoreConfig, "Do not sanity check the guest config (online mode)", nullptr },
		{ "inject-secret", 's', 0, G_OPTION_ARG_STRING_ARRAY, &o.injectSecret, "ALIAS-OR-GUID:PATH file containing secret to inject", "S" },
		{ "secret-payload", 0, 0, G_OPTION_ARG_FILENAME, &o.secretPayload, "Path to file to write secret data payload to", "F" },
		{ "secret-header", 0, 0, G_OPTION_ARG_FILENAME, &o.secretHeader, "Path to file to write secret data header to", "F" },
		{},
	};
}

// virt-qemu-sev-validate's check_usage(), offline half, same order and messages.
std::optional<std::string> checkUsage(const ValidateOptions &o)
{
	if (o.domain)
		return "online mode (--domain) needs libvirt and is not supported by cvm-launch; "
		       "give --measurement, --api-major, --api-minor, --build-id, --policy and --firmware";
	if (o.tk) {
		if (o.tik || o.tek)
			return "--tk is mutually exclusive with --tek/--tik";
	} else if (!o.tik || !o.tek) {
		return "Either --tk or both of --tek/--tik are required";
	}
	const std::pair<const gchar *, const char *> required[] = {
		{ o.measurement, "--measurement" }, { o.apiMajor, "--api-major" }, { o.apiMinor, "--api-minor" },
		{ o.buildId, "--build-id" },	    { o.policy, "--policy" },	  { o.firmware, "--firmware" },
	};
	for (const auto &[value, name] : required)
		if (!value)
			return std::string("Either ") + name + " or --domain is required";
	if (o.secretCount() > 0 && !o.secretHeader)
		return "Either --secret-header or --domain is required";
	if (o.secretCount() > 0 && !o.secretPayload)
		return "Either --secret-payload or --domain is required";
	if (!o.kernel && (o.initrd || o.cmdline))
		return "--initrd/--cmdline require --kernel";
	int sku = !!o.family + !!o.model + !!o.stepping;
	if (sku == 0 && o.vmsa1 && !o.vmsa0)
		return "VMSA for additional CPU also requires VMSA for boot CPU";
	if (sku > 0 && (o.vmsa0 || o.vmsa1))
		return "VMSA files are mutually exclusive with CPU SKU";
	if (sku > 0 && sku < 3)
		return "CPU SKU needs family, model and stepping for SEV-ES domain";
	if (!!o.secretPayload != !!o.secretHeader)
		return "Both --secret-payload and --secret-header are required";
	return std::nullopt;
}

struct Numbers {
	sev::PlatformVersion version;
	uint32_t policy = 0;
	std::optional<unsigned> numCpus;
	std::optional<sev::CpuSku> sku;
};

// A number as Python's int() reads a str (the tool's argparse type=int):
// optional surrounding ASCII whitespace, an optional sign, decimal digits with
// single underscores between them. Leading zeros are decimal, never octal.
// (Python also takes non-ASCII digits such as U+FF13; these are refused.)
struct ToolInt {
	bool negative = false;
	bool overflow = false; // more than 64 bits
	uint64_t magnitude = 0;
};

std::optional<ToolInt> parseToolInt(std::string_view text)
{
	auto space = [](char c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
	while (!text.empty() && space(text.front()))
		text.remove_prefix(1);
	while (!text.empty() && space(text.back()))
		text.remove_suffix(1);
	ToolInt v;
	if (!text.empty() && (text.front() == '+' || text.front() == '-')) {
		v.negative = text.front() == '-';
		text.remove_prefix(1);
	}
	if (text.empty() || !g_ascii_isdigit(text.front()) || !g_ascii_isdigit(text.back()))
		return std::nullopt;
	for (size_t i = 0; i < text.size(); ++i) {
		char c = text[i];
		if (c == '_') {
			if (!g_ascii_isdigit(text[i + 1])) // never last, checked above
				return std::nullopt;
			continue;
		}
		if (!g_ascii_isdigit(c))
			return std::nullopt;
		unsigned d = static_cast<unsigned>(c - '0');
		if (v.magnitude > (UINT64_MAX - d) / 10)
			v.overflow = true;
		else
			v.magnitude = v.magnitude * 10 + d;
	}
	return v;
}

std::optional<Failure> parseNumbers(const ValidateOptions &o, Numbers &n)
{
	auto number = [](const gchar *text, const char *name, uint64_t max, uint64_t &out) -> std::optional<Failure> {
		std::optional<ToolInt> v = parseToolInt(text);
		if (!v)
			return Failure{ kExitUnsupported, std::string("argument ") + name + ": invalid int value: '" +
								   text + "'" };
		bool zero = !v->overflow && v->magnitude == 0;
		if ((v->negative && !zero) || v->overflow || v->magnitude > max)
			return Failure{ kExitUnsupported, std::string(name) + ": " + text + " is outside 0.." +
								   std::to_string(max) };
		out = v->magnitude;
		return std::nullopt;
	};
	uint64_t major = 0, minor = 0, build = 0, policy = 0, cpus = 0, f = 0, m = 0, s = 0;
	if (auto e = number(o.apiMajor, "--api-major", 0xff, major)) return e;
	if (auto e = number(o.apiMinor, "--api-minor", 0xff, minor)) return e;
	if (auto e = number(o.buildId, "--build-id", 0xff, build)) return e;
	if (auto e = number(o.policy, "--policy", UINT32_MAX, policy)) return e;
	n.version = { static_cast<uint8_t>(major), static_cast<uint8_t>(minor), static_cast<uint8_t>(build) };
	n.policy = static_cast<uint32_t>(policy);
	if (o.numCpus) {
		if (auto e = number(o.numCpus, "--num-cpus", 4096, cpus)) return e;
		n.numCpus = static_cast<unsigned>(cpus);
	}
	if (o.family) {
		if (auto e = number(o.family, "--cpu-family", 0xfff, f)) return e;
		if (auto e = number(o.model, "--cpu-model", 0xff, m)) return e;
		if (auto e = number(o.stepping, "--cpu-stepping", 0xf, s)) return e;
		n.sku = sev::CpuSku{ static_cast<uint32_t>(f), static_cast<uint32_t>(m), static_cast<uint32_t>(s) };
	}
	return std::nullopt;
}

Failure other(const Error &e)
{
	return { kExitOther, e.message() };
}

// A key file of exactly `expected` bytes. Any other size, however large, is
// the tool's "Expected N bytes" usage error (2); unreadable is 6.
std::optional<Failure> readKeyFile(const char *path, size_t expected, const char *name, SecureBuffer &out)
{
	auto wrongSize = [&](const std::string &got) {
		return Failure{ kExitUnsupported, "Expected " + std::to_string(expected) + " bytes in " + name +
							  " file, but got " + got };
	};
	auto k = readSecretFile(path, kMaxKeyFile);
	if (!k && k.error().code() == ErrorCode::InvalidData) {
		struct stat st;
		bool sized = stat(path, &st) == 0 && S_ISREG(st.st_mode);
		return wrongSize(sized ? std::to_string(st.st_size) : "more than " + std::to_string(kMaxKeyFile));
	}
	if (!k)
		return other(k.error());
	if (k->size() != expected)
		return wrongSize(std::to_string(k->size()));
	out = std::move(k).value();
	return std::nullopt;
}

std::optional<Failure> loadKeys(const ValidateOptions &o, sev::TransportKeys &keys)
{
	if (o.tk) {
		SecureBuffer tk;
		if (auto f = readKeyFile(o.tk, 32, "TIK/TEK", tk))
			return f;
		keys.tek = SecureBuffer(ByteView(tk.data(), 16));
		keys.tik = SecureBuffer(ByteView(tk.data() + 16, 16));
		return std::nullopt;
	}
	if (auto f = readKeyFile(o.tik, 16, "TIK", keys.tik))
		return f;
	return readKeyFile(o.tek, 16, "TEK", keys.tek);
}

// The tool loads VMSA files (4096 bytes) and builds SKU VMSAs (which needs the
// OVMF table) whatever the policy; do the same checks in the same places.
std::optional<Failure> precheckVmsas(const ValidateOptions &o, const Numbers &n)
{
	for (const gchar *path : { o.vmsa0, o.vmsa1 }) {
		if (!path)
			continue;
		auto page = readFile(path, sev::kVmsaSize + 1);
		if (!page)
			return other(page.error());
		if (page->size() != sev::kVmsaSize)
			return Failure{ kExitUnsupported, "VMSA must be 4096 bytes in length" };
	}
	if (n.sku) {
		auto table = sev::OvmfFooterTable::readFile(o.firmware);
		if (!table)
			return other(table.error());
		auto pages = sev::buildVmsas(*table, {});
		if (!pages)
			return other(pages.error());
	}
	return std::nullopt;
}

std::optional<Failure> expectedDigest(const ValidateOptions &o, const Numbers &n, sev::Digest256 &out)
{
	sev::LaunchDigestInputs in;
	in.firmware = o.firmware;
	auto opt = [](const gchar *s) { return s ? std::optional<std::string>(s) : std::nullopt; };
	in.kernel = opt(o.kernel);
	in.initrd = opt(o.initrd);
	in.cmdline = opt(o.cmdline);
	if (sev::isSevEs(n.policy)) {
		if (!n.numCpus)
			return Failure{ kExitUnsupported, "Number of virtual CPUs must be specified for SEV-ES domain" };
		if (!o.vmsa0 && !n.sku)
			return Failure{ kExitUnsupported, "VMSA for boot CPU required for SEV-ES domain" };
		if (*n.numCpus > 1 && !o.vmsa1 && !n.sku)
			return Failure{ kExitUnsupported, "VMSA for additional CPUs required for SEV-ES domain with SMP" };
		in.sevEs = true;
		in.numCpus = *n.numCpus;
		in.vmsaCpu0 = opt(o.vmsa0);
		in.vmsaCpu1 = opt(o.vmsa1);
		in.cpuSku = n.sku;
	}
	auto report = sev::computeLaunchDigest(in);
	if (!report) {
		ErrorCode c = report.error().code();
		if (c == ErrorCode::InvalidArgument || c == ErrorCode::Unsupported)
			return Failure{ kExitUnsupported, report.error().message() };
		return other(report.error());
	}
	out = report->launchDigest;
	return std::nullopt;
}

std::optional<Failure> injectSecrets(const ValidateOptions &o, const sev::TransportKeys &keys,
				     const sev::Digest256 &measure)
{
	static const std::regex kGuid("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$");
	std::vector<sev::SecretEntry> entries;
	for (size_t i = 0; i < o.secretCount(); ++i) {
		std::string spec = o.injectSecret[i];
		size_t colon = spec.find(':');
		if (colon == std::string::npos || spec.find(':', colon + 1) != std::string::npos)
			return Failure{ kExitUnsupported, "Expecting ALIAS-OR-GUID:PATH for injected secret" };
		std::string name = spec.substr(0, colon), path = spec.substr(colon + 1);
		if (!std::regex_match(name, kGuid) && name != "luks-key")
			return Failure{ kExitUnsupported, "Secret alias '" + name + "' is not known" };
		Guid guid = sev::secretGuid(name).value();
		for (const auto &e : entries)
			if (e.guid == guid)
				return Failure{ kExitUnsupported, "Secret for GUID " + guid.toString() + " already loaded" };
		auto value = readSecretFile(path, sev::kMaxSecretPayload);
		if (!value)
			return other(value.error());
		entries.push_back({ guid, std::move(value).value() });
	}
	auto table = sev::buildSecretTable(entries);
	if (!table)
		return other(table.error());
	auto packet = sev::sealSecret(keys.tek, keys.tik, measure, *table);
	if (!packet)
		return other(packet.error());
	if (auto st = writeFileAtomic(o.secretHeader, asBytes(toBase64(packet->header))); !st)
		return other(st.error());
	if (auto st = writeFileAtomic(o.secretPayload, asBytes(toBase64(packet->payload))); !st)
		return other(st.error());
	return std::nullopt;
}

// Everything after option parsing; prints the OK lines itself.
std::optional<Failure> validate(const ValidateOptions &o)
{
	if (auto why = checkUsage(o))
		return Failure{ kExitUnsupported, *why };
	Numbers n;
	if (auto f = parseNumbers(o, n))
		return f;
	if (!fileExists(o.firmware))
		return Failure{ kExitOther, std::string("cannot read the firmware ") + o.firmware };
	sev::TransportKeys keys;
	if (auto f = loadKeys(o, keys))
		return f;
	if (auto f = precheckVmsas(o, n))
		return f;

	// Like Python's b64decode: characters outside the alphabet are dropped;
	// bad padding is an error (6), a wrong length a failed attestation (1).
	std::string text;
	for (const char *c = o.measurement; *c; ++c)
		if (g_ascii_isalnum(*c) || *c == '+' || *c == '/' || *c == '=')
			text += *c;
	auto blob = fromBase64(text);
	if (!blob)
		return Failure{ kExitOther, "the measurement is not base64: " + blob.error().message() };
	auto measured = sev::LaunchMeasurement::parse(*blob);
	sev::Digest256 ld;
	if (auto f = expectedDigest(o, n, ld))
		return f;
	if (!measured)
		return Failure{ kExitAttestationFailed, measured.error().message() };
	auto ok = sev::verifyMeasurement(keys.tik, n.version, n.policy, ld, *measured);
	if (!ok)
		return other(ok.error());
	if (!*ok)
		return Failure{ kExitAttestationFailed, "Measurement does not match, VM is not trustworthy" };
	if (!o.quiet)
		printf("OK: Looks good to me\n");

	if (o.secretCount() == 0)
		return std::nullopt;
	if (auto f = injectSecrets(o, keys, measured->measure))
		return f;
	if (!o.quiet)
		printf("OK: Injected %zu secrets\n", o.secretCount());
	return std::nullopt;
}

} // namespace

int runSevValidateCommand(int argc, char **argv)
{
	ValidateOptions o;
	std::vector<GOptionEntry> entries = validateEntries(o);
	if (!parseOptions(argv[0], "", "Validate a guest's AMD SEV launch measurement (offline mode of virt-qemu-sev-validate).",
			  entries.data(), argc, argv, kDifferences))
		return kExitUnsupported;
	if (argc > 1)
		return usage(argv[0], std::string("unexpected argument ") + argv[1]);
	setupLogging(false, o.debug);
	std::optional<Failure> f = validate(o);
	fflush(stdout);
	if (!f)
		return kExitOk;
	if (!o.quiet)
		fprintf(stderr, "ERROR: %s\n", f->message.c_str());
	return f->exitCode;
}

} // namespace cvm::cli
