// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-tdx"

#include "cvm/tdx/image.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cvm/common/digest.h"

namespace cvm::tdx {

Status ImageReader::readAt(uint64_t offset, MutableByteView out, std::string_view what) const
{
	uint64_t total = size();
	if (offset > total || out.size() > total - offset)
		return Error(ErrorCode::InvalidData,
			     name() + ": " + std::string(what) + " (" + std::to_string(out.size()) +
				     " bytes at offset " + std::to_string(offset) +
				     ") lies outside the image (" + std::to_string(total) + " bytes)");
	if (out.empty())
		return {};
	return readRange(offset, out);
}

Status MemoryImage::readRange(uint64_t offset, MutableByteView out) const
{
	std::memcpy(out.data(), data_.data() + offset, out.size());
	return {};
}

Result<FileImage> FileImage::open(const std::string &path)
{
	UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
	if (!fd.isValid())
		return Error(errno == ENOENT ? ErrorCode::NotFound : ErrorCode::Io,
			     "cannot open " + path + ": " + std::strerror(errno));
	struct stat st;
	if (fstat(fd.get(), &st) != 0)
		return Error(ErrorCode::Io, "cannot stat " + path + ": " + std::strerror(errno));
	if (!S_ISREG(st.st_mode))
		return Error(ErrorCode::InvalidArgument, path + " is not a regular file");
	return FileImage(std::move(fd), static_cast<uint64_t>(st.st_size), path);
}

Status FileImage::readRange(uint64_t offset, MutableByteView out) const
{
	size_t done = 0;
	while (done < out.size()) {
		ssize_t n = pread(fd_.get(), out.data() + done, out.size() - done,
				  static_cast<off_t>(offset + done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return Error(ErrorCode::Io, "cannot read " + path_ + ": " + std::strerror(errno));
		}
		if (n == 0)
			return Error(ErrorCode::Io, path_ + " shrank while it was being read");
		done += static_cast<size_t>(n);
	}
	return {};
}

Result<FileFingerprint> fingerprint(const ImageReader &image)
{
	constexpr size_t kChunk = 1u << 20;
	Hasher h = CVM_TRY(Hasher::create(DigestAlgorithm::Sha256));
	Bytes buf(kChunk);
	uint64_t total = image.size();
	for (uint64_t off = 0; off < total;) {
		size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, total - off));
		CVM_CHECK(image.readAt(off, MutableByteView(buf.data(), n), "contents"));
		CVM_CHECK(h.update(ByteView(buf.data(), n)));
		off += n;
	}
	Bytes d = CVM_TRY(h.finish());
	FileFingerprint fp;
	fp.size = total;
	std::memcpy(fp.sha256.data(), d.data(), fp.sha256.size());
	return fp;
}

} // namespace cvm::tdx
