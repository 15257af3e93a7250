// SPDX-License-Identifier: Apache-2.0
//
// TEMPORARY: sev/ has not landed yet. Every operation refuses with
// "unsupported" until it is implemented on top of sev/.
#define G_LOG_DOMAIN "cvm-attestd"

#include "launch_crypto.h"

#include "cvm/attest/errors.h"

namespace cvm::server {

struct LaunchCrypto::Impl {
	Options options;
};

namespace {
Error pending()
{
	return Error(ErrorCode::Unsupported, "SEV cryptography is not available in this build yet");
}
} // namespace

LaunchCrypto::LaunchCrypto(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LaunchCrypto::~LaunchCrypto() = default;

Result<std::unique_ptr<LaunchCrypto>> LaunchCrypto::create(Options options, CekSource *, Metrics *)
{
	auto impl = std::make_unique<Impl>();
	impl->options = std::move(options);
	return std::unique_ptr<LaunchCrypto>(new LaunchCrypto(std::move(impl)));
}

Result<VerifiedPlatform> LaunchCrypto::verifyPlatform(const attest::LaunchRequest &)
{
	return pending();
}

Result<LaunchSession> LaunchCrypto::startSession(const VerifiedPlatform &, uint32_t)
{
	return pending();
}

Result<std::optional<size_t>> LaunchCrypto::matchMeasurement(ByteView, const attest::ValidateRequest &,
							     const std::vector<Bytes> &)
{
	return pending();
}

Result<SecretPacket> LaunchCrypto::buildSecret(ByteView, ByteView, ByteView, const std::vector<attest::SecretEntry> &)
{
	return pending();
}

} // namespace cvm::server
