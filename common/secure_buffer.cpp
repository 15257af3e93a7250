// SPDX-License-Identifier: Apache-2.0
#include "cvm/common/secure_buffer.h"

#include <atomic>
#include <cstring>
#include <new>
#include <utility>

#include <sys/mman.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

namespace cvm {

namespace {
std::atomic<detail::SecureReleaseObserver> releaseObserver{ nullptr };
} // namespace

void detail::setSecureReleaseObserver(SecureReleaseObserver observer)
{
	releaseObserver = observer;
}

static size_t pageSize()
{
	static const size_t size = static_cast<size_t>(sysconf(_SC_PAGESIZE));
	return size;
}

SecureBuffer::SecureBuffer(size_t size) : size_(size)
{
	if (size == 0)
		return;
	// Whole pages per buffer: munlock() is not reference counted, so two
	// secrets must never share a locked page.
	mapped_ = (size + pageSize() - 1) / pageSize() * pageSize();
	void *p = mmap(nullptr, mapped_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		throw std::bad_alloc(); // out of memory is not a recoverable error here
	data_ = static_cast<uint8_t *>(p);
	locked_ = mlock(data_, mapped_) == 0;
	madvise(data_, mapped_, MADV_DONTDUMP);
	// mmap'd anonymous memory is zero-filled.
}

SecureBuffer::SecureBuffer(ByteView contents) : SecureBuffer(contents.size())
{
	if (!contents.empty())
		std::memcpy(data_, contents.data(), contents.size());
}

SecureBuffer::~SecureBuffer()
{
	release();
}

SecureBuffer::SecureBuffer(SecureBuffer &&other) noexcept
	: data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)),
	  mapped_(std::exchange(other.mapped_, 0)), locked_(std::exchange(other.locked_, false))
{
}

SecureBuffer &SecureBuffer::operator=(SecureBuffer &&other) noexcept
{
	if (this != &other) {
		release();
		data_ = std::exchange(other.data_, nullptr);
		size_ = std::exchange(other.size_, 0);
		mapped_ = std::exchange(other.mapped_, 0);
		locked_ = std::exchange(other.locked_, false);
	}
	return *this;
}

Result<SecureBuffer> SecureBuffer::random(size_t size)
{
	SecureBuffer buf(size);
	if (size && RAND_bytes(buf.data(), static_cast<int>(size)) != 1)
		return Error(ErrorCode::Crypto, "the random number generator failed");
	return buf;
}

void SecureBuffer::truncate(size_t newSize)
{
	if (newSize >= size_)
		return;
	OPENSSL_cleanse(data_ + newSize, size_ - newSize);
	size_ = newSize;
}

void SecureBuffer::release()
{
	if (!data_)
		return;
	OPENSSL_cleanse(data_, mapped_);
	if (auto observe = releaseObserver.load())
		observe(data_, mapped_, locked_);
	if (locked_)
		munlock(data_, mapped_);
	munmap(data_, mapped_);
	data_ = nullptr;
	size_ = mapped_ = 0;
	locked_ = false;
}

void secureWipe(void *data, size_t size)
{
	if (data && size)
		OPENSSL_cleanse(data, size);
}

} // namespace cvm
