// SPDX-License-Identifier: Apache-2.0
//
// Encryption at rest for what the server must keep but nobody may read from
// its files: the owners' secrets and each launch's TEK/TIK. AES-256-GCM
// (OpenSSL EVP) under a 32-byte key file that is created 0600 on first run.
//
// Every sealed blob is bound to a context string (e.g. the VM id) through the
// GCM additional data, so a blob copied into another row does not open.
// Layout: version (1 byte, 1) || nonce (12) || ciphertext || tag (16).
#pragma once

#include <string>
#include <string_view>

#include "cvm/common/bytes.h"
#include "cvm/common/error.h"
#include "cvm/common/secure_buffer.h"

namespace cvm::server {

class SecretSealer
{
public:
	static constexpr size_t kKeySize = 32;
	static constexpr size_t kOverhead = 1 + 12 + 16;

	// Loads the key file; creates it with a fresh random key (mode 0600,
	// O_EXCL) when it does not exist. Refuses a key file that group or others
	// can read, or that is not exactly 32 bytes.
	static Result<SecretSealer> openKeyFile(const std::string &path);
	static Result<SecretSealer> fromKey(SecureBuffer key);

	Result<Bytes> seal(ByteView plaintext, std::string_view context) const;
	// Fails (VerificationFailed) when the blob was altered, belongs to another
	// context or was sealed under another key.
	Result<SecureBuffer> open(ByteView sealed, std::string_view context) const;

private:
	explicit SecretSealer(SecureBuffer key) : key_(std::move(key)) {}
	SecureBuffer key_;
};

} // namespace cvm::server
