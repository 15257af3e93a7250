// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-plugin"

#include "cvm/plugin/launch_records.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <glib.h>

#include "cvm/attest/protocol.h"
#include "cvm/common/file.h"
#include "cvm/common/json.h"

namespace cvm::plugin {

namespace {

constexpr size_t kMaxRecordSize = 64 * 1024;

Result<RecordState> parseState(std::string_view s)
{
	if (s == "pending")
		return RecordState::Pending;
	if (s == "started")
		return RecordState::Started;
	if (s == "running")
		return RecordState::Running;
	return Error(ErrorCode::InvalidData, "launch record: unknown state '" + std::string(s) + "'");
}

} // namespace

std::string_view recordStateName(RecordState s)
{
	switch (s) {
	case RecordState::Pending:
		return "pending";
	case RecordState::Started:
		return "started";
	case RecordState::Running:
		return "running";
	}
	return "?";
}

std::string recordToJson(const LaunchRecord &r)
{
	json::ObjectBuilder b;
	b.setString("uuid", r.uuid)
		.setString("domain", r.domain)
		.setString("server", r.server)
		.setString("ca", r.caFile)
		.setString("vm", r.vmId)
		.setString("launch-id", r.launchId)
		.setString("session", r.session)
		.setString("state", recordStateName(r.state))
		.setInt("created", r.created)
		.setInt("expires", r.expires)
		.setInt("pid", r.pid);
	return b.serialize(true) + "\n";
}

Result<LaunchRecord> parseRecord(std::string_view text)
{
	auto node = CVM_TRY(json::parseObject(text));
	JsonObject *o = json_node_get_object(node.get());
	LaunchRecord r;
	r.uuid = CVM_TRY(json::getString(o, "uuid"));
	r.domain = CVM_TRY(json::getString(o, "domain"));
	r.server = CVM_TRY(json::getString(o, "server"));
	r.caFile = CVM_TRY(json::getString(o, "ca"));
	r.vmId = CVM_TRY(json::getString(o, "vm"));
	r.launchId = CVM_TRY(json::getString(o, "launch-id"));
	r.session = CVM_TRY(json::getString(o, "session"));
	r.state = CVM_TRY(parseState(CVM_TRY(json::getString(o, "state"))));
	r.created = CVM_TRY(json::getInt(o, "created"));
	r.expires = CVM_TRY(json::getInt(o, "expires"));
	r.pid = static_cast<pid_t>(CVM_TRY(json::getIntInRange(o, "pid", 0, INT32_MAX)));
	if (!attest::isValidId(r.uuid))
		return Error(ErrorCode::InvalidData, "launch record: bad uuid '" + r.uuid + "'");
	return r;
}

std::string LaunchRecords::pathFor(std::string_view uuid) const
{
	return dir_ + "/" + std::string(uuid) + ".json";
}

Status LaunchRecords::write(const LaunchRecord &r)
{
	if (!attest::isValidId(r.uuid))
		return Error(ErrorCode::InvalidArgument, "launch record: bad uuid '" + r.uuid + "'");
	CVM_CHECK(makeDirectories(dir_, 0700));
	std::string text = recordToJson(r);
	if (auto st = writeFileAtomic(pathFor(r.uuid), asBytes(text), 0600); !st)
		return st.error().withContext("writing the launch record");
	return {};
}

Result<std::optional<LaunchRecord>> LaunchRecords::read(std::string_view uuid) const
{
	if (!attest::isValidId(uuid))
		return std::optional<LaunchRecord>();
	std::string path = pathFor(uuid);
	if (!fileExists(path))
		return std::optional<LaunchRecord>();
	std::string text = CVM_TRY(readTextFile(path, kMaxRecordSize));
	auto r = parseRecord(text);
	if (!r)
		return r.error().withContext(path);
	return std::optional<LaunchRecord>(std::move(r).value());
}

Status LaunchRecords::remove(std::string_view uuid)
{
	if (!attest::isValidId(uuid))
		return {};
	std::string path = pathFor(uuid);
	if (unlink(path.c_str()) != 0 && errno != ENOENT)
		return Error(ErrorCode::Io, "cannot remove " + path + ": " + strerror(errno));
	return {};
}

Result<UniqueFd> LaunchRecords::lock(std::string_view uuid)
{
	if (!attest::isValidId(uuid))
		return Error(ErrorCode::InvalidArgument, "launch lock: bad uuid '" + std::string(uuid) + "'");
	CVM_CHECK(makeDirectories(dir_, 0700));
	std::string path = dir_ + "/" + std::string(uuid) + ".lock";
	UniqueFd fd(open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
	if (!fd.isValid())
		return Error(ErrorCode::Io, "cannot open the launch lock " + path + ": " + strerror(errno));
	while (flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK)
			return Error(ErrorCode::Conflict, "another cvm-launch is launching this domain (" + path + " is locked)");
		return Error(ErrorCode::Io, "cannot lock " + path + ": " + strerror(errno));
	}
	return fd;
}

FileLaunchJournal::FileLaunchJournal(LaunchRecords &records, LaunchRecord base, int64_t lifetimeSeconds)
	: records_(records), base_(std::move(base)), lifetime_(lifetimeSeconds)
{
}

Status FileLaunchJournal::recordPending(std::string_view launchId, ByteView session)
{
	base_.launchId = std::string(launchId);
	base_.session = toBase64(session);
	base_.state = RecordState::Pending;
	base_.created = g_get_real_time() / G_USEC_PER_SEC;
	base_.expires = base_.created + lifetime_;
	CVM_CHECK(records_.write(base_));
	written_ = true;
	return {};
}

Status FileLaunchJournal::recordRunning(std::string_view launchId)
{
	base_.launchId = std::string(launchId);
	base_.state = RecordState::Running;
	return records_.write(base_);
}

void FileLaunchJournal::clear()
{
	if (!written_)
		return;
	if (auto st = records_.remove(base_.uuid); !st)
		g_warning("%s", st.error().message().c_str());
	written_ = false;
}

} // namespace cvm::plugin
