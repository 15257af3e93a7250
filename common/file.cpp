// SPDX-License-Identifier: Apache-2.0
#include "cvm/common/file.h"

#include <cerrno>
#include <cstring>
#include <vector>

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

namespace cvm {

namespace {

Error errnoError(const std::string &what, int err)
{
	ErrorCode code = ErrorCode::Io;
	if (err == ENOENT)
		code = ErrorCode::NotFound;
	else if (err == EACCES || err == EPERM)
		code = ErrorCode::PermissionDenied;
	return Error(code, what + ": " + std::strerror(err));
}

// Reads fd to EOF into `out` (grown as needed), up to maxSize bytes.
template<typename Sink>
Status readAll(int fd, const std::string &path, size_t maxSize, Sink &&sink)
{
	uint8_t buf[65536];
	size_t total = 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int err = errno;
			secureWipe(buf, sizeof(buf));
			return errnoError("cannot read " + path, err);
		}
		if (n == 0)
			break;
		total += static_cast<size_t>(n);
		if (total > maxSize) {
			secureWipe(buf, sizeof(buf));
			return Error(ErrorCode::InvalidData,
				     path + " is larger than " + std::to_string(maxSize) + " bytes");
		}
		sink(ByteView(buf, static_cast<size_t>(n)));
	}
	secureWipe(buf, sizeof(buf));
	return {};
}

Result<UniqueFd> openForReading(const std::string &path)
{
	int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errnoError("cannot open " + path, errno);
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		return Error(ErrorCode::InvalidArgument, path + " is a directory");
	}
	return UniqueFd(fd);
}

} // namespace

Result<Bytes> readFile(const std::string &path, size_t maxSize)
{
	UniqueFd fd = CVM_TRY(openForReading(path));
	Bytes out;
	CVM_CHECK(readAll(fd.get(), path, maxSize, [&](ByteView chunk) { append(out, chunk); }));
	return out;
}

Result<std::string> readTextFile(const std::string &path, size_t maxSize)
{
	Bytes b = CVM_TRY(readFile(path, maxSize));
	return std::string(b.begin(), b.end());
}

Result<SecureBuffer> readSecretFile(const std::string &path, size_t maxSize)
{
	UniqueFd fd = CVM_TRY(openForReading(path));
	struct stat st;
	size_t capacity = 4096;
	if (fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
		capacity = static_cast<size_t>(st.st_size) + 1;
	if (capacity > maxSize + 1)
		capacity = maxSize + 1;

	SecureBuffer buf(capacity);
	size_t used = 0;
	Status st2 = readAll(fd.get(), path, maxSize, [&](ByteView chunk) {
		if (used + chunk.size() > buf.size()) {
			// Grow into a new secure buffer; the old one is wiped on release.
			SecureBuffer bigger(std::max(buf.size() * 2, used + chunk.size()));
			std::memcpy(bigger.data(), buf.data(), used);
			buf = std::move(bigger);
		}
		std::memcpy(buf.data() + used, chunk.data(), chunk.size());
		used += chunk.size();
	});
	if (!st2)
		return std::move(st2).error();
	buf.truncate(used);
	return buf;
}

Status writeFileAtomic(const std::string &path, ByteView data, mode_t mode)
{
	std::string tmpl = path + ".XXXXXX";
	std::vector<char> name(tmpl.begin(), tmpl.end());
	name.push_back('\0');
	int fd = mkostemp(name.data(), O_CLOEXEC);
	if (fd < 0)
		return errnoError("cannot create a file next to " + path, errno);
	UniqueFd guard(fd);
	auto fail = [&](const std::string &what) {
		int err = errno;
		unlink(name.data());
		return errnoError(what, err);
	};
	// mkostemp creates 0600; widen only after the fact if asked.
	if (fchmod(fd, mode) != 0)
		return fail("cannot set the mode of " + path);
	size_t off = 0;
	while (off < data.size()) {
		ssize_t n = write(fd, data.data() + off, data.size() - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return fail("cannot write " + path);
		}
		off += static_cast<size_t>(n);
	}
	if (fsync(fd) != 0)
		return fail("cannot sync " + path);
	guard.reset();
	if (rename(name.data(), path.c_str()) != 0)
		return fail("cannot rename into " + path);
	return {};
}

Status wipeAndRemove(const std::string &path)
{
	int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0) {
		UniqueFd guard(fd);
		struct stat st;
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
			std::vector<uint8_t> zeros(std::min<off_t>(st.st_size, 1 << 20));
			off_t left = st.st_size;
			while (left > 0) {
				size_t chunk = static_cast<size_t>(std::min<off_t>(left, zeros.size()));
				ssize_t n = write(fd, zeros.data(), chunk);
				if (n <= 0)
					break;
				left -= n;
			}
			fsync(fd);
		}
	}
	if (unlink(path.c_str()) != 0 && errno != ENOENT)
		return errnoError("cannot remove " + path, errno);
	return {};
}

Status makeDirectories(const std::string &path, mode_t mode)
{
	if (g_mkdir_with_parents(path.c_str(), static_cast<int>(mode)) != 0)
		return errnoError("cannot create directory " + path, errno);
	return {};
}

bool fileExists(const std::string &path)
{
	struct stat st;
	return stat(path.c_str(), &st) == 0;
}

void UniqueFd::reset(int fd)
{
	if (fd_ >= 0)
		close(fd_);
	fd_ = fd;
}

Result<TempDir> TempDir::create(std::string_view prefix)
{
	std::string tmpl = std::string(prefix) + "XXXXXX";
	GError *raw = nullptr;
	gchar *dir = g_dir_make_tmp(tmpl.c_str(), &raw);
	if (!dir) {
		Error e = Error::fromGError(raw, "cannot create a temporary directory");
		g_error_free(raw);
		return e;
	}
	TempDir t{std::string(dir)};
	g_free(dir);
	return t;
}

TempDir::~TempDir()
{
	if (!path_.empty())
		(void)removeTree(path_);
}

TempDir &TempDir::operator=(TempDir &&o) noexcept
{
	if (this != &o) {
		if (!path_.empty())
			(void)removeTree(path_);
		path_ = std::exchange(o.path_, {});
	}
	return *this;
}

Status removeTree(const std::string &path)
{
	auto remover = [](const char *p, const struct stat *, int, struct FTW *) -> int {
		return remove(p);
	};
	if (nftw(path.c_str(), remover, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT)
		return errnoError("cannot remove " + path, errno);
	return {};
}

} // namespace cvm
