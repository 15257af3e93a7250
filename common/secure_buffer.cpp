// SPDX-License-Identifier: Apache-2.0
#include "cvm/common/secure_buffer.h"

#include <atomic>
#include <cstring>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

#include <pthread.h>
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

namespace {

// Single pages given back by released buffers, wiped and still locked, for
// the next buffer. Mapping, locking, unlocking and unmapping a page per
// buffer costs five system calls, and every munmap in a multithreaded
// process is a TLB shootdown on the other CPUs; a server that makes a few
// dozen secrets per request paid that for each. The pool keeps the one-page-
// per-secret rule (munlock is not reference counted) and gives pages back to
// the system only beyond kMaxPooled.
class PagePool
{
public:
	struct Page {
		void *data;
		bool locked;
	};
	static constexpr size_t kMaxPooled = 1024; // 4 MiB with 4 KiB pages

	bool take(Page &page)
	{
		std::lock_guard<std::mutex> guard(mutex_);
		if (free_.empty())
			return false;
		page = free_.back();
		free_.pop_back();
		return true;
	}
	// false: the pool is full, the caller unmaps the page.
	bool give(Page page)
	{
		std::lock_guard<std::mutex> guard(mutex_);
		if (free_.size() >= kMaxPooled)
			return false;
		free_.push_back(page);
		return true;
	}

	// fork(): memory locks are not inherited, so the child's copies of the
	// pooled pages are unlocked; it must not hand them out as locked. The
	// mutex is held across fork so that the child's copy is consistent.
	void beforeFork() { mutex_.lock(); }
	void afterForkParent() { mutex_.unlock(); }
	void afterForkChild()
	{
		for (const Page &page : free_)
			munmap(page.data, size_t(sysconf(_SC_PAGESIZE)));
		free_.clear();
		mutex_.unlock();
	}

private:
	std::mutex mutex_;
	std::vector<Page> free_;
};

PagePool &pagePool()
{
	// Never destroyed: buffers may be released by static destructors.
	static PagePool *pool = [] {
		auto *p = new PagePool;
		pthread_atfork([] { pagePool().beforeFork(); }, [] { pagePool().afterForkParent(); },
			       [] { pagePool().afterForkChild(); });
		return p;
	}();
	return *pool;
}

} // namespace

SecureBuffer::SecureBuffer(size_t size) : size_(size)
{
	if (size == 0)
		return;
	// Whole pages per buffer: munlock() is not reference counted, so two
	// secrets must never share a locked page.
	mapped_ = (size + pageSize() - 1) / pageSize() * pageSize();
	PagePool::Page page;
	if (mapped_ == pageSize() && pagePool().take(page)) {
		// Wiped to zero when it was given back.
		data_ = static_cast<uint8_t *>(page.data);
		locked_ = page.locked;
		return;
	}
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
	OPENSSL_cleanse(data_, mapped_); // zeroes: a pooled page is handed out zero-filled
	if (auto observe = releaseObserver.load())
		observe(data_, mapped_, locked_);
	if (mapped_ != pageSize() || !pagePool().give(PagePool::Page{ data_, locked_ })) {
		if (locked_)
			munlock(data_, mapped_);
		munmap(data_, mapped_);
	}
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
