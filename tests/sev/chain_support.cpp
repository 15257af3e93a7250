// SPDX-License-Identifier: Apache-2.0
#include "chain_support.h"

#include <filesystem>

#include <catch2/catch.hpp>

#include "cvm/sev/kdf.h"
#include "test_support.h"

namespace cvm::sev::test {

Bytes naplesCert(const std::string &name)
{
	return cvm::test::readFixture("amd-sev/naples-platform/" + name + ".cert");
}

PlatformChain naplesChain()
{
	return makePlatformChain(naplesCert("pdh"), naplesCert("pek"), naplesCert("oca"), naplesCert("cek")).value();
}

std::string amdRootsDir()
{
	return cvm::test::fixture("amd-sev/roots");
}

AmdCert amdRoot(const std::string &generation, const std::string &name)
{
	return AmdCert::parse(cvm::test::readFixture("amd-sev/roots/" + generation + "/" + name + ".cert")).value();
}

TrustStore amdStore()
{
	return TrustStore::load(amdRootsDir(), TrustMode::Pinned).value();
}

AmdRoots Hierarchy::roots(const std::string &generation) const
{
	return makeRoots(generation, ark, ask, TrustMode::AsGiven, "test hierarchy").value();
}

Hierarchy makeHierarchy(unsigned amdBits)
{
	EvpPkeyPtr arkKey = generateRsaKey(amdBits).value();
	EvpPkeyPtr askKey = generateRsaKey(amdBits).value();
	AmdKeyId arkId{ 0xa1, 0x4c }, askId{ 0xa5, 0x4c };
	AmdCert ark = AmdCert::create(arkId, arkId, KeyUsage::Ark, arkKey.get()).value();
	REQUIRE(ark.sign(arkKey.get()).ok());
	AmdCert ask = AmdCert::create(askId, arkId, KeyUsage::Ask, askKey.get()).value();
	REQUIRE(ask.sign(arkKey.get()).ok());

	EvpPkeyPtr cekKey = generateP384Key().value(), ocaKey = generateP384Key().value();
	EvpPkeyPtr pekKey = generateP384Key().value(), pdhKey = generateP384Key().value();
	SevCert cek = SevCert::create(KeyUsage::Cek, Algorithm::EcdsaSha256, cekKey.get(), 0, 24).value();
	REQUIRE(cek.signWithAsk(askKey.get()).ok());
	SevCert oca = SevCert::create(KeyUsage::Oca, Algorithm::EcdsaSha256, ocaKey.get(), 0, 24).value();
	REQUIRE(oca.signWith(oca, ocaKey.get()).ok());
	SevCert pek = SevCert::create(KeyUsage::Pek, Algorithm::EcdsaSha256, pekKey.get(), 0, 24).value();
	REQUIRE(pek.signWith(oca, ocaKey.get()).ok());
	REQUIRE(pek.signWith(cek, cekKey.get()).ok());
	SevCert pdh = SevCert::create(KeyUsage::Pdh, Algorithm::EcdhSha256, pdhKey.get(), 0, 24).value();
	REQUIRE(pdh.signWith(pek, pekKey.get()).ok());
	return Hierarchy{ std::move(arkKey), std::move(askKey), std::move(cekKey), std::move(ocaKey),
			  std::move(pekKey), std::move(pdhKey), std::move(ark), std::move(ask),
			  std::move(cek), std::move(oca), std::move(pek), std::move(pdh) };
}

const Hierarchy &sharedHierarchy()
{
	static const Hierarchy h = makeHierarchy();
	return h;
}

void writeCert(const std::string &dir, const std::string &name, ByteView raw)
{
	std::filesystem::create_directories(dir);
	REQUIRE(writeFileAtomic(dir + "/" + name + ".cert", raw).ok());
}

void writeRoots(const std::string &dir, const std::string &generation, const AmdCert &ark, const AmdCert &ask)
{
	writeCert(dir + "/" + generation, "ark", ark.bytes());
	writeCert(dir + "/" + generation, "ask", ask.bytes());
}

} // namespace cvm::sev::test
