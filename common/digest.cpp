// SPDX-License-Identifier: Apache-2.0
#include "cvm/common/digest.h"

namespace cvm {

static const EVP_MD *evpMd(DigestAlgorithm algorithm)
{
	switch (algorithm) {
	case DigestAlgorithm::Sha256:
		return EVP_sha256();
	case DigestAlgorithm::Sha384:
		return EVP_sha384();
	case DigestAlgorithm::Sha512:
		return EVP_sha512();
	}
	return nullptr;
}

size_t digestSize(DigestAlgorithm algorithm)
{
	switch (algorithm) {
	case DigestAlgorithm::Sha256:
		return 32;
	case DigestAlgorithm::Sha384:
		return 48;
	case DigestAlgorithm::Sha512:
		return 64;
	}
	return 0;
}

Result<Hasher> Hasher::create(DigestAlgorithm algorithm)
{
	EvpMdCtxPtr ctx(EVP_MD_CTX_new());
	if (!ctx || EVP_DigestInit_ex(ctx.get(), evpMd(algorithm), nullptr) != 1)
		return opensslError("cannot set up a message digest");
	return Hasher(std::move(ctx), algorithm);
}

Status Hasher::update(ByteView data)
{
	if (!ctx_)
		return Error(ErrorCode::Internal, "digest used after finish()");
	if (EVP_DigestUpdate(ctx_.get(), data.data(), data.size()) != 1) {
		ctx_.reset();
		return opensslError("message digest update failed");
	}
	return {};
}

Result<Bytes> Hasher::finish()
{
	if (!ctx_)
		return Error(ErrorCode::Internal, "digest used after finish()");
	Bytes out(digestSize(algorithm_));
	unsigned int len = 0;
	int rc = EVP_DigestFinal_ex(ctx_.get(), out.data(), &len);
	ctx_.reset();
	if (rc != 1 || len != out.size())
		return opensslError("message digest finalisation failed");
	return out;
}

Result<Bytes> digest(DigestAlgorithm algorithm, std::initializer_list<ByteView> parts)
{
	Hasher h = CVM_TRY(Hasher::create(algorithm));
	for (ByteView p : parts)
		CVM_CHECK(h.update(p));
	return h.finish();
}

} // namespace cvm
