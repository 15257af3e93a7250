// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include "cvm/common/file.h"

using namespace cvm;

TEST_CASE("secret files are 0600 and read back into secure memory")
{
	auto dir = TempDir::create("cvm-test-");
	REQUIRE(dir.ok());
	std::string path = dir->file("tek.bin");
	REQUIRE(writeSecretFile(path, asBytes("0123456789abcdef")).ok());

	struct stat st;
	REQUIRE(stat(path.c_str(), &st) == 0);
	CHECK((st.st_mode & 0777) == 0600);

	auto secret = readSecretFile(path);
	REQUIRE(secret.ok());
	CHECK(asString(secret->view()) == "0123456789abcdef");

	REQUIRE(wipeAndRemove(path).ok());
	CHECK_FALSE(fileExists(path));
}

TEST_CASE("reads are bounded and errors name the file")
{
	auto dir = TempDir::create();
	REQUIRE(dir.ok());
	std::string path = dir->file("big");
	REQUIRE(writeFileAtomic(path, Bytes(100, 'x'), 0644).ok());
	auto r = readFile(path, 99);
	REQUIRE_FALSE(r.ok());
	CHECK(r.error().message().find(path) != std::string::npos);
	CHECK(readFile(path, 100).ok());

	auto missing = readFile(dir->file("none"));
	REQUIRE_FALSE(missing.ok());
	CHECK(missing.error().code() == ErrorCode::NotFound);

	auto isDir = readFile(dir->path());
	REQUIRE_FALSE(isDir.ok());
}

TEST_CASE("temporary directories remove themselves")
{
	std::string path;
	{
		auto dir = TempDir::create();
		REQUIRE(dir.ok());
		path = dir->path();
		REQUIRE(makeDirectories(dir->file("a/b/c")).ok());
		REQUIRE(writeFileAtomic(dir->file("a/b/c/f"), asBytes("x")).ok());
	}
	CHECK_FALSE(fileExists(path));
}
