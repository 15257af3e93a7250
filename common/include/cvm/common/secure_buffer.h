// SPDX-License-Identifier: Apache-2.0
//
// SecureBuffer: memory for key material and secret payloads. It lives in its
// own anonymous pages, locked in RAM where the process may (so it never reaches
// swap), excluded from core dumps, and wiped with OPENSSL_cleanse before it is
// released. Move-only: a secret has one owner and copies are explicit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "cvm/common/bytes.h"
#include "cvm/common/error.h"

namespace cvm {

class SecureBuffer
{
public:
	SecureBuffer() = default;
	explicit SecureBuffer(size_t size);       // zero-filled
	explicit SecureBuffer(ByteView contents); // copies (the caller wipes its copy)
	~SecureBuffer();

	SecureBuffer(SecureBuffer &&other) noexcept;
	SecureBuffer &operator=(SecureBuffer &&other) noexcept;
	SecureBuffer(const SecureBuffer &) = delete;
	SecureBuffer &operator=(const SecureBuffer &) = delete;

	// Fresh bytes from the OpenSSL CSPRNG.
	static Result<SecureBuffer> random(size_t size);

	SecureBuffer clone() const { return SecureBuffer(view()); }

	uint8_t *data() { return data_; }
	const uint8_t *data() const { return data_; }
	size_t size() const { return size_; }
	bool empty() const { return size_ == 0; }
	ByteView view() const { return ByteView(data_, size_); }
	MutableByteView span() { return MutableByteView(data_, size_); }
	operator ByteView() const { return view(); }

	// Whether the pages could be locked (mlock can fail under RLIMIT_MEMLOCK).
	bool locked() const { return locked_; }

	// Shrinks the visible size (e.g. after decrypting into a larger buffer);
	// the tail is wiped.
	void truncate(size_t newSize);

private:
	void release();

	uint8_t *data_ = nullptr;
	size_t size_ = 0;
	size_t mapped_ = 0;
	bool locked_ = false;
};

namespace detail {
// Test seam: when set, called by every release with the buffer's whole pages
// right after they were wiped and before they are unlocked and unmapped, so a
// test can see that freeing wipes. Not for production code.
using SecureReleaseObserver = void (*)(const uint8_t *pages, size_t size, bool locked);
void setSecureReleaseObserver(SecureReleaseObserver observer);
} // namespace detail

// Wipes a plain buffer that held secret bytes (e.g. a std::string read from a
// file before it was moved into a SecureBuffer).
void secureWipe(void *data, size_t size);
inline void secureWipe(Bytes &b) { secureWipe(b.data(), b.size()); b.clear(); }

} // namespace cvm
