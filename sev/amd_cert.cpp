// SPDX-License-Identifier: Apache-2.0
//
// AMD ARK/ASK certificates: parsing, writing, signing and verifying. The
// layout has a fixed header and three modulus-sized fields whose place
// depends on the key size; amdLayout() is the one description of both.
#include "cvm/sev/amd_cert.h"

#include <algorithm>

#include "cvm/common/digest.h"

namespace cvm::sev {

namespace {

namespace layout {
constexpr Field kVersion{ 0x00, 4 };
constexpr Field kKeyId{ 0x04, 16 };
constexpr Field kCertifyingId{ 0x14, 16 };
constexpr Field kKeyUsage{ 0x24, 4 };
// 0x28..0x37: 16 reserved bytes.
constexpr Field kPubexpBits{ 0x38, 4 };
constexpr Field kModulusBits{ 0x3c, 4 };
constexpr size_t kHeaderSize = 0x40;
constexpr uint32_t kVersion1 = 1;

// The variable part for an exponent and modulus of `bytes` bytes each.
struct Variable {
	Field pubexp;
	Field modulus;
	Field signature;
	Field signedPart;
	size_t total;
};
constexpr Variable variable(size_t bytes)
{
	return { { kHeaderSize, bytes },
		 { kHeaderSize + bytes, bytes },
		 { kHeaderSize + 2 * bytes, bytes },
		 { 0, kHeaderSize + 2 * bytes },
		 kHeaderSize + 3 * bytes };
}
static_assert(variable(256).total == 832 && variable(512).total == 1600);
} // namespace layout

Error invalid(const std::string &why)
{
	return Error(ErrorCode::InvalidData, "AMD certificate: " + why);
}

DigestAlgorithm digestForSigner(unsigned bits)
{
	return bits > 2048 ? DigestAlgorithm::Sha384 : DigestAlgorithm::Sha256;
}

AmdKeyId loadId(ByteView raw, Field f)
{
	AmdKeyId id{};
	ByteView v = slice(raw, f);
	std::copy(v.begin(), v.end(), id.begin());
	return id;
}

} // namespace

Result<AmdCert> AmdCert::parse(ByteView raw)
{
	if (raw.size() < layout::kHeaderSize)
		return invalid(std::to_string(raw.size()) + " bytes is shorter than the 64-byte header");
	AmdCert cert;
	cert.raw_.assign(raw.begin(), raw.end());
	CVM_CHECK(cert.decode());
	return cert;
}

Status AmdCert::decode()
{
	if (uint32_t v = loadLe32(raw_, layout::kVersion.offset); v != layout::kVersion1)
		return invalid("version " + std::to_string(v) + " (only version 1 exists)");
	uint32_t usageWire = loadLe32(raw_, layout::kKeyUsage.offset);
	if (usageWire != static_cast<uint32_t>(KeyUsage::Ark) && usageWire != static_cast<uint32_t>(KeyUsage::Ask))
		return invalid("key usage " + wireHex(usageWire) + " (ARK 0x0 or ASK 0x13 expected)");
	uint32_t pubexpBits = loadLe32(raw_, layout::kPubexpBits.offset);
	uint32_t modulusBits = loadLe32(raw_, layout::kModulusBits.offset);
	if (modulusBits != 2048 && modulusBits != 4096)
		return invalid("modulus size " + std::to_string(modulusBits) + " bits (2048 or 4096 allowed)");
	if (pubexpBits != modulusBits)
		return invalid("exponent size " + std::to_string(pubexpBits) + " bits differs from the modulus size " +
			       std::to_string(modulusBits));
	layout::Variable v = layout::variable(modulusBits / 8);
	if (raw_.size() != v.total)
		return invalid("a " + std::to_string(modulusBits) + "-bit certificate is " + std::to_string(v.total) +
			       " bytes, not " + std::to_string(raw_.size()));
	auto key = rsaPublicKeyFromLe(slice(raw_, v.modulus), slice(raw_, v.pubexp), modulusBits);
	if (!key)
		return invalid(key.error().message());
	key_ = SharedPkey(std::move(key).value());
	usage_ = static_cast<KeyUsage>(usageWire);
	modulusBits_ = modulusBits;
	keyId_ = loadId(raw_, layout::kKeyId);
	certifyingId_ = loadId(raw_, layout::kCertifyingId);
	return {};
}

Result<AmdCert> AmdCert::create(const AmdKeyId &keyId, const AmdKeyId &certifyingId, KeyUsage usage,
				EVP_PKEY *publicKey)
{
	if (usage != KeyUsage::Ark && usage != KeyUsage::Ask)
		return Error(ErrorCode::InvalidArgument, "an AMD certificate is an ARK or an ASK");
	unsigned bits = keyBits(publicKey);
	if (!isRsaKey(publicKey) || (bits != 2048 && bits != 4096))
		return Error(ErrorCode::InvalidArgument, "an AMD certificate needs a 2048- or 4096-bit RSA key");
	layout::Variable v = layout::variable(bits / 8);
	RsaComponentsLe c = CVM_TRY(rsaComponentsLe(publicKey, bits / 8));
	Bytes raw(v.total, 0);
	storeLe32(raw, layout::kVersion.offset, layout::kVersion1);
	storeBytes(raw, layout::kKeyId.offset, keyId);
	storeBytes(raw, layout::kCertifyingId.offset, certifyingId);
	storeLe32(raw, layout::kKeyUsage.offset, static_cast<uint32_t>(usage));
	storeLe32(raw, layout::kPubexpBits.offset, bits);
	storeLe32(raw, layout::kModulusBits.offset, bits);
	storeBytes(raw, v.pubexp.offset, c.exponent);
	storeBytes(raw, v.modulus.offset, c.modulus);
	return parse(raw);
}

Status AmdCert::sign(EVP_PKEY *signerKey)
{
	if (keyBits(signerKey) != modulusBits_)
		return Error(ErrorCode::InvalidArgument, "the signer's key must be " + std::to_string(modulusBits_) +
								 " bits like the certified key");
	Bytes signature = CVM_TRY(signRsaPss(signerKey, digestForSigner(modulusBits_), signedPart()));
	storeBytes(raw_, layout::variable(modulusBits_ / 8).signature.offset, signature);
	return {};
}

ByteView AmdCert::signedPart() const
{
	return slice(raw_, layout::variable(modulusBits_ / 8).signedPart);
}

ByteView AmdCert::signatureLe() const
{
	return slice(raw_, layout::variable(modulusBits_ / 8).signature);
}

std::string AmdCert::fingerprint() const
{
	auto d = sha256(raw_);
	return d ? toHex(*d) : std::string();
}

Status AmdCert::verifySignedBy(const AmdCert &signer) const
{
	if (certifyingId_ != signer.keyId())
		return Error(ErrorCode::VerificationFailed, "certifying id " + toHex(certifyingId_) +
								    " is not the signer's key id " + signer.keyIdHex());
	// The signature is as long as the signer's modulus, which here is this
	// certificate's (the format has no room for anything else).
	if (signer.modulusBits() != modulusBits_)
		return Error(ErrorCode::VerificationFailed, "the signer's key size (" +
								    std::to_string(signer.modulusBits()) +
								    " bits) differs from the certificate's");
	Status st = verifyRsaPss(signer.publicKey(), digestForSigner(signer.modulusBits()), signedPart(),
				 signatureLe());
	if (!st)
		return Error(ErrorCode::VerificationFailed, std::string(usageName(signer.usage())) +
								    " signature does not verify");
	return {};
}

} // namespace cvm::sev
