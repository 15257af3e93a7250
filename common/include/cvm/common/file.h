// SPDX-License-Identifier: Apache-2.0
//
// Files and descriptors: bounded reads, atomic writes with an explicit mode
// (secrets are always 0600 from the first byte), secret files read straight into
// SecureBuffers, a move-only fd and a self-removing temporary directory.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include <sys/types.h>

#include "cvm/common/bytes.h"
#include "cvm/common/error.h"
#include "cvm/common/secure_buffer.h"

namespace cvm {

// Reads a whole file; fails when it is larger than maxSize.
Result<Bytes> readFile(const std::string &path, size_t maxSize = 64u << 20);
Result<std::string> readTextFile(const std::string &path, size_t maxSize = 16u << 20);
// Reads a secret without leaving unwiped copies behind.
Result<SecureBuffer> readSecretFile(const std::string &path, size_t maxSize = 1u << 20);

// Writes via a temporary file in the same directory created with `mode`
// (so no other user can open it even briefly), fsyncs, then renames.
Status writeFileAtomic(const std::string &path, ByteView data, mode_t mode = 0644);
inline Status writeSecretFile(const std::string &path, ByteView data)
{
	return writeFileAtomic(path, data, 0600);
}

// Overwrites a file's contents with zeros before unlinking it (best effort on
// copy-on-write filesystems; the file is 0600 in any case).
Status wipeAndRemove(const std::string &path);

// mkdir -p with the given mode for directories it creates.
Status makeDirectories(const std::string &path, mode_t mode = 0755);

bool fileExists(const std::string &path);

class UniqueFd
{
public:
	UniqueFd() = default;
	explicit UniqueFd(int fd) : fd_(fd) {}
	~UniqueFd() { reset(); }
	UniqueFd(UniqueFd &&o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
	UniqueFd &operator=(UniqueFd &&o) noexcept
	{
		if (this != &o) {
			reset();
			fd_ = std::exchange(o.fd_, -1);
		}
		return *this;
	}
	UniqueFd(const UniqueFd &) = delete;
	UniqueFd &operator=(const UniqueFd &) = delete;

	int get() const { return fd_; }
	bool isValid() const { return fd_ >= 0; }
	[[nodiscard]] int release() { return std::exchange(fd_, -1); }
	void reset(int fd = -1);

private:
	int fd_ = -1;
};

// A private (0700) temporary directory removed, with its contents, on destruction.
class TempDir
{
public:
	static Result<TempDir> create(std::string_view prefix = "cvm-");
	// Adopts an existing directory to remove later.
	explicit TempDir(std::string path) : path_(std::move(path)) {}
	~TempDir();
	TempDir(TempDir &&o) noexcept : path_(std::exchange(o.path_, {})) {}
	TempDir &operator=(TempDir &&o) noexcept;
	TempDir(const TempDir &) = delete;
	TempDir &operator=(const TempDir &) = delete;

	const std::string &path() const { return path_; }
	std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }

private:
	std::string path_;
};

// rm -rf (no symlink following).
Status removeTree(const std::string &path);

} // namespace cvm
