// SPDX-License-Identifier: Apache-2.0
//
// The simulated platform's state directory: its chain verifies to its own
// exported test roots (sev/'s verifier) and not to AMD's real ones, the
// unsigned-CEK export with its stand-in KDS copy, keys kept 0600 and stable
// across restarts, damaged state refused.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <glib.h>

#include "cvm/sev/chain.h"
#include "cvm/sev/session.h"
#include "cvm/sev/trust.h"
#include "cvm/sim/platform.h"
#include "sim_test_support.h"
#include "test_support.h"

using namespace cvm;
using namespace cvm::sim;

namespace {

sev::PlatformChain chainOf(const Platform &p)
{
	auto c = sev::parsePlatformChain(p.pdhCert(), p.certChain());
	REQUIRE(c.ok());
	return std::move(c).value();
}

mode_t modeOf(const std::string &path)
{
	struct stat st {};
	REQUIRE(stat(path.c_str(), &st) == 0);
	return st.st_mode & 0777;
}

// One --unsigned-cek platform for the whole program (RSA-4096 keys are slow
// to make); destructive sections work on copies of its directory.
const std::string &unsignedStateDir()
{
	static TempDir dir = TempDir::create("cvm-sim-plat-").value();
	static std::string state = [] {
		PlatformInitOptions o;
		o.stateDir = dir.file("state");
		o.unsignedCek = true;
		REQUIRE(Platform::init(o).ok());
		return o.stateDir;
	}();
	return state;
}

void copyTree(const std::string &from, const std::string &to)
{
	REQUIRE(makeDirectories(to, 0700).ok());
	GDir *d = g_dir_open(from.c_str(), 0, nullptr);
	REQUIRE(d != nullptr);
	while (const char *name = g_dir_read_name(d)) {
		std::string src = from + "/" + name, dst = to + "/" + name;
		if (g_file_test(src.c_str(), G_FILE_TEST_IS_DIR)) {
			copyTree(src, dst);
			continue;
		}
		struct stat st {};
		REQUIRE(stat(src.c_str(), &st) == 0);
		REQUIRE(writeFileAtomic(dst, readFile(src).value(), st.st_mode & 0777).ok());
	}
	g_dir_close(d);
}

} // namespace

TEST_CASE("the sim's chain verifies to its exported test roots, not to AMD's")
{
	const Platform &p = sim::test::sharedPlatform();
	auto store = sev::TrustStore::load(p.stateDir() + "/roots", sev::TrustMode::AsGiven);
	REQUIRE(store.ok());
	REQUIRE(store->find(kTestRootGeneration) != nullptr);
	sev::ChainVerdict v = sev::verifyChain(chainOf(p), *store);
	CHECK(v.valid());
	CHECK(v.generation == kTestRootGeneration);

	// The same directory is not AMD's: as pinned roots it is refused.
	CHECK_FALSE(sev::TrustStore::load(p.stateDir() + "/roots", sev::TrustMode::Pinned).ok());
	cvm::test::requireFixtures();
	auto amd = sev::TrustStore::load(cvm::test::fixture("amd-sev/roots"), sev::TrustMode::Pinned);
	REQUIRE(amd.ok());
	sev::ChainVerdict real = sev::verifyChain(chainOf(p), *amd);
	CHECK_FALSE(real.valid());
	CHECK_FALSE(real.failure.empty());
}

TEST_CASE("the state directory: private keys 0600, the PDH stable across restarts")
{
	const Platform &p = sim::test::sharedPlatform();
	for (const char *k : { "ark", "ask", "cek", "oca", "pek", "pdh" })
		CHECK(modeOf(p.stateDir() + "/keys/" + k + ".pem") == 0600);
	CHECK(modeOf(p.stateDir() + "/keys") == 0700);
	auto again = Platform::load(p.stateDir());
	REQUIRE(again.ok());
	CHECK((*again)->pdhCert() == p.pdhCert());
	CHECK((*again)->certChain() == p.certChain());
	CHECK((*again)->identity().chipId == p.identity().chipId);
	CHECK(EVP_PKEY_eq((*again)->pdhPrivateKey(), p.pdhPrivateKey()) == 1);
	// A session made for the exported PDH opens with the reloaded key.
	auto owner = sev::startSessionWithPdhCert(p.pdhCert(), 0x1).value();
	CHECK(sev::openSessionWithGodhCert((*again)->pdhPrivateKey(), owner.godhCert, owner.session.serialize(), 0x1)
		      .ok());
}

TEST_CASE("--unsigned-cek: the exported CEK is unsigned, the KDS copy makes it verify")
{
	auto dir = TempDir::create("cvm-sim-plat-").value();
	PlatformInitOptions o;
	o.stateDir = dir.file("state");
	o.unsignedCek = true;
	copyTree(unsignedStateDir(), o.stateDir);
	auto p = Platform::load(o.stateDir);
	REQUIRE(p.ok());
	sev::PlatformChain chain = chainOf(**p);
	CHECK(chain.cek.isUnsigned());
	auto store = sev::TrustStore::load(o.stateDir + "/roots", sev::TrustMode::AsGiven).value();
	std::string chip = toHex((*p)->identity().chipId);
	sev::ChainOptions opts;
	opts.chipIdHex = chip;
	CHECK(sev::verifyChain(chain, store, opts).status == sev::ChainStatus::CekUnsigned);
	auto cached = sev::loadCachedCek(o.stateDir + "/kds", chip);
	REQUIRE(cached.ok());
	REQUIRE(cached->has_value());
	opts.signedCek = &**cached;
	CHECK(sev::verifyChain(chain, store, opts).valid());
	CHECK(Platform::load(o.stateDir).ok());

	SECTION("refuses to overwrite, unless forced")
	{
		CHECK(Platform::init(o).error().code() == ErrorCode::Conflict);
		o.force = true;
		o.unsignedCek = false;
		auto fresh = Platform::init(o);
		REQUIRE(fresh.ok());
		CHECK((*fresh)->pdhCert() != (*p)->pdhCert());
	}
	SECTION("a damaged state directory is refused at load")
	{
		Bytes pdh = (*p)->pdhCert();
		pdh[0x20] ^= 1; // the PDH's public key: no longer the stored private key's
		REQUIRE(writeFileAtomic(o.stateDir + "/certs/pdh.cert", pdh).ok());
		CHECK_FALSE(Platform::load(o.stateDir).ok());
	}
	SECTION("a private key readable by others is refused")
	{
		REQUIRE(chmod((o.stateDir + "/keys/pdh.pem").c_str(), 0644) == 0);
		auto r = Platform::load(o.stateDir);
		REQUIRE_FALSE(r.ok());
		CHECK(r.error().code() == ErrorCode::PermissionDenied);
	}
	SECTION("a signature swapped for another key's is refused at load")
	{
		REQUIRE(writeFileAtomic(o.stateDir + "/kds/" + chip + ".cert", (*p)->pekCert()).ok());
		CHECK_FALSE(Platform::load(o.stateDir).ok());
	}
}

TEST_CASE("a directory that is not a simulator state directory")
{
	auto dir = TempDir::create("cvm-sim-plat-").value();
	auto r = Platform::load(dir.path());
	REQUIRE_FALSE(r.ok());
	CHECK(r.error().message().find("cvm-sev-sim init --state-dir") != std::string::npos);
	REQUIRE(writeFileAtomic(dir.file("platform.ini"), asBytes("[platform]\napi-major=900\n")).ok());
	CHECK_FALSE(Platform::load(dir.path()).ok());
}
