// SPDX-License-Identifier: Apache-2.0
//
// bench/tdx: prints ratios measured in this run, nothing absolute is asserted.
//  1. MRTD of Debian's OVMF.fd (and of a synthetic 32 MiB TDVF image) against
//     SHA-384 of the same file, both in-process (computeMrtd vs OpenSSL's
//     SHA-384 streaming the file, i.e. what `openssl dgst` computes) and as
//     whole processes (`cvm-launch tdx mrtd` vs `openssl dgst -sha384`). MRTD
//     hashes ~1.5x the bytes of the measured sections (a 128-byte record per
//     256-byte chunk); goal <= 2x openssl's time.
//  2. TD quote verifications per second (parse + verifyQuote: 2 ECDSA
//     signatures and an X509 chain of 3) against bare ECDSA P-256 verifies
//     per second in the same run.
//
//   tdx-bench [CVM_LAUNCH]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include <glib.h>
#include <openssl/evp.h>

#include "cvm/common/digest.h"
#include "cvm/common/file.h"
#include "cvm/tdx/mrtd.h"
#include "cvm/tdx/quote_verify.h"
#include "tdx_test_support.h"

using namespace cvm;
using namespace cvm::tdx;
namespace tt = cvm::test::tdx;

namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point a, Clock::time_point b)
{
	return std::chrono::duration<double>(b - a).count();
}

double medianOf(int runs, const std::function<void()> &f)
{
	f(); // warm caches
	std::vector<double> t;
	for (int i = 0; i < runs; ++i) {
		auto a = Clock::now();
		f();
		t.push_back(seconds(a, Clock::now()));
	}
	std::sort(t.begin(), t.end());
	return t[t.size() / 2];
}

// Operations per second of f over about `budget` seconds.
double rate(double budget, const std::function<void()> &f)
{
	f();
	size_t n = 0;
	auto a = Clock::now();
	while (seconds(a, Clock::now()) < budget) {
		f();
		++n;
	}
	return n / seconds(a, Clock::now());
}

void runProcess(const std::vector<std::string> &argv)
{
	std::vector<char *> args;
	for (const auto &s : argv)
		args.push_back(const_cast<char *>(s.c_str()));
	args.push_back(nullptr);
	gint status = 0;
	GError *err = nullptr;
	if (!g_spawn_sync(nullptr, args.data(), nullptr,
			  GSpawnFlags(G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL), nullptr, nullptr,
			  nullptr, nullptr, &status, &err) ||
	    !g_spawn_check_wait_status(status, nullptr)) {
		fprintf(stderr, "tdx-bench: %s failed\n", argv[0].c_str());
		exit(1);
	}
}

void benchImage(const char *label, const std::string &path, const std::string &cvmLaunch)
{
	auto probe = FileImage::open(path);
	if (!probe || !computeMrtd(*probe).ok()) {
		fprintf(stderr, "tdx-bench: %s: no MRTD, skipped\n", path.c_str());
		return;
	}
	double mrtd = medianOf(15, [&] {
		auto img = FileImage::open(path);
		if (!img || !computeMrtd(*img).ok())
			exit(1);
	});
	double sha = medianOf(15, [&] {
		if (!digestFile(DigestAlgorithm::Sha384, path).ok())
			exit(1);
	});
	printf("%-28s in-process  MRTD %.2fx SHA-384 of the file (goal <= 2x)  %s\n", label, mrtd / sha,
	       mrtd / sha <= 2.0 ? "met" : "NOT met");
	if (cvmLaunch.empty())
		return;
	double cli = medianOf(7, [&] { runProcess({ cvmLaunch, "tdx", "mrtd", "--firmware", path }); });
	double dgst = medianOf(7, [&] { runProcess({ "/usr/bin/openssl", "dgst", "-sha384", path }); });
	printf("%-28s processes   `cvm-launch tdx mrtd` %.2fx `openssl dgst -sha384` (goal <= 2x)  %s\n", label,
	       cli / dgst, cli / dgst <= 2.0 ? "met" : "NOT met");
}

std::string syntheticImage(const TempDir &dir)
{
	tt::ImageSpec spec;
	spec.size = 34u << 20;
	spec.descriptorOffset = spec.size - 16 * 1024;
	spec.sections = tt::qemuSections(0, 32u << 20, 32u << 20, 1u << 20);
	std::string path = dir.file("tdvf-32m.fd");
	if (!writeFileAtomic(path, tt::buildTdvfImage(spec)))
		exit(1);
	return path;
}

void benchQuotes()
{
	tt::TestPki pki = tt::makeTestPki();
	Bytes quote = tt::signWith(pki, tt::sampleQuote(4));
	QuoteVerifyOptions options;
	options.rootCaDer = pki.rootDer();
	options.atTime = tt::kTestNow;
	double quotes = rate(2.0, [&] {
		auto q = parseQuote(quote);
		if (!q || !verifyQuote(*q, options).ok())
			exit(1);
	});
	// The bare primitive: one ECDSA P-256/SHA-256 verification.
	Bytes message(600, 0x5a);
	EvpMdCtxPtr signCtx(EVP_MD_CTX_new());
	size_t sigLen = 80;
	Bytes sig(sigLen);
	EVP_DigestSignInit(signCtx.get(), nullptr, EVP_sha256(), nullptr, pki.attestationKey.get());
	EVP_DigestSign(signCtx.get(), sig.data(), &sigLen, message.data(), message.size());
	sig.resize(sigLen);
	double ecdsa = rate(2.0, [&] {
		EvpMdCtxPtr ctx(EVP_MD_CTX_new());
		EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, pki.attestationKey.get());
		if (EVP_DigestVerify(ctx.get(), sig.data(), sig.size(), message.data(), message.size()) != 1)
			exit(1);
	});
	printf("quote verification          %.0f quotes/s = %.2f ECDSA P-256 verifies each (%.0f verifies/s; "
	       "a quote verifies 4 ECDSA signatures: attestation key, QE report, PCK and intermediate certificates)\n",
	       quotes, ecdsa / quotes, ecdsa);
}

} // namespace

int main(int argc, char **argv)
{
	std::string cvmLaunch = argc > 1 ? argv[1] : "";
	auto dir = TempDir::create("cvm-tdx-bench-");
	if (!dir)
		return 1;
	if (g_file_test("/usr/share/ovmf/OVMF.fd", G_FILE_TEST_EXISTS))
		benchImage("OVMF.fd (2 MiB)", "/usr/share/ovmf/OVMF.fd", cvmLaunch);
	benchImage("synthetic TDVF (34 MiB)", syntheticImage(*dir), cvmLaunch);
	benchQuotes();
	return 0;
}
