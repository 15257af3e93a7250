// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include "cvm/common/file.h"
#include "sealer.h"

using namespace cvm;
using namespace cvm::server;

TEST_CASE("the key file is created 0600 on first use and reused after")
{
	auto dir = TempDir::create();
	REQUIRE(dir.ok());
	std::string path = dir->file("storage.key");
	auto first = SecretSealer::openKeyFile(path);
	REQUIRE(first.ok());
	struct stat st;
	REQUIRE(stat(path.c_str(), &st) == 0);
	CHECK((st.st_mode & 0777) == 0600);
	CHECK(st.st_size == 32);

	auto sealed = first->seal(asBytes("the owner's passphrase"), "ctx");
	REQUIRE(sealed.ok());
	auto second = SecretSealer::openKeyFile(path);
	REQUIRE(second.ok());
	auto opened = second->open(*sealed, "ctx");
	REQUIRE(opened.ok());
	CHECK(asString(opened->view()) == "the owner's passphrase");
}

TEST_CASE("a key file others can read, or of the wrong size, is refused")
{
	auto dir = TempDir::create();
	REQUIRE(dir.ok());
	std::string loose = dir->file("loose.key");
	REQUIRE(writeFileAtomic(loose, Bytes(32, 1), 0644).ok());
	auto r = SecretSealer::openKeyFile(loose);
	REQUIRE_FALSE(r.ok());
	CHECK(r.error().message().find("chmod 600") != std::string::npos);

	std::string small = dir->file("small.key");
	REQUIRE(writeSecretFile(small, Bytes(16, 1)).ok());
	CHECK(SecretSealer::openKeyFile(small).error().message().find("exactly 32 bytes") != std::string::npos);
}

TEST_CASE("sealed data is bound to its key, its context and its bytes")
{
	auto a = SecretSealer::fromKey(SecureBuffer(ByteView(Bytes(32, 1))));
	auto b = SecretSealer::fromKey(SecureBuffer(ByteView(Bytes(32, 2))));
	REQUIRE(a.ok());
	REQUIRE(b.ok());
	Bytes secret(100, 0x5a);
	auto sealed = a->seal(secret, "cvm-attestd/vm-secrets/vm1");
	REQUIRE(sealed.ok());
	CHECK(sealed->size() == secret.size() + SecretSealer::kOverhead);
	// The plaintext does not appear in the sealed form.
	CHECK(std::search(sealed->begin(), sealed->end(), secret.begin(), secret.begin() + 16) == sealed->end());

	CHECK(a->open(*sealed, "cvm-attestd/vm-secrets/vm1").ok());
	CHECK(a->open(*sealed, "cvm-attestd/vm-secrets/vm2").error().code() == ErrorCode::VerificationFailed);
	CHECK(b->open(*sealed, "cvm-attestd/vm-secrets/vm1").error().code() == ErrorCode::VerificationFailed);
	for (size_t i : { size_t(0), size_t(5), sealed->size() / 2, sealed->size() - 1 }) {
		Bytes tampered = *sealed;
		tampered[i] ^= 1;
		CHECK_FALSE(a->open(tampered, "cvm-attestd/vm-secrets/vm1").ok());
	}
	CHECK_FALSE(a->open(ByteView(sealed->data(), 10), "x").ok());
	// Two seals of the same data differ (fresh nonce).
	CHECK(*a->seal(secret, "c") != *a->seal(secret, "c"));
	auto empty = a->seal({}, "c");
	REQUIRE(empty.ok());
	CHECK(a->open(*empty, "c")->size() == 0);
}
