// SPDX-License-Identifier: Apache-2.0
//
// `cvm-launch sev measure` streams its inputs: the peak RSS of the process
// (ru_maxrss of the child) is the same for a 512 MiB initrd as for a 1 MiB
// one. The big initrd is a sparse file, so the test costs no disk, only the
// hashing of 512 MiB of zeros.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <spawn.h>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cvm/common/digest.h"
#include "cvm/common/json.h"
#include "sev_test_support.h"
#include "test_support.h"

extern char **environ;

using namespace cvm;
namespace sevtest = cvm::sev::test;

namespace {

struct Peak {
	int exitStatus = -1;
	long maxRssKiB = 0;
};

// Runs argv with stdout into `out` (a file) and returns the child's exit
// status and peak resident set size.
Peak runMeasured(const std::vector<std::string> &args, const std::string &out)
{
	std::vector<char *> argv;
	for (const auto &a : args)
		argv.push_back(const_cast<char *>(a.c_str()));
	argv.push_back(nullptr);
	posix_spawn_file_actions_t actions;
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	pid_t pid = -1;
	int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
	posix_spawn_file_actions_destroy(&actions);
	INFO(args[0] << ": " << std::strerror(rc));
	REQUIRE(rc == 0);
	int status = 0;
	struct rusage usage {};
	pid_t waited;
	do
		waited = wait4(pid, &status, 0, &usage);
	while (waited < 0 && errno == EINTR);
	REQUIRE(waited == pid);
	return { WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), usage.ru_maxrss };
}

std::string writeRandom(const TempDir &dir, const char *name, size_t size)
{
	std::string p = dir.file(name);
	REQUIRE(writeFileAtomic(p, sevtest::randomBytes(size)).ok());
	return p;
}

std::string writeSparse(const TempDir &dir, const char *name, off_t size)
{
	std::string p = dir.file(name);
	UniqueFd fd(open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
	REQUIRE(fd.isValid());
	REQUIRE(ftruncate(fd.get(), size) == 0);
	return p;
}

} // namespace

TEST_CASE("sev measure: peak RSS does not grow with the initrd's size")
{
	sevtest::requireFile(sevtest::kDebianOvmf);
	auto dir = TempDir::create("cvm-sev-rss-").value();
	std::string fw = sevtest::writeKernelHashesFirmware(dir);
	std::string kernel = writeRandom(dir, "kernel", 1u << 20);
	std::string small = writeRandom(dir, "initrd-small", 1u << 20);
	std::string big = writeSparse(dir, "initrd-512m", off_t(512) << 20);
	std::string launch = cvm::test::buildPath("plugin/cvm-launch");

	// The largest of three runs each: page-cache and allocator noise is a
	// few hundred KiB; a buffered 512 MiB input would be 512 MiB.
	auto peak = [&](const std::string &initrd) {
		long worst = 0;
		for (int i = 0; i < 3; ++i) {
			std::string out = dir.file("out.json");
			Peak p = runMeasured({ launch, "sev", "measure", "--firmware", fw, "--kernel", kernel,
					       "--initrd", initrd, "--json" },
					     out);
			REQUIRE(p.exitStatus == 0);
			worst = std::max(worst, p.maxRssKiB);
			// The initrd was read to its end: its hash is in the output.
			auto o = json::parseObject(readTextFile(out).value());
			REQUIRE(o.ok());
			JsonObject *hashes = json::getObject(json_node_get_object(o->get()), "kernel-hashes").value();
			CHECK(json::getHex(hashes, "initrd").value() == digestFile(DigestAlgorithm::Sha256, initrd).value());
		}
		return worst;
	};
	long smallRss = peak(small);
	long bigRss = peak(big);
	INFO("peak RSS: 1 MiB initrd " << smallRss << " KiB, 512 MiB initrd " << bigRss << " KiB");
	CHECK(smallRss > 0);
	CHECK(bigRss <= smallRss + 4096);
	// And small in absolute terms: a few MiB of libraries and one read buffer.
	CHECK(bigRss < 64 * 1024);
}
