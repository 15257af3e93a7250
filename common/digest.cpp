// SPDX-License-Identifier: Apache-2.0
#include "cvm/common/digest.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>

#include "cvm/common/file.h"

namespace cvm {

namespace {

// 256 KiB: large enough that syscalls and EVP call overhead vanish, small
// enough that the buffer stays in L2 and costs few first-touch page faults
// (measured: 1 MiB reads were ~35% slower on a 2 MiB firmware image).
constexpr size_t kFileChunk = 256u << 10;

struct FreeDeleter {
	void operator()(void *p) const { std::free(p); }
};

const char *mdName(DigestAlgorithm algorithm)
{
	switch (algorithm) {
	case DigestAlgorithm::Sha256:
		return "SHA256";
	case DigestAlgorithm::Sha384:
		return "SHA384";
	case DigestAlgorithm::Sha512:
		return "SHA512";
	}
	return "";
}

// Fetched once: EVP_MAC objects are immutable and safe to share across threads.
EVP_MAC *hmacAlgorithm()
{
	static EVP_MAC *mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
	return mac;
}

} // namespace

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

Result<uint64_t> updateFromFile(Hasher &hasher, const std::string &path)
{
	UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
	if (!fd.isValid())
		return Error(errno == ENOENT ? ErrorCode::NotFound : ErrorCode::Io,
			     "cannot open " + path + ": " + std::strerror(errno));
	struct stat st;
	if (fstat(fd.get(), &st) == 0 && S_ISDIR(st.st_mode))
		return Error(ErrorCode::InvalidArgument, path + " is a directory");
	posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);

	std::unique_ptr<uint8_t, FreeDeleter> buf(static_cast<uint8_t *>(std::aligned_alloc(4096, kFileChunk)));
	if (!buf)
		return Error(ErrorCode::Internal, "out of memory reading " + path);
	uint64_t total = 0;
	for (;;) {
		ssize_t n = read(fd.get(), buf.get(), kFileChunk);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return Error(ErrorCode::Io, "cannot read " + path + ": " + std::strerror(errno));
		}
		if (n == 0)
			break;
		CVM_CHECK(hasher.update(ByteView(buf.get(), static_cast<size_t>(n))));
		total += static_cast<uint64_t>(n);
	}
	return total;
}

Result<Bytes> digestFile(DigestAlgorithm algorithm, const std::string &path)
{
	Hasher h = CVM_TRY(Hasher::create(algorithm));
	CVM_TRY(updateFromFile(h, path));
	return h.finish();
}

Result<Bytes> hmac(DigestAlgorithm algorithm, ByteView key, std::initializer_list<ByteView> parts)
{
	EVP_MAC *mac = hmacAlgorithm();
	if (!mac)
		return opensslError("HMAC is not available");
	EvpMacCtxPtr ctx(EVP_MAC_CTX_new(mac));
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char *>(mdName(algorithm)), 0),
		OSSL_PARAM_construct_end(),
	};
	// An empty key is legal HMAC; OpenSSL wants a non-null pointer for it.
	static const uint8_t kEmpty = 0;
	const uint8_t *k = key.empty() ? &kEmpty : key.data();
	if (!ctx || EVP_MAC_init(ctx.get(), k, key.size(), params) != 1)
		return opensslError("cannot set up HMAC");
	for (ByteView p : parts)
		if (EVP_MAC_update(ctx.get(), p.data(), p.size()) != 1)
			return opensslError("HMAC update failed");
	Bytes out(digestSize(algorithm));
	size_t len = 0;
	if (EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) != 1 || len != out.size())
		return opensslError("HMAC finalisation failed");
	return out;
}

} // namespace cvm
