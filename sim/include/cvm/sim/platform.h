// SPDX-License-Identifier: Apache-2.0
//
// The simulated AMD secure processor's identity: its key hierarchy in AMD's
// formats, kept in a state directory so that it survives restarts like a real
// machine's (the PDH in particular is stable, so a guest owner's session made
// for it stays valid).
//
//   ARK (RSA-4096, self-signed, RSA-PSS SHA-384) -> ASK (RSA-4096)
//     -> CEK (ECDSA P-384, signed by the ASK) -> PEK (ECDSA P-384, signed by
//        the CEK and by the OCA, itself self-signed) -> PDH (ECDH P-384)
//
// plus a 64-byte chip id (GET_ID) and the firmware version reported by
// PLATFORM_STATUS (api major/minor, build id).
//
// State directory layout (every private key 0600, the directory 0700):
//   platform.ini                    version, chip id, cbitpos, test-root generation
//   keys/{ark,ask,cek,oca,pek,pdh}.pem    PKCS#8 private keys
//   certs/{ark,ask}.cert            AMD-format roots
//   certs/{cek,oca,pek,pdh}.cert    SEV-format certificates (the CEK as exported)
//   roots/<generation>/{ark,ask}.cert   the test roots, in the trust-dir layout
//   kds/<chip-id-hex>.cert          with --unsigned-cek: the ASK-signed CEK
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "cvm/common/bytes.h"
#include "cvm/common/error.h"
#include "cvm/common/ossl.h"
#include "cvm/sev/measurement.h"

namespace cvm::sim {

// The environment variable naming the state directory of a QEMU-shaped sim.
inline constexpr const char *kStateDirEnv = "CVM_SEV_SIM_STATE_DIR";
// The directory name of the test roots under roots/ (their "generation").
inline constexpr const char *kTestRootGeneration = "cvm-sim";

inline constexpr size_t kChipIdSize = 64;

struct PlatformInitOptions {
	std::string stateDir;
	// Export the chain with an unsigned CEK (as real Genoa/Milan hosts do);
	// the ASK-signed CEK goes to kds/<chip-id-hex>.cert.
	bool unsignedCek = false;
	sev::PlatformVersion version{ 1, 52, 4 };
	uint32_t cbitpos = 51;
	// Replace an existing state directory (otherwise init refuses it).
	bool force = false;
};

struct PlatformIdentity {
	sev::PlatformVersion version;
	std::array<uint8_t, kChipIdSize> chipId{};
	uint32_t cbitpos = 51;
	uint32_t reducedPhysBits = 1;
	bool unsignedCek = false;
};

// platform.ini's contents (untrusted: every value range-checked).
Result<PlatformIdentity> parsePlatformIni(std::string_view text);
std::string formatPlatformIni(const PlatformIdentity &identity);

class Platform
{
public:
	// Creates a new platform (fresh keys and chip id) and its state directory.
	static Result<std::unique_ptr<Platform>> init(const PlatformInitOptions &options);
	// Loads an existing state directory; every file is checked (sizes,
	// formats, that each private key matches its certificate).
	static Result<std::unique_ptr<Platform>> load(const std::string &stateDir);

	const PlatformIdentity &identity() const { return identity_; }
	const std::string &stateDir() const { return stateDir_; }

	// PDH_CERT_EXPORT: the 2084-byte PDH certificate and PEK || OCA || CEK.
	const Bytes &pdhCert() const { return pdhCert_; }
	Bytes certChain() const;
	const Bytes &pekCert() const { return pekCert_; }
	const Bytes &ocaCert() const { return ocaCert_; }
	const Bytes &cekCert() const { return cekCert_; } // as exported (maybe unsigned)
	const Bytes &arkCert() const { return arkCert_; }
	const Bytes &askCert() const { return askCert_; }

	// The firmware's private keys (never leave this object but for signing).
	EVP_PKEY *pdhPrivateKey() const { return pdhKey_.get(); }
	EVP_PKEY *pekPrivateKey() const { return pekKey_.get(); }

	// Overrides PLATFORM_STATUS (tests: a firmware older than a policy needs).
	void setVersion(const sev::PlatformVersion &version) { identity_.version = version; }

private:
	Platform() = default;
	friend struct PlatformBuilder;

	std::string stateDir_;
	PlatformIdentity identity_;
	Bytes arkCert_, askCert_, cekCert_, ocaCert_, pekCert_, pdhCert_;
	EvpPkeyPtr pdhKey_, pekKey_;
};

} // namespace cvm::sim
