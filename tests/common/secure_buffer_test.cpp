// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <string>

#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cvm/common/secure_buffer.h"

using namespace cvm;

namespace {

// AddressSanitizer replaces mlock/munlock with no-ops that succeed: there the
// lock itself cannot be observed (the gcc build checks it).
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kMlockReal = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kMlockReal = false;
#else
constexpr bool kMlockReal = true;
#endif
#else
constexpr bool kMlockReal = true;
#endif

// VmLck of this process, in kB (what mlock holds).
long lockedKb()
{
	std::ifstream status("/proc/self/status");
	std::string line;
	while (std::getline(status, line))
		if (line.rfind("VmLck:", 0) == 0)
			return std::stol(line.substr(6));
	return -1;
}

struct Released {
	int calls = 0;
	size_t size = 0;
	bool allZero = false;
	bool locked = false;
} released;

void observe(const uint8_t *pages, size_t size, bool locked)
{
	++released.calls;
	released.size = size;
	released.locked = locked;
	released.allZero = true;
	for (size_t i = 0; i < size; ++i)
		if (pages[i] != 0)
			released.allZero = false;
}

// Drops CAP_IPC_LOCK from this (child) process, so RLIMIT_MEMLOCK applies.
bool dropIpcLock()
{
	__user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
	__user_cap_data_struct data[2] = {};
	if (syscall(SYS_capget, &header, data) != 0)
		return false;
	data[0].effective &= ~(1u << CAP_IPC_LOCK);
	data[0].permitted &= ~(1u << CAP_IPC_LOCK);
	data[0].inheritable &= ~(1u << CAP_IPC_LOCK);
	return syscall(SYS_capset, &header, data) == 0;
}

} // namespace

TEST_CASE("secure buffers copy, move and wipe")
{
	Bytes secret = { 's', 'e', 'c', 'r', 'e', 't' };
	SecureBuffer a(secret);
	REQUIRE(a.size() == 6);
	CHECK(std::memcmp(a.data(), "secret", 6) == 0);

	SecureBuffer b = std::move(a);
	CHECK(a.size() == 0);
	CHECK(a.data() == nullptr);
	CHECK(std::memcmp(b.data(), "secret", 6) == 0);

	SecureBuffer c = b.clone();
	CHECK(constantTimeEqual(b, c));

	c.truncate(3);
	CHECK(c.size() == 3);
	CHECK(c.data()[3] == 0); // the tail was wiped

	secureWipe(secret);
	CHECK(secret.empty());
}

TEST_CASE("random secure buffers differ")
{
	auto r1 = SecureBuffer::random(32);
	auto r2 = SecureBuffer::random(32);
	REQUIRE(r1.ok());
	REQUIRE(r2.ok());
	CHECK_FALSE(constantTimeEqual(*r1, *r2));
}

TEST_CASE("two secrets never share a page")
{
	SecureBuffer a(16), b(16);
	auto page = [](const void *p) { return reinterpret_cast<uintptr_t>(p) / 4096; };
	CHECK(page(a.data()) != page(b.data()));
}

TEST_CASE("freeing a secure buffer wipes all its pages first (destructor and move-assignment)")
{
	detail::setSecureReleaseObserver(observe);
	released = {};
	const size_t size = 5000; // two pages, the second partly used
	{
		SecureBuffer s(size);
		std::memset(s.data(), 0xA5, size);
	}
	CHECK(released.calls == 1);
	CHECK(released.size == 2 * size_t(sysconf(_SC_PAGESIZE)));
	CHECK(released.allZero);

	released = {};
	auto key = SecureBuffer::random(64);
	REQUIRE(key.ok());
	*key = SecureBuffer(Bytes(32, 0x5A)); // the random key is released here
	CHECK(released.calls == 1);
	CHECK(released.allZero);
	CHECK(key->data()[0] == 0x5A);
	detail::setSecureReleaseObserver(nullptr);
}

TEST_CASE("secure buffers are locked in RAM when RLIMIT_MEMLOCK allows, and unlocked when freed")
{
	struct rlimit limit;
	REQUIRE(getrlimit(RLIMIT_MEMLOCK, &limit) == 0);
	long page = sysconf(_SC_PAGESIZE);
	// Ours is enough for a few pages when the hard limit allows it (and root
	// needs none: CAP_IPC_LOCK).
	if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < rlim_t(64 * page)) {
		struct rlimit raised = { std::min<rlim_t>(limit.rlim_max, 64 * page), limit.rlim_max };
		setrlimit(RLIMIT_MEMLOCK, &raised);
	}
	long before = lockedKb();
	REQUIRE(before >= 0);
	detail::setSecureReleaseObserver(observe);
	released = {};
	{
		SecureBuffer s(3 * size_t(page));
		CHECK(s.locked());
		if (kMlockReal)
			CHECK(lockedKb() >= before + 3 * page / 1024);
	}
	CHECK(released.locked);
	CHECK(lockedKb() == before);
	detail::setSecureReleaseObserver(nullptr);
}

TEST_CASE("without the right to lock, a secure buffer still works, unlocked")
{
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		struct rlimit none = { 0, 0 };
		if (setrlimit(RLIMIT_MEMLOCK, &none) != 0 || !dropIpcLock())
			_exit(10);
		SecureBuffer s(Bytes{ 1, 2, 3 });
		if (s.locked() && kMlockReal)
			_exit(11);
		if (s.size() != 3 || s.data()[2] != 3)
			_exit(12);
		_exit(0);
	}
	int status = 0;
	REQUIRE(waitpid(pid, &status, 0) == pid);
	REQUIRE(WIFEXITED(status));
	CHECK(WEXITSTATUS(status) == 0);
}
