// SPDX-License-Identifier: Apache-2.0
//
// Internal to sim/: building and signing the platform's certificates with
// sev/'s certificate layer. Kept apart from the state-directory code so that
// the formats live in one place (sev/) and platform.cpp only stores bytes.
#pragma once

#include <string>

#include "cvm/common/bytes.h"
#include "cvm/common/error.h"
#include "cvm/common/ossl.h"
#include "cvm/common/secure_buffer.h"
#include "cvm/sev/measurement.h"

namespace cvm::sim::internal {

struct HierarchyKeys {
	EvpPkeyPtr ark, ask; // RSA-4096
	EvpPkeyPtr cek, oca, pek; // ECDSA P-384
	EvpPkeyPtr pdh;      // ECDH P-384
};

struct HierarchyCerts {
	Bytes ark, ask;          // AMD format
	Bytes cekSigned;         // signed by the ASK (what the KDS serves)
	Bytes cekUnsigned;       // both slots empty (what some firmware exports)
	Bytes oca, pek, pdh;     // SEV format
};

Result<HierarchyKeys> generateHierarchyKeys();

// Key ids: 16 bytes each.
Result<HierarchyCerts> signHierarchy(const HierarchyKeys &keys, const sev::PlatformVersion &version,
				     ByteView arkKeyId, ByteView askKeyId);

// Fails unless the certificate `cert` (SEV format) holds the public half of `key`.
Status checkSevCertKey(ByteView cert, EVP_PKEY *key, const char *what);

// Verifies the stored chain against the stored roots (the KDS copy of the
// CEK when the exported one is unsigned): a damaged state directory is
// refused at load time rather than producing launches nobody can verify.
Status verifyStoredChain(const std::string &stateDir, ByteView ark, ByteView ask, ByteView cek, ByteView oca,
			 ByteView pek, ByteView pdh, const std::string &chipIdHex);

// PEM (PKCS#8) of a private key, and back.
Result<SecureBuffer> privateKeyPem(EVP_PKEY *key);
Result<EvpPkeyPtr> privateKeyFromPem(ByteView pem, const char *what);

} // namespace cvm::sim::internal
