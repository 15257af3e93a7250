// SPDX-License-Identifier: Apache-2.0
//
// RAII for OpenSSL objects and turning OpenSSL's error queue into an Error.
#pragma once

#include <memory>
#include <string_view>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cvm/common/bytes.h"
#include "cvm/common/error.h"

namespace cvm {

template<typename T, void (*Free)(T *)>
struct OsslFree {
	void operator()(T *p) const { if (p) Free(p); }
};

using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OsslFree<EVP_PKEY, EVP_PKEY_free>>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, OsslFree<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, OsslFree<EVP_MD_CTX, EVP_MD_CTX_free>>;
using EvpCipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, OsslFree<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>>;
using EvpMacPtr = std::unique_ptr<EVP_MAC, OsslFree<EVP_MAC, EVP_MAC_free>>;
using EvpMacCtxPtr = std::unique_ptr<EVP_MAC_CTX, OsslFree<EVP_MAC_CTX, EVP_MAC_CTX_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, OsslFree<BIGNUM, BN_free>>;
using BnCtxPtr = std::unique_ptr<BN_CTX, OsslFree<BN_CTX, BN_CTX_free>>;
using EcGroupPtr = std::unique_ptr<EC_GROUP, OsslFree<EC_GROUP, EC_GROUP_free>>;
using EcPointPtr = std::unique_ptr<EC_POINT, OsslFree<EC_POINT, EC_POINT_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, OsslFree<ECDSA_SIG, ECDSA_SIG_free>>;
using X509Ptr = std::unique_ptr<X509, OsslFree<X509, X509_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, OsslFree<X509_STORE, X509_STORE_free>>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, OsslFree<X509_STORE_CTX, X509_STORE_CTX_free>>;

// An Error whose message is "what: <OpenSSL's reason>", draining the error queue.
Error opensslError(std::string_view what, ErrorCode code = ErrorCode::Crypto);

// Clears OpenSSL's thread-local error queue (after an expected failure, e.g. a
// signature that does not verify).
void clearOpensslErrors();

} // namespace cvm
