// SPDX-License-Identifier: Apache-2.0
//
// Message digests through OpenSSL EVP: one-shot SHA-256/384/512 over one or
// more parts, a streaming Hasher for inputs read in chunks (firmware images,
// files), hashing a file in bounded reads, and HMAC.
#pragma once

#include <initializer_list>
#include <string>

#include "cvm/common/bytes.h"
#include "cvm/common/error.h"
#include "cvm/common/ossl.h"

namespace cvm {

enum class DigestAlgorithm { Sha256, Sha384, Sha512 };

// The digest length in bytes (32, 48, 64).
size_t digestSize(DigestAlgorithm algorithm);

// The digest of the concatenation of `parts`.
Result<Bytes> digest(DigestAlgorithm algorithm, std::initializer_list<ByteView> parts);
inline Result<Bytes> sha256(ByteView data) { return digest(DigestAlgorithm::Sha256, { data }); }
inline Result<Bytes> sha384(ByteView data) { return digest(DigestAlgorithm::Sha384, { data }); }
inline Result<Bytes> sha512(ByteView data) { return digest(DigestAlgorithm::Sha512, { data }); }

// Incremental hashing. create() fails only when OpenSSL cannot set up the
// context; update() after a failure or after finish() keeps failing.
class Hasher
{
public:
	static Result<Hasher> create(DigestAlgorithm algorithm);

	Status update(ByteView data);
	// Returns the digest; the Hasher cannot be used afterwards.
	Result<Bytes> finish();

private:
	explicit Hasher(EvpMdCtxPtr ctx, DigestAlgorithm algorithm)
		: ctx_(std::move(ctx)), algorithm_(algorithm)
	{
	}

	EvpMdCtxPtr ctx_;
	DigestAlgorithm algorithm_;
};

// Feeds the whole file at `path` into `hasher` through one 256 KiB aligned
// buffer (memory stays flat whatever the file size; large reads keep EVP's
// SHA-NI path busy). Returns the number of bytes hashed.
Result<uint64_t> updateFromFile(Hasher &hasher, const std::string &path);

// The digest of a whole file, read as above.
Result<Bytes> digestFile(DigestAlgorithm algorithm, const std::string &path);

// HMAC (EVP_MAC "HMAC") over the concatenation of `parts`. The key is copied
// into OpenSSL's context, which cleanses it when freed; the MAC itself is not
// treated as secret.
Result<Bytes> hmac(DigestAlgorithm algorithm, ByteView key, std::initializer_list<ByteView> parts);

} // namespace cvm
