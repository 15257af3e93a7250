// SPDX-License-Identifier: Apache-2.0
//
// cvm-launch-hook-check: the decisions of the libvirt hook, exec'd by
// cvm-launch-hook (guard.cpp) when a domain's XML may carry our metadata, with
// the same arguments and the XML on stdin. libvirt runs the hook
// synchronously, so this is a fast guard and a lifecycle notifier, never a
// libvirt client (calling back into libvirt deadlocks):
//
//  prepare begin  without <cvm:launch> metadata: exit 0 at once; with it:
//                 allowed only for the session of a pending cvm-launch record,
//                 refused otherwise (stderr reaches the admin through libvirt);
//  release end    when the domain that stopped carried the record's session,
//                 the launch is over: a detached `cvm-launch hook end` tells
//                 the AS (bounded by end-timeout) and the record is removed;
//                 any other release (a refused start) leaves the record.
//
// With plain-start="attest", a refused start is handed over to a detached
// `cvm-launch start NAME` whose output goes to <state-dir>/<uuid>.start.log
// (0600, rewritten by each hand-over), the path named in the refusal.
// Everything it starts is detached (own session, stdin on /dev/null, stdout
// and stderr on that log or /dev/null), so libvirt, which waits for the
// hook's output to close, is never held up.
#define G_LOG_DOMAIN "cvm-hook"

// The XML has already passed the guard's namespace test.

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include <fcntl.h>
#include <libgen.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>

#include "cvm-config.h"
#include "cvm/attest/protocol.h"
#include "cvm/common/file.h"
#include "cvm/plugin/domain_xml.h"
#include "cvm/plugin/hook_decision.h"
#include "cvm/plugin/launch_records.h"
#include "cvm/plugin/settings.h"

using namespace cvm;
using namespace cvm::plugin;

namespace {

constexpr int kRefused = 1;

bool readAll(int fd, std::string &out)
{
	char buf[65536];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n == 0)
			return true;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		out.append(buf, static_cast<size_t>(n));
		if (out.size() > kMaxDomainXmlSize)
			return false;
	}
}

std::string cvmLaunchPath()
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		std::string sibling = std::string(dirname(self)) + "/cvm-launch";
		if (access(sibling.c_str(), X_OK) == 0)
			return sibling;
	}
	return std::string(CVM_BINDIR) + "/cvm-launch";
}

// Double fork: the grandchild belongs to no one libvirt waits for. Its
// stdout and stderr go to `logFd` (closed here) or /dev/null when it is -1.
void spawnDetached(const std::vector<std::string> &args, int logFd = -1)
{
	pid_t child = fork();
	if (child < 0) {
		fprintf(stderr, "cvm-launch-hook: fork: %s\n", strerror(errno));
		if (logFd >= 0)
			close(logFd);
		return;
	}
	if (child == 0) {
		setsid();
		if (fork() != 0)
			_exit(0);
		int null = open("/dev/null", O_RDWR);
		dup2(null, STDIN_FILENO);
		for (int fd = STDOUT_FILENO; fd <= STDERR_FILENO; ++fd)
			dup2(logFd >= 0 ? logFd : null, fd);
		for (int fd = 3; fd < 1024; ++fd)
			close(fd);
		std::vector<char *> argv;
		for (const auto &a : args)
			argv.push_back(const_cast<char *>(a.c_str()));
		argv.push_back(nullptr);
		execv(argv[0], argv.data());
		_exit(127);
	}
	if (logFd >= 0)
		close(logFd);
	int status = 0;
	while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
	}
}

// The hand-over's log, <state-dir>/<uuid>.start.log (0600, truncated), opened
// with a first line saying what runs; -1 (and a note on stderr) when it cannot be.
int openHandOverLog(const std::string &stateDir, const std::string &uuid, const std::string &name,
		    std::string &path)
{
	path = stateDir + "/" + uuid + ".start.log";
	std::string why;
	int fd = -1;
	if (!attest::isValidId(uuid))
		why = "the domain has no valid UUID";
	else if (auto st = makeDirectories(stateDir, 0700); !st)
		why = st.error().message();
	else if ((fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
		why = strerror(errno);
	if (fd < 0) {
		fprintf(stderr, "cvm-launch: cannot write %s (%s): the background launch's output is lost\n",
			path.c_str(), why.c_str());
		return -1;
	}
	char now[64] = "";
	time_t t = time(nullptr);
	struct tm tm;
	if (localtime_r(&t, &tm))
		strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%S%z", &tm);
	std::string head = "cvm-launch-hook: " + std::string(now) + ": plain start of '" + name +
			   "' refused (plain-start=\"attest\"); running: cvm-launch start " + name + "\n";
	if (write(fd, head.data(), head.size()) < 0) {
		// The log stays usable for the launch's own output.
	}
	return fd;
}

Result<Settings> settings()
{
	auto s = CVM_TRY(loadSettings(configLocation()));
	CVM_CHECK(validateSettings(s));
	return s;
}

int prepareBegin(const std::string &name, const std::string &xml)
{
	if (!mayHaveLaunchMetadata(xml))
		return 0;
	auto doc = DomainXml::parse(xml);
	if (!doc) {
		// Only a document that may carry our metadata gets here: refuse.
		fprintf(stderr, "cvm-launch: cannot check domain '%s': %s\n", name.c_str(), doc.error().message().c_str());
		return kRefused;
	}
	PrepareInput in;
	in.name = doc->name().empty() ? name : doc->name();
	in.metadata = doc->metadata();
	if (in.metadata.ok() && !in.metadata->has_value())
		return 0;
	auto s = settings();
	if (!s) {
		fprintf(stderr, "cvm-launch: %s\n", s.error().message().c_str());
		return kRefused;
	}
	LaunchRecords records(s->stateDir);
	in.session = doc->launchToken(); // SEV session, or a TD's hand-over item
	in.record = records.read(doc->uuid());
	in.now = g_get_real_time() / G_USEC_PER_SEC;
	PrepareDecision d = decidePrepare(in);
	if (d.consumeRecord) {
		LaunchRecord r = **in.record;
		r.state = RecordState::Started;
		if (auto st = records.write(r); !st) {
			fprintf(stderr, "cvm-launch: %s\n", st.error().message().c_str());
			return kRefused;
		}
	}
	if (d.allow)
		return 0;
	fprintf(stderr, "%s\n", d.message.c_str());
	if (d.handOver) {
		std::string log;
		int fd = openHandOverLog(s->stateDir, doc->uuid(), in.name, log);
		if (fd >= 0)
			fprintf(stderr, "cvm-launch: the background launch's output: %s\n", log.c_str());
		spawnDetached({ cvmLaunchPath(), "start", in.name, "--delay", "2" }, fd);
	}
	return kRefused;
}

int releaseEnd(const std::string &xml)
{
	if (!mayHaveLaunchMetadata(xml))
		return 0;
	auto doc = DomainXml::parse(xml);
	if (!doc)
		return 0;
	auto s = settings();
	if (!s)
		return 0;
	LaunchRecords records(s->stateDir);
	auto rec = records.read(doc->uuid());
	if (!rec || !rec->has_value())
		return 0;
	const LaunchRecord &r = **rec;
	// libvirt runs release end for every start that ends, refused ones
	// included: only the guest that carried this launch's session ends it
	// (a refused plain start must not void a launch in flight).
	auto session = doc->sevSession();
	if (!session || *session != r.session)
		return 0;
	(void)records.remove(r.uuid);
	std::vector<std::string> args = { cvmLaunchPath(), "hook", "end", "--as", r.server, "--vm", r.vmId,
					  "--launch-id", r.launchId, "--reason",
					  "domain " + r.domain + " stopped (" + std::string(recordStateName(r.state)) + ")" };
	if (!r.caFile.empty())
		args.insert(args.end(), { "--ca", r.caFile });
	spawnDetached(args);
	return 0;
}

} // namespace

int main(int argc, char **argv)
{
	if (argc < 3)
		return 0;
	std::string op = argv[2], sub = argc > 3 ? argv[3] : "";
	bool prepare = op == "prepare" && sub == "begin";
	bool release = op == "release" && sub == "end";
	if (!prepare && !release)
		return 0;
	std::string xml;
	if (!readAll(STDIN_FILENO, xml)) {
		fprintf(stderr, "cvm-launch: cannot read the domain XML from libvirt\n");
		return prepare ? kRefused : 0;
	}
	return prepare ? prepareBegin(argv[1], xml) : releaseEnd(xml);
}
