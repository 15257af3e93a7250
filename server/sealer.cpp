// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-attestd"

#include "sealer.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include "cvm/common/file.h"
#include "cvm/common/ossl.h"

namespace cvm::server {

namespace {

// Fetched once: EVP_aes_256_gcm() makes every init look the algorithm up
// in the provider store again (under a lock). EVP_CIPHER objects are
// immutable and safe to share across threads.
const EVP_CIPHER *aes256Gcm()
{
	static EVP_CIPHER *cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
	return cipher;
}

constexpr uint8_t kVersion = 1;
constexpr size_t kNonce = 12;
constexpr size_t kTag = 16;

Status createKeyFile(const std::string &path)
{
	UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
	if (!fd.isValid()) {
		if (errno == EEXIST)
			return {}; // someone else created it first: read theirs
		return Error(ErrorCode::Io, "cannot create key file " + path + ": " + strerror(errno));
	}
	SecureBuffer key = CVM_TRY(SecureBuffer::random(SecretSealer::kKeySize));
	size_t off = 0;
	while (off < key.size()) {
		ssize_t n = ::write(fd.get(), key.data() + off, key.size() - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int err = errno;
			::unlink(path.c_str());
			return Error(ErrorCode::Io, "cannot write key file " + path + ": " + strerror(err));
		}
		off += static_cast<size_t>(n);
	}
	if (fsync(fd.get()) != 0) {
		int err = errno;
		::unlink(path.c_str());
		return Error(ErrorCode::Io, "cannot write key file " + path + ": " + strerror(err));
	}
	g_message("created a new storage key in %s", path.c_str());
	return {};
}

} // namespace

Result<SecretSealer> SecretSealer::openKeyFile(const std::string &path)
{
	struct stat st;
	if (lstat(path.c_str(), &st) != 0) {
		if (errno != ENOENT)
			return Error(ErrorCode::Io, "cannot stat key file " + path + ": " + strerror(errno));
		CVM_CHECK(createKeyFile(path));
		if (lstat(path.c_str(), &st) != 0)
			return Error(ErrorCode::Io, "cannot stat key file " + path + ": " + strerror(errno));
	}
	if (!S_ISREG(st.st_mode))
		return Error(ErrorCode::InvalidArgument, "key file " + path + " is not a regular file");
	if (st.st_mode & 0077) {
		char mode[8];
		snprintf(mode, sizeof(mode), "%04o", st.st_mode & 07777);
		return Error(ErrorCode::PermissionDenied, "key file " + path + " is accessible by group or others (mode " +
								  mode + "); run chmod 600 on it");
	}
	SecureBuffer key = CVM_TRY(readSecretFile(path, 4096));
	if (key.size() != kKeySize)
		return Error(ErrorCode::InvalidData, "key file " + path + " holds " + std::to_string(key.size()) +
							     " bytes; a storage key is exactly 32 bytes");
	return SecretSealer(std::move(key));
}

Result<SecretSealer> SecretSealer::fromKey(SecureBuffer key)
{
	if (key.size() != kKeySize)
		return Error(ErrorCode::InvalidArgument, "a storage key is exactly 32 bytes");
	return SecretSealer(std::move(key));
}

Result<Bytes> SecretSealer::seal(ByteView plaintext, std::string_view context) const
{
	Bytes out(1 + kNonce + plaintext.size() + kTag);
	out[0] = kVersion;
	if (RAND_bytes(out.data() + 1, kNonce) != 1)
		return opensslError("seal: random nonce");
	EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
	int len = 0;
	if (!ctx || !aes256Gcm() || EVP_EncryptInit_ex(ctx.get(), aes256Gcm(), nullptr, key_.data(), out.data() + 1) != 1 ||
	    EVP_EncryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const uint8_t *>(context.data()),
			      static_cast<int>(context.size())) != 1 ||
	    EVP_EncryptUpdate(ctx.get(), out.data() + 1 + kNonce, &len, plaintext.data(),
			      static_cast<int>(plaintext.size())) != 1 ||
	    EVP_EncryptFinal_ex(ctx.get(), out.data() + 1 + kNonce + len, &len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTag, out.data() + out.size() - kTag) != 1)
		return opensslError("seal: AES-256-GCM");
	return out;
}

Result<SecureBuffer> SecretSealer::open(ByteView sealed, std::string_view context) const
{
	if (sealed.size() < kOverhead || sealed[0] != kVersion)
		return Error(ErrorCode::InvalidData, "sealed data is truncated or of an unknown version");
	size_t ctLen = sealed.size() - kOverhead;
	SecureBuffer out(ctLen);
	EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
	int len = 0;
	uint8_t tag[kTag];
	memcpy(tag, sealed.data() + sealed.size() - kTag, kTag);
	if (!ctx || !aes256Gcm() || EVP_DecryptInit_ex(ctx.get(), aes256Gcm(), nullptr, key_.data(), sealed.data() + 1) != 1 ||
	    EVP_DecryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const uint8_t *>(context.data()),
			      static_cast<int>(context.size())) != 1 ||
	    EVP_DecryptUpdate(ctx.get(), out.data(), &len, sealed.data() + 1 + kNonce, static_cast<int>(ctLen)) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTag, tag) != 1)
		return opensslError("open sealed data: AES-256-GCM");
	if (EVP_DecryptFinal_ex(ctx.get(), out.data() + len, &len) != 1) {
		clearOpensslErrors();
		return Error(ErrorCode::VerificationFailed,
			     "sealed data does not authenticate (altered, moved, or sealed under another key)");
	}
	return out;
}

} // namespace cvm::server
