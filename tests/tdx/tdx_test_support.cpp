// SPDX-License-Identifier: Apache-2.0
#include "tdx_test_support.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "cvm/tdx/quote_sign.h"

namespace cvm::test::tdx {

using namespace cvm::tdx;

namespace {

[[noreturn]] void die(const char *what)
{
	fprintf(stderr, "tdx test support: %s failed\n", what);
	abort();
}

EvpPkeyPtr newKey()
{
	EvpPkeyPtr key(EVP_EC_gen("P-256"));
	if (!key)
		die("EVP_EC_gen");
	return key;
}

void addExt(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
	if (!ext || !X509_add_ext(cert, ext, -1))
		die("X509_add_ext");
	X509_EXTENSION_free(ext);
}

X509Ptr makeCert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuerKey, bool ca, long serial,
		 int64_t notBefore, int64_t notAfter)
{
	X509Ptr cert(X509_new());
	X509_set_version(cert.get(), 2);
	ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
	ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(notBefore));
	ASN1_TIME_set(X509_getm_notAfter(cert.get()), static_cast<time_t>(notAfter));
	X509_set_pubkey(cert.get(), key);
	X509_NAME *name = X509_get_subject_name(cert.get());
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char *>("cvm-launch tests"),
				   -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char *>(cn), -1, -1, 0);
	X509 *iss = issuer ? issuer : cert.get();
	X509_set_issuer_name(cert.get(), X509_get_subject_name(iss));
	addExt(cert.get(), iss, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	addExt(cert.get(), iss, NID_key_usage, ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
	addExt(cert.get(), iss, NID_subject_key_identifier, "hash");
	addExt(cert.get(), iss, NID_authority_key_identifier, "keyid");
	if (!X509_sign(cert.get(), issuerKey ? issuerKey : key, EVP_sha256()))
		die("X509_sign");
	return cert;
}

template<size_t N>
void fillPattern(std::array<uint8_t, N> &a, uint8_t seed)
{
	for (size_t i = 0; i < N; ++i)
		a[i] = static_cast<uint8_t>(seed + i);
}

const Guid &guid(const char *text)
{
	static thread_local Guid g;
	g = Guid::parse(text).value();
	return g;
}

void appendEntry(Bytes &table, const char *guidText, ByteView data)
{
	append(table, data);
	appendLe16(table, static_cast<uint16_t>(data.size() + 18));
	append(table, guid(guidText).bytes);
}

} // namespace

std::string TestPki::pem(X509 *cert) const
{
	std::unique_ptr<BIO, OsslFree<BIO, BIO_free_all>> bio(BIO_new(BIO_s_mem()));
	if (!bio || !PEM_write_bio_X509(bio.get(), cert))
		die("PEM_write_bio_X509");
	char *data = nullptr;
	long len = BIO_get_mem_data(bio.get(), &data);
	return std::string(data, static_cast<size_t>(len));
}

std::string TestPki::chainPem() const
{
	return pem(pck.get()) + (intermediate ? pem(intermediate.get()) : std::string()) + pem(root.get());
}

Bytes TestPki::rootDer() const
{
	unsigned char *der = nullptr;
	int len = i2d_X509(root.get(), &der);
	if (len <= 0)
		die("i2d_X509");
	Bytes out(der, der + len);
	OPENSSL_free(der);
	return out;
}

TestPki makeTestPki(const PkiOptions &o)
{
	TestPki pki;
	pki.rootKey = newKey();
	pki.intermediateKey = newKey();
	pki.pckKey = newKey();
	pki.attestationKey = newKey();
	pki.root = makeCert(pki.rootKey.get(), "Test SGX Root CA", nullptr, nullptr, true, 1, o.notBefore, o.notAfter);
	pki.intermediate = makeCert(pki.intermediateKey.get(), "Test SGX PCK Platform CA", pki.root.get(),
				    pki.rootKey.get(), true, 2, o.notBefore, o.notAfter);
	X509 *leafIssuer = o.leafSignedByRoot ? pki.root.get() : pki.intermediate.get();
	EVP_PKEY *leafIssuerKey = o.leafSignedByRoot ? pki.rootKey.get() : pki.intermediateKey.get();
	pki.pck = makeCert(pki.pckKey.get(), "Test SGX PCK Certificate", leafIssuer, leafIssuerKey, o.leafIsCa, 3,
			   o.leafNotBefore ? o.leafNotBefore : o.notBefore, o.leafNotAfter ? o.leafNotAfter : o.notAfter);
	if (o.leafSignedByRoot)
		pki.intermediate.reset();
	return pki;
}

Quote sampleQuote(uint16_t version, uint16_t bodyType)
{
	Quote q;
	q.header.version = version;
	q.header.qeVendorId = quote::kIntelQeVendorId;
	fillPattern(q.header.userData, 0xa0);
	q.bodyType = version == quote::kVersion4 ? quote::kBodyTypeTdx10 : bodyType;
	TdReportBody &b = q.body;
	fillPattern(b.teeTcbSvn, 0x01);
	fillPattern(b.mrSeam, 0x10);
	b.tdAttributes = tdattr::kSeptVeDisable;
	b.xfam = 0xe7;
	fillPattern(b.mrTd, 0x20);
	fillPattern(b.mrConfigId, 0x30);
	fillPattern(b.mrOwner, 0x40);
	fillPattern(b.mrOwnerConfig, 0x50);
	for (size_t i = 0; i < 4; ++i)
		fillPattern(b.rtmr[i], static_cast<uint8_t>(0x60 + 0x10 * i));
	fillPattern(b.reportData, 0xc0);
	if (q.bodyType == quote::kBodyTypeTdx15) {
		b.teeTcbSvn2.emplace();
		fillPattern(*b.teeTcbSvn2, 0xd0);
		b.mrServiceTd.emplace();
		fillPattern(*b.mrServiceTd, 0xe0);
	}
	fillPattern(q.qeReport.cpuSvn, 0x05);
	fillPattern(q.qeReport.mrEnclave, 0x70);
	fillPattern(q.qeReport.mrSigner, 0x80);
	q.qeReport.isvProdId = 2;
	q.qeReport.isvSvn = 8;
	q.qeAuthData.resize(32);
	for (size_t i = 0; i < q.qeAuthData.size(); ++i)
		q.qeAuthData[i] = static_cast<uint8_t>(i);
	return q;
}

Bytes signWith(const TestPki &pki, const Quote &quote)
{
	QuoteSigner signer{ pki.attestationKey.get(), pki.pckKey.get(), pki.chainPem() };
	auto bytes = signQuote(quote, signer);
	if (!bytes)
		die(bytes.error().message().c_str());
	return *bytes;
}

Bytes buildTdvfImage(const ImageSpec &spec)
{
	Bytes img(spec.size);
	for (size_t i = 0; i < img.size(); ++i)
		img[i] = static_cast<uint8_t>(i * 7 + (i >> 8));

	Bytes md;
	append(md, asBytes("TDVF"));
	appendLe32(md, static_cast<uint32_t>(16 + 32 * spec.sections.size() + spec.lengthAdjust));
	appendLe32(md, spec.version);
	appendLe32(md, static_cast<uint32_t>(spec.sections.size()));
	for (const auto &s : spec.sections) {
		appendLe32(md, s.dataOffset);
		appendLe32(md, s.rawDataSize);
		appendLe64(md, s.memoryAddress);
		appendLe64(md, s.memoryDataSize);
		appendLe32(md, s.type);
		appendLe32(md, s.attributes);
	}
	// Clipped: some tests put the descriptor where its entries cannot fit.
	std::memcpy(img.data() + spec.descriptorOffset, md.data(),
		    std::min(md.size(), spec.size - spec.descriptorOffset));
	if (spec.metadataGuid)
		std::memcpy(img.data() + spec.descriptorOffset - 16,
			    guid("e9eaf9f3-168e-44d5-a8eb-7f4d8738f6ae").bytes.data(), 16);

	if (!spec.ovmfTable) {
		storeLe32(img, spec.size - 0x20, static_cast<uint32_t>(spec.descriptorOffset));
		return img;
	}
	Bytes table;
	appendEntry(table, "4c2eb361-7d9b-4cc3-8081-127c90d3d294", Bytes(8, 0)); // SEV secret (unrelated)
	Bytes offsetData(spec.offsetEntryDataSize, 0);
	if (offsetData.size() >= 4)
		storeLe32(offsetData, 0, static_cast<uint32_t>(spec.size - spec.descriptorOffset));
	appendEntry(table, "e47a6535-984a-4798-865e-4685a7bf8ec2", offsetData);
	appendLe16(table, static_cast<uint16_t>(table.size() + 18));
	append(table, guid("96b582de-1fb2-45f7-baea-a366c55a082d").bytes);
	std::memcpy(img.data() + spec.size - 32 - table.size(), table.data(), table.size());
	return img;
}

std::vector<NamedImage> crossCheckImages()
{
	auto small = [] {
		ImageSpec spec;
		spec.size = 16 * 1024;
		spec.descriptorOffset = 12 * 1024;
		spec.sections = qemuSections(0, 0x2000, 0x2000, 0x1000);
		return spec;
	};
	ImageSpec shim = small();
	shim.ovmfTable = false;
	ImageSpec aug = small();
	aug.sections[3].attributes = tdvf::kAttrPageAug;
	ImageSpec padded = small();
	padded.sections[0].rawDataSize = 0x1000;
	ImageSpec noGuid = small();
	noGuid.metadataGuid = false;
	return { { "ovmf-table", buildTdvfImage(small()) },
		 { "td-shim-pointer", buildTdvfImage(shim) },
		 { "page-aug", buildTdvfImage(aug) },
		 { "raw-shorter-than-memory", buildTdvfImage(padded) },
		 { "no-metadata-guid", buildTdvfImage(noGuid) } };
}

std::vector<TdvfSection> qemuSections(uint32_t bfvOffset, uint32_t bfvSize, uint32_t cfvOffset, uint32_t cfvSize)
{
	return {
		{ bfvOffset, bfvSize, 0xfffc0000, bfvSize, tdvf::kTypeBfv, tdvf::kAttrMrExtend },
		{ cfvOffset, cfvSize, 0xffb00000, cfvSize, tdvf::kTypeCfv, 0 },
		{ 0, 0, 0x809000, 0x2000, tdvf::kTypeTdHob, 0 },
		{ 0, 0, 0x800000, 0x6000, tdvf::kTypeTempMem, 0 },
	};
}

Bytes digestOf(uint16_t alg, ByteView data)
{
	const EVP_MD *md = alg == 0x0004 ? EVP_sha1()
			 : alg == 0x000b ? EVP_sha256()
			 : alg == 0x000c ? EVP_sha384()
			 : alg == 0x000d ? EVP_sha512()
					 : nullptr;
	if (!md)
		die("digestOf: unknown algorithm");
	Bytes out(EVP_MD_get_size(md));
	unsigned int len = 0;
	if (EVP_Digest(data.data(), data.size(), out.data(), &len, md, nullptr) != 1)
		die("EVP_Digest");
	return out;
}

EventLogBuilder::EventLogBuilder(std::vector<std::pair<uint16_t, uint16_t>> algorithms, uint32_t specIdIndex)
	: algorithms_(std::move(algorithms))
{
	Bytes spec;
	append(spec, ByteView(reinterpret_cast<const uint8_t *>("Spec ID Event03"), 16));
	appendLe32(spec, 0); // platform class
	spec.push_back(0);   // spec version minor
	spec.push_back(2);   // spec version major
	spec.push_back(0);   // errata
	spec.push_back(2);   // uintn size
	appendLe32(spec, static_cast<uint32_t>(algorithms_.size()));
	for (const auto &[id, size] : algorithms_) {
		appendLe16(spec, id);
		appendLe16(spec, size);
	}
	spec.push_back(0); // vendor info size
	appendLe32(log_, specIdIndex);
	appendLe32(log_, 3); // EV_NO_ACTION
	log_.insert(log_.end(), 20, 0);
	appendLe32(log_, static_cast<uint32_t>(spec.size()));
	append(log_, spec);
}

EventLogBuilder &EventLogBuilder::add(uint32_t mrIndex, uint32_t type, ByteView data, std::vector<uint16_t> only)
{
	std::vector<std::pair<uint16_t, Bytes>> digests;
	for (const auto &[id, size] : algorithms_)
		if (only.empty() || std::find(only.begin(), only.end(), id) != only.end())
			digests.emplace_back(id, digestOf(id, data));
	return addRaw(mrIndex, type, digests, data);
}

EventLogBuilder &EventLogBuilder::addRaw(uint32_t mrIndex, uint32_t type,
					 const std::vector<std::pair<uint16_t, Bytes>> &digests, ByteView data)
{
	appendLe32(log_, mrIndex);
	appendLe32(log_, type);
	appendLe32(log_, static_cast<uint32_t>(digests.size()));
	for (const auto &[id, d] : digests) {
		appendLe16(log_, id);
		append(log_, d);
	}
	appendLe32(log_, static_cast<uint32_t>(data.size()));
	append(log_, data);
	return *this;
}

Bytes EventLogBuilder::bytes(size_t padTo, uint8_t fill) const
{
	Bytes out = log_;
	if (out.size() < padTo)
		out.resize(padTo, fill);
	return out;
}

Bytes buildCcelTable(uint64_t laml, uint8_t ccType)
{
	Bytes t(56, 0);
	std::memcpy(t.data(), "CCEL", 4);
	storeLe32(t, 4, 56);
	t[8] = 1;
	std::memcpy(t.data() + 10, "CVMTST", 6);
	std::memcpy(t.data() + 16, "TESTTABL", 8);
	storeLe32(t, 24, 1);
	std::memcpy(t.data() + 28, "CVML", 4);
	storeLe32(t, 32, 1);
	t[36] = ccType;
	storeLe64(t, 40, laml);
	storeLe64(t, 48, 0x7f000000);
	uint8_t sum = 0;
	for (uint8_t b : t)
		sum = static_cast<uint8_t>(sum + b);
	t[9] = static_cast<uint8_t>(0x100 - sum);
	return t;
}

} // namespace cvm::test::tdx
