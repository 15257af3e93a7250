// SPDX-License-Identifier: Apache-2.0
//
// Random access to a firmware image without loading it whole: the TDVF
// metadata sits at the end of the image and the measured sections are read
// page by page, so a file is read with pread() in bounded chunks. MemoryImage
// serves tests, fuzzers and callers that already hold the bytes.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "cvm/common/bytes.h"
#include "cvm/common/error.h"
#include "cvm/common/file.h"

namespace cvm::tdx {

class ImageReader
{
public:
	virtual ~ImageReader() = default;

	virtual uint64_t size() const = 0;
	// A name for messages (the file path, or "image").
	virtual const std::string &name() const = 0;

	// Fills `out` from `offset`. Fails (InvalidData) when the range is not
	// inside the image, naming `what` ("TDVF descriptor"), or on an I/O error.
	Status readAt(uint64_t offset, MutableByteView out, std::string_view what) const;

protected:
	// The range has been checked against size().
	virtual Status readRange(uint64_t offset, MutableByteView out) const = 0;
};

class MemoryImage final : public ImageReader
{
public:
	explicit MemoryImage(ByteView data, std::string name = "image")
		: data_(data), name_(std::move(name))
	{
	}

	uint64_t size() const override { return data_.size(); }
	const std::string &name() const override { return name_; }

private:
	Status readRange(uint64_t offset, MutableByteView out) const override;

	ByteView data_;
	std::string name_;
};

class FileImage final : public ImageReader
{
public:
	// Opens a regular file read-only; its size is taken once, at open.
	static Result<FileImage> open(const std::string &path);

	uint64_t size() const override { return size_; }
	const std::string &name() const override { return path_; }

private:
	FileImage(UniqueFd fd, uint64_t size, std::string path)
		: fd_(std::move(fd)), size_(size), path_(std::move(path))
	{
	}
	Status readRange(uint64_t offset, MutableByteView out) const override;

	UniqueFd fd_;
	uint64_t size_;
	std::string path_;
};

// What a reference-value document records about an input file.
struct FileFingerprint {
	uint64_t size = 0;
	std::array<uint8_t, 32> sha256{};
};

// Streams the whole image through SHA-256.
Result<FileFingerprint> fingerprint(const ImageReader &image);

} // namespace cvm::tdx
