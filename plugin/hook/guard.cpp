// SPDX-License-Identifier: Apache-2.0
//
// cvm-launch-hook: the libvirt QEMU hook (/etc/libvirt/hooks/qemu.d/). libvirt
// runs every hook for every domain start and stop, so the common case — a
// domain without cvm-launch metadata — must cost next to nothing: this guard
// links nothing but libc, reads the XML, and exits 0 unless the XML may carry
// our namespace (the test of mayHaveLaunchMetadata: the URI, a character
// reference or a DOCTYPE). Otherwise it hands the XML (in a memfd on stdin)
// and its arguments to cvm-launch-hook-check beside it, which decides.
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <libgen.h>
#include <sys/mman.h>
#include <unistd.h>

namespace {

constexpr size_t kMaxXml = 16u << 20;   // = kMaxDomainXmlSize
constexpr int kRefused = 1;

bool contains(const char *data, size_t size, const char *needle)
{
	return memmem(data, size, needle, strlen(needle)) != nullptr;
}

// Reads stdin into a growing buffer (freed by exit).
char *readAll(size_t &size)
{
	size_t cap = 1 << 16;
	char *buf = static_cast<char *>(malloc(cap));
	size = 0;
	while (buf) {
		if (size == cap) {
			if (cap >= kMaxXml + 1)
				return nullptr;
			cap *= 2;
			buf = static_cast<char *>(realloc(buf, cap));
			if (!buf)
				return nullptr;
		}
		ssize_t n = read(STDIN_FILENO, buf + size, cap - size);
		if (n == 0)
			return size > kMaxXml ? nullptr : buf;
		if (n < 0 && errno != EINTR)
			return nullptr;
		if (n > 0)
			size += static_cast<size_t>(n);
	}
	return nullptr;
}

} // namespace

int main(int argc, char **argv)
{
	if (argc < 4)
		return 0;
	bool prepare = !strcmp(argv[2], "prepare") && !strcmp(argv[3], "begin");
	bool release = !strcmp(argv[2], "release") && !strcmp(argv[3], "end");
	if (!prepare && !release)
		return 0;
	size_t size = 0;
	char *xml = readAll(size);
	if (!xml) {
		fprintf(stderr, "cvm-launch: cannot read the domain XML from libvirt\n");
		return prepare ? kRefused : 0;
	}
	if (!contains(xml, size, "https://cvm-launch.org/xmlns/1") && !contains(xml, size, "&#") &&
	    !contains(xml, size, "<!DOCTYPE"))
		return 0;

	int fd = memfd_create("domain-xml", MFD_CLOEXEC);
	size_t done = 0;
	while (fd >= 0 && done < size) {
		ssize_t n = write(fd, xml + done, size - done);
		if (n <= 0 && errno != EINTR)
			break;
		if (n > 0)
			done += static_cast<size_t>(n);
	}
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (fd < 0 || done != size || lseek(fd, 0, SEEK_SET) != 0 || n <= 0 || dup2(fd, STDIN_FILENO) < 0) {
		fprintf(stderr, "cvm-launch: cannot hand the domain XML over: %s\n", strerror(errno));
		return prepare ? kRefused : 0;
	}
	self[n] = '\0';
	char check[PATH_MAX + 32];
	snprintf(check, sizeof(check), "%s/cvm-launch-hook-check", dirname(self));
	argv[0] = check;
	execv(check, argv);
	fprintf(stderr, "cvm-launch: cannot run %s: %s\n", check, strerror(errno));
	return prepare ? kRefused : 0;
}
