// SPDX-License-Identifier: Apache-2.0
#include "sim_test_support.h"

#include <memory>

#include <catch2/catch.hpp>

#include "cvm/common/bytes.h"

namespace cvm::sim::test {

namespace {

struct Shared {
	TempDir dir;
	std::unique_ptr<Platform> platform;
};

Shared &shared()
{
	static Shared s = [] {
		auto dir = TempDir::create("cvm-sim-test-");
		if (!dir)
			abort();
		PlatformInitOptions o;
		o.stateDir = dir->file("state");
		auto p = Platform::init(o);
		if (!p) {
			fprintf(stderr, "platform init failed: %s\n", p.error().message().c_str());
			abort();
		}
		return Shared{ std::move(dir).value(), std::move(p).value() };
	}();
	return s;
}

} // namespace

Platform &sharedPlatform()
{
	return *shared().platform;
}

const std::string &sharedStateDir()
{
	return shared().platform->stateDir();
}

SessionFiles writeSessionFiles(const TempDir &dir, const sev::OwnerSession &session, const std::string &prefix)
{
	SessionFiles f{ dir.file(prefix + "godh.b64"), dir.file(prefix + "session.b64") };
	std::string godh = toBase64(session.godhCert);
	std::string sess = toBase64(session.session.serialize());
	if (!writeFileAtomic(f.godh, asBytes(godh)).ok() || !writeFileAtomic(f.session, asBytes(sess)).ok())
		abort();
	return f;
}

SecureBuffer sampleSecretTable()
{
	std::vector<sev::SecretEntry> entries;
	entries.push_back({ sev::secret_guid::luksKey(), SecureBuffer(asBytes("correct horse battery staple")) });
	entries.push_back({ Guid::parse("0a4d6c2e-8f1b-4c3a-9d5e-7f6a1b2c3d4e").value(),
			    SecureBuffer::random(37).value() });
	auto t = sev::buildSecretTable(entries);
	if (!t)
		abort();
	return std::move(t).value();
}

} // namespace cvm::sim::test
