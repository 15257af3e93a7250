// SPDX-License-Identifier: Apache-2.0
//
// bench/sev chain: what verifying the real Naples platform chain costs
// through sev/ (verifyChain on certificates parsed once; parse + verify each
// time) against the bare cryptography measured in the same run: one RSA-PSS
// and four ECDSA verifications through EVP on keys and DER signatures built
// beforehand. Prints ratios only.
//
//   chain-bench FIXTURES_DIR [ITERATIONS]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

#include <openssl/rsa.h>

#include "cvm/common/file.h"
#include "cvm/sev/chain.h"

using namespace cvm;
using namespace cvm::sev;

namespace {

double seconds(const std::function<void()> &f, int n)
{
	auto start = std::chrono::steady_clock::now();
	for (int i = 0; i < n; ++i)
		f();
	return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// A pre-built EVP verification: key, hash, message, DER/BE signature.
struct RawCheck {
	EVP_PKEY *key;
	const EVP_MD *md;
	Bytes message;
	Bytes signature;
	bool pss;

	bool run() const
	{
		EvpMdCtxPtr ctx(EVP_MD_CTX_new());
		EVP_PKEY_CTX *pctx = nullptr;
		if (EVP_DigestVerifyInit(ctx.get(), &pctx, md, nullptr, key) != 1)
			return false;
		if (pss && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
			    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))
			return false;
		return EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(),
					message.size()) == 1;
	}
};

Bytes ecdsaDer(const SevCert &c, size_t slot)
{
	ByteView field = ByteView(c.bytes()).subspan(slot == 0 ? 0x41c : 0x624, 144);
	EcdsaSigPtr sig(ECDSA_SIG_new());
	ECDSA_SIG_set0(sig.get(), BN_lebin2bn(field.data(), 72, nullptr), BN_lebin2bn(field.data() + 72, 72, nullptr));
	unsigned char *der = nullptr;
	int len = i2d_ECDSA_SIG(sig.get(), &der);
	Bytes out(der, der + len);
	OPENSSL_free(der);
	return out;
}

Bytes body(const SevCert &c)
{
	return Bytes(c.body().begin(), c.body().end());
}

} // namespace

int main(int argc, char **argv)
{
	if (argc < 2)
		return fprintf(stderr, "usage: chain-bench FIXTURES_DIR [ITERATIONS]\n"), 2;
	std::string f = std::string(argv[1]) + "/amd-sev/";
	int n = argc > 2 ? atoi(argv[2]) : 300;
	auto load = [&](const std::string &p) { return readFile(f + p).value(); };
	Bytes pdh = load("naples-platform/pdh.cert"), pek = load("naples-platform/pek.cert");
	Bytes oca = load("naples-platform/oca.cert"), cek = load("naples-platform/cek.cert");
	AmdRoots roots = makeRoots("naples", AmdCert::parse(load("roots/naples/ark.cert")).value(),
				   AmdCert::parse(load("roots/naples/ask.cert")).value(), TrustMode::Pinned, f)
				 .value();
	PlatformChain chain = makePlatformChain(pdh, pek, oca, cek).value();

	ByteView cekSig = ByteView(chain.cek.bytes()).subspan(0x41c, 256);
	const RawCheck raw[] = {
		{ roots.ask.publicKey(), EVP_sha256(), body(chain.cek), Bytes(cekSig.rbegin(), cekSig.rend()), true },
		{ chain.oca.publicKey(), EVP_sha256(), body(chain.oca), ecdsaDer(chain.oca, 0), false },
		{ chain.oca.publicKey(), EVP_sha256(), body(chain.pek), ecdsaDer(chain.pek, *chain.pek.slotFor(KeyUsage::Oca)), false },
		{ chain.cek.publicKey(), EVP_sha256(), body(chain.pek), ecdsaDer(chain.pek, *chain.pek.slotFor(KeyUsage::Cek)), false },
		{ chain.pek.publicKey(), EVP_sha256(), body(chain.pdh), ecdsaDer(chain.pdh, 0), false },
	};
	for (const RawCheck &c : raw)
		if (!c.run())
			return fprintf(stderr, "baseline verification failed\n"), 1;
	if (!verifyChain(chain, roots).valid())
		return fprintf(stderr, "chain does not verify\n"), 1;

	bool ok = true;
	auto baseline = [&] { for (const RawCheck &c : raw) ok &= c.run(); };
	auto onParsed = [&] { ok &= verifyChain(chain, roots).valid(); };
	auto parseVerify = [&] { ok &= verifyChain(makePlatformChain(pdh, pek, oca, cek).value(), roots).valid(); };
	auto parseOnly = [&] { ok &= makePlatformChain(pdh, pek, oca, cek).ok(); };
	// Interleaved rounds, best of each: the machine is shared and noisy.
	double best[4] = { 1e9, 1e9, 1e9, 1e9 };
	const std::function<void()> runs[4] = { baseline, onParsed, parseVerify, parseOnly };
	for (int round = 0; round < 5; ++round)
		for (int i = 0; i < 4; ++i)
			best[i] = std::min(best[i], seconds(runs[i], n / 5 + 1));
	double base = best[0], parsed = best[1], full = best[2], parseAlone = best[3];
	if (!ok)
		return fprintf(stderr, "a verification failed during the run\n"), 1;
	printf("sev chain (%d iterations, Naples chain, baseline = 1 RSA-PSS + 4 ECDSA verifies through bare EVP):\n", n);
	printf("  verifyChain on parsed certificates : %.2fx the baseline's time (goal <= 1.2x)\n", parsed / base);
	printf("  parse + verifyChain                : %.2fx\n", full / base);
	printf("  parse alone                        : %.2fx\n", parseAlone / base);
	return 0;
}
