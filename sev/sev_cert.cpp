// SPDX-License-Identifier: Apache-2.0
//
// Parsing, writing and signing SEV certificates, and checking one signature
// slot. Every field is read through the layout table in sev_cert_layout.h.
#include "cvm/sev/cert.h"

#include <algorithm>

#include "cvm/common/digest.h"
#include "cvm/sev/amd_cert.h"
#include "cvm/sev/kdf.h"

#include "sev_cert_layout.h"

namespace cvm::sev {

namespace L = layout::sevcert;

namespace {

Error invalid(const std::string &why)
{
	return Error(ErrorCode::InvalidData, "SEV certificate: " + why);
}

bool allZero(ByteView v)
{
	return std::all_of(v.begin(), v.end(), [](uint8_t b) { return b == 0; });
}

bool isSignerUsage(KeyUsage u)
{
	return u == KeyUsage::Ask || u == KeyUsage::Oca || u == KeyUsage::Pek || u == KeyUsage::Cek;
}

Status checkUsageAndAlgorithm(KeyUsage usage, Algorithm algorithm)
{
	if (usage == KeyUsage::Ark || usage == KeyUsage::Ask || usage == KeyUsage::Invalid)
		return invalid(std::string("key usage ") + usageName(usage) + " is not a SEV certificate usage");
	if (algorithm == Algorithm::Invalid)
		return invalid("key algorithm 0 (none)");
	if (usage == KeyUsage::Pdh && !isEcdh(algorithm))
		return invalid(std::string("a PDH key must be ECDH, not ") + algorithmName(algorithm));
	if (usage != KeyUsage::Pdh && !canSign(algorithm))
		return invalid(std::string("a ") + usageName(usage) + " key must sign, not be " + algorithmName(algorithm));
	return {};
}

Result<EvpPkeyPtr> decodeRsaKey(ByteView raw)
{
	uint32_t bits = loadLe32(raw, L::kRsaModulusBits.offset);
	if (bits != 2048 && bits != 4096)
		return invalid("RSA modulus size " + std::to_string(bits) + " bits (2048 or 4096 allowed)");
	ByteView exponent = slice(raw, L::kRsaExponent), modulus = slice(raw, L::kRsaModulus);
	size_t n = bits / 8;
	if (!allZero(exponent.subspan(n)) || !allZero(modulus.subspan(n)))
		return invalid("RSA key has non-zero bytes beyond its " + std::to_string(bits) + " bits");
	auto key = rsaPublicKeyFromLe(modulus.first(n), exponent.first(n), bits);
	if (!key)
		return invalid(key.error().message());
	return std::move(key).value();
}

Result<EvpPkeyPtr> decodeEcKey(ByteView raw)
{
	uint32_t curve = loadLe32(raw, L::kEcCurve.offset);
	if (curve != static_cast<uint32_t>(Curve::P384))
		return invalid("curve " + std::to_string(curve) + " (only P-384, 2, is allowed)");
	// Real certificates (the Naples chain in the fixtures) and everything
	// the firmware writes have zeros here.
	if (!allZero(slice(raw, L::kEcReserved)))
		return invalid("EC key has non-zero bytes in its reserved area (after Qy)");
	auto key = p384PublicKeyFromLe(slice(raw, L::kEcQx), slice(raw, L::kEcQy));
	if (!key)
		return invalid(key.error().message());
	return std::move(key).value();
}

Status encodePublicKey(MutableByteView raw, Algorithm algorithm, EVP_PKEY *key)
{
	if (isRsa(algorithm)) {
		unsigned bits = keyBits(key);
		if (!isRsaKey(key) || (bits != 2048 && bits != 4096))
			return Error(ErrorCode::InvalidArgument, "an RSA algorithm needs a 2048- or 4096-bit RSA key");
		RsaComponentsLe c = CVM_TRY(rsaComponentsLe(key, L::kRsaModulus.size));
		storeLe32(raw, L::kRsaModulusBits.offset, bits);
		storeBytes(raw, L::kRsaExponent.offset, c.exponent);
		storeBytes(raw, L::kRsaModulus.offset, c.modulus);
		return {};
	}
	if (!isP384Key(key))
		return Error(ErrorCode::InvalidArgument, "an EC algorithm needs a P-384 key");
	P384Point q = CVM_TRY(p384PointLe(key));
	storeLe32(raw, L::kEcCurve.offset, static_cast<uint32_t>(Curve::P384));
	storeBytes(raw, L::kEcQx.offset, q.qx);
	storeBytes(raw, L::kEcQy.offset, q.qy);
	return {};
}

// The bytes of a slot's signature field that a signature of `algorithm`
// does not use: all of it for an empty slot, what follows R and S for ECDSA,
// what follows the 256 bytes of an RSA-2048 signature (RSA-SHA256 is the
// 2048-bit ASK's, RSA-SHA384 the 4096-bit one's, which fills the field).
size_t usedSignatureBytes(Algorithm algorithm)
{
	if (algorithm == Algorithm::Invalid)
		return 0;
	if (isEcdsa(algorithm))
		return L::kEcdsaS.end();
	return algorithm == Algorithm::RsaSha256 ? 2048 / 8 : L::kSlots[0].signature.size;
}

void writeSlot(MutableByteView raw, size_t index, KeyUsage usage, Algorithm algorithm, ByteView signature)
{
	const L::SlotLayout &s = L::kSlots[index];
	storeLe32(raw, s.usage.offset, static_cast<uint32_t>(usage));
	storeLe32(raw, s.algorithm.offset, static_cast<uint32_t>(algorithm));
	std::fill_n(raw.begin() + s.signature.offset, s.signature.size, 0);
	storeBytes(raw, s.signature.offset, signature);
}

} // namespace

Algorithm rsaAlgorithmForBits(unsigned bits)
{
	return bits > 2048 ? Algorithm::RsaSha384 : Algorithm::RsaSha256;
}

Result<SevCert> SevCert::parse(ByteView raw)
{
	if (raw.size() != kSevCertificateSize)
		return invalid("must be " + std::to_string(kSevCertificateSize) + " bytes, not " +
			       std::to_string(raw.size()));
	if (uint32_t v = loadLe32(raw, L::kVersion.offset); v != L::kVersion1)
		return invalid("version " + std::to_string(v) + " (only version 1 exists)");
	uint32_t usageWire = loadLe32(raw, L::kPubkeyUsage.offset);
	uint32_t algoWire = loadLe32(raw, L::kPubkeyAlgo.offset);
	auto usage = keyUsageFromWire(usageWire);
	auto algorithm = algorithmFromWire(algoWire);
	if (!usage)
		return invalid("unknown key usage " + wireHex(usageWire));
	if (!algorithm)
		return invalid("unknown key algorithm " + wireHex(algoWire));
	CVM_CHECK(checkUsageAndAlgorithm(*usage, *algorithm));

	SevCert cert;
	cert.raw_.assign(raw.begin(), raw.end());
	cert.usage_ = *usage;
	cert.algorithm_ = *algorithm;
	auto key = isRsa(*algorithm) ? decodeRsaKey(raw) : decodeEcKey(raw);
	if (!key)
		return std::move(key).error();
	cert.key_ = SharedPkey(std::move(key).value());
	CVM_CHECK(cert.decodeSlots());
	return cert;
}

Status SevCert::decodeSlots()
{
	for (size_t i = 0; i < 2; ++i) {
		const L::SlotLayout &s = L::kSlots[i];
		std::string name = "signature slot " + std::to_string(i + 1) + ": ";
		uint32_t usageWire = loadLe32(raw_, s.usage.offset);
		uint32_t algoWire = loadLe32(raw_, s.algorithm.offset);
		auto usage = keyUsageFromWire(usageWire);
		auto algorithm = algorithmFromWire(algoWire);
		if (!usage)
			return invalid(name + "unknown usage " + wireHex(usageWire));
		if (!algorithm)
			return invalid(name + "unknown algorithm " + wireHex(algoWire));
		if ((*usage == KeyUsage::Invalid) != (*algorithm == Algorithm::Invalid))
			return invalid(name + "usage " + wireHex(usageWire) + " with algorithm " + wireHex(algoWire) +
				       " (an empty slot is usage 0x1000 with algorithm 0)");
		if (*usage != KeyUsage::Invalid) {
			if (!isSignerUsage(*usage))
				return invalid(name + "a " + usageName(*usage) + " key does not sign SEV certificates");
			if (!canSign(*algorithm))
				return invalid(name + algorithmName(*algorithm) + " is not a signature algorithm");
		}
		size_t used = usedSignatureBytes(*algorithm);
		if (!allZero(slice(raw_, s.signature).subspan(used)))
			return invalid(name + (used == 0 ? std::string("an empty slot holds signature bytes")
							 : "non-zero bytes after the " + std::to_string(used) + "-byte " +
								   algorithmName(*algorithm) + " signature"));
		slots_[i] = { *usage, *algorithm };
	}
	if (!slots_[0].empty() && slots_[0].usage == slots_[1].usage)
		return invalid(std::string("two signature slots of the same signer (") + usageName(slots_[0].usage) + ")");
	return {};
}

Result<SevCert> SevCert::create(KeyUsage usage, Algorithm algorithm, EVP_PKEY *publicKey, uint8_t apiMajor,
				uint8_t apiMinor)
{
	if (auto st = checkUsageAndAlgorithm(usage, algorithm); !st)
		return Error(ErrorCode::InvalidArgument, st.error().message());
	SevCert cert;
	cert.raw_.assign(kSevCertificateSize, 0);
	storeLe32(cert.raw_, L::kVersion.offset, L::kVersion1);
	cert.raw_[L::kApiMajor.offset] = apiMajor;
	cert.raw_[L::kApiMinor.offset] = apiMinor;
	storeLe32(cert.raw_, L::kPubkeyUsage.offset, static_cast<uint32_t>(usage));
	storeLe32(cert.raw_, L::kPubkeyAlgo.offset, static_cast<uint32_t>(algorithm));
	CVM_CHECK(encodePublicKey(cert.raw_, algorithm, publicKey));
	for (size_t i = 0; i < 2; ++i)
		writeSlot(cert.raw_, i, KeyUsage::Invalid, Algorithm::Invalid, {});
	// Re-read what was written: the key is rebuilt from the wire bytes, so the
	// certificate holds a public key only and is exactly what parse() yields.
	return parse(cert.raw_);
}

Result<SevCert> SevCert::createGodh(EVP_PKEY *godhKey)
{
	return create(KeyUsage::Pdh, Algorithm::EcdhSha256, godhKey);
}

Status SevCert::sign(EVP_PKEY *signerKey, KeyUsage signerUsage, Algorithm signerAlgorithm)
{
	if (!isSignerUsage(signerUsage) || !canSign(signerAlgorithm))
		return Error(ErrorCode::InvalidArgument, std::string("a ") + usageName(signerUsage) + " key with " +
								 algorithmName(signerAlgorithm) + " cannot sign");
	std::optional<size_t> index = slotFor(signerUsage);
	if (!index)
		index = slots_[0].empty() ? 0 : slots_[1].empty() ? std::optional<size_t>(1) : std::nullopt;
	if (!index)
		return Error(ErrorCode::InvalidArgument, "both signature slots are already used");
	DigestAlgorithm digest = algorithmDigest(signerAlgorithm);
	Bytes signature;
	if (isRsa(signerAlgorithm)) {
		signature = CVM_TRY(signRsaPss(signerKey, digest, body()));
	} else {
		EcdsaSignatureLe rs = CVM_TRY(signEcdsa(signerKey, digest, body()));
		signature = concat({ rs.r, rs.s });
	}
	if (signature.size() > L::kSlots[0].signature.size)
		return Error(ErrorCode::InvalidArgument, "the signature does not fit a signature slot");
	writeSlot(raw_, *index, signerUsage, signerAlgorithm, signature);
	slots_[*index] = { signerUsage, signerAlgorithm };
	return {};
}

Status SevCert::signWith(const SevCert &signer, EVP_PKEY *signerKey)
{
	return sign(signerKey, signer.usage(), signer.algorithm());
}

Status SevCert::signWithAsk(EVP_PKEY *askKey)
{
	return sign(askKey, KeyUsage::Ask, rsaAlgorithmForBits(keyBits(askKey)));
}

void SevCert::clearSignature(KeyUsage signerUsage)
{
	if (auto index = slotFor(signerUsage)) {
		writeSlot(raw_, *index, KeyUsage::Invalid, Algorithm::Invalid, {});
		slots_[*index] = {};
	}
}

ByteView SevCert::body() const
{
	return slice(raw_, L::kBody);
}

uint8_t SevCert::apiMajor() const
{
	return raw_[L::kApiMajor.offset];
}

uint8_t SevCert::apiMinor() const
{
	return raw_[L::kApiMinor.offset];
}

std::optional<size_t> SevCert::slotFor(KeyUsage signerUsage) const
{
	for (size_t i = 0; i < 2; ++i)
		if (!slots_[i].empty() && slots_[i].usage == signerUsage)
			return i;
	return std::nullopt;
}

std::string SevCert::fingerprint() const
{
	auto d = sha256(slice(raw_, L::kPubkey));
	return d ? toHex(*d) : std::string();
}

ByteView SevCert::signatureField(size_t index) const
{
	return slice(raw_, L::kSlots[index].signature);
}

Status SevCert::verifySignature(KeyUsage signerUsage, Algorithm signerAlgorithm, EVP_PKEY *signerKey) const
{
	std::optional<size_t> index = slotFor(signerUsage);
	if (!index)
		return Error(ErrorCode::NotFound, std::string("no signature by the ") + usageName(signerUsage));
	const SignatureSlot &slot = slots_[*index];
	if (slot.algorithm != signerAlgorithm)
		return Error(ErrorCode::VerificationFailed,
			     std::string("the ") + usageName(signerUsage) + " signature slot says " +
				     algorithmName(slot.algorithm) + " but the " + usageName(signerUsage) + " key is " +
				     algorithmName(signerAlgorithm));
	DigestAlgorithm digest = algorithmDigest(slot.algorithm);
	ByteView field = signatureField(*index);
	Status st;
	if (isRsa(slot.algorithm)) {
		// An RSA signature is as long as the signer's modulus, low bytes first.
		size_t n = (keyBits(signerKey) + 7) / 8;
		st = isRsaKey(signerKey) && n <= field.size()
			     ? verifyRsaPss(signerKey, digest, body(), field.first(n))
			     : Status(Error(ErrorCode::VerificationFailed, "not an RSA key of at most 4096 bits"));
	} else {
		st = verifyEcdsa(signerKey, digest, body(), slice(field, L::kEcdsaR), slice(field, L::kEcdsaS));
	}
	if (!st)
		return Error(ErrorCode::VerificationFailed,
			     std::string(usageName(signerUsage)) + " signature does not verify");
	return {};
}

Status SevCert::verifySignedBy(const SevCert &signer) const
{
	return verifySignature(signer.usage(), signer.algorithm(), signer.publicKey());
}

Status SevCert::verifySignedBy(const AmdCert &ask) const
{
	return verifySignature(ask.usage(), rsaAlgorithmForBits(ask.modulusBits()), ask.publicKey());
}

} // namespace cvm::sev
