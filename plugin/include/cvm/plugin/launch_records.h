// SPDX-License-Identifier: Apache-2.0
//
// Launch records under the state directory (default /run/cvm-launch): what
// `cvm-launch` tells the libvirt hook. One JSON file per domain, named by its
// UUID, 0600 in a 0700 directory. States:
//
//   pending  written before the paused start: the hook lets exactly this
//            session start this domain, once, before `expires`;
//   started  the hook let it start (a second start with the same session is
//            refused: never two guests on one TEK/TIK);
//   running  the guest was resumed; the hook's `release end` reports the end
//            of the launch to the AS and removes the record.
//
// The session blob is wrapped for the platform (the host cannot open it), so
// it is not secret; the record holds no key and no secret.
//
// Beside each record, UUID.lock: the launch lock. A `cvm-launch start` holds
// it (flock) from before its first look at the record until it exits, so one
// launch at a time runs per domain and a record whose lock is free belongs to
// no running launch (a crashed or killed one, or a finished one).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <sys/types.h>

#include "cvm/common/error.h"
#include "cvm/common/file.h"
#include "cvm/plugin/launch.h"

namespace cvm::plugin {

enum class RecordState { Pending, Started, Running };
std::string_view recordStateName(RecordState state);

struct LaunchRecord {
	std::string uuid;            // the domain's UUID (the file name)
	std::string domain;          // its name, for messages
	std::string server;          // AS URL
	std::string caFile;          // CA bundle for the AS ("" = system)
	std::string vmId;
	std::string launchId;
	std::string session;         // base64, as in <launchSecurity><session>
	RecordState state = RecordState::Pending;
	int64_t created = 0;         // unix seconds
	int64_t expires = 0;         // a pending record authorises nothing after this
	pid_t pid = 0;               // the cvm-launch that wrote it
};

std::string recordToJson(const LaunchRecord &record);
Result<LaunchRecord> parseRecord(std::string_view json);

class LaunchRecords
{
public:
	explicit LaunchRecords(std::string stateDir) : dir_(std::move(stateDir)) {}
	const std::string &dir() const { return dir_; }
	std::string pathFor(std::string_view uuid) const;

	Status write(const LaunchRecord &record);
	// nullopt when there is none; an error when it exists but cannot be read.
	Result<std::optional<LaunchRecord>> read(std::string_view uuid) const;
	Status remove(std::string_view uuid);
	// Takes the domain's launch lock for the life of the returned fd; a
	// Conflict error when another process holds it (never waits).
	Result<UniqueFd> lock(std::string_view uuid);

private:
	std::string dir_;
};

// The LaunchJournal of a real launch: records under `records`, built from `base`
// (uuid, domain, server, vm id, CA, pid, lifetime filled in by the caller).
class FileLaunchJournal : public LaunchJournal
{
public:
	FileLaunchJournal(LaunchRecords &records, LaunchRecord base, int64_t lifetimeSeconds);
	Status recordPending(std::string_view launchId, ByteView session) override;
	Status recordRunning(std::string_view launchId) override;
	void clear() override;

private:
	LaunchRecords &records_;
	LaunchRecord base_;
	int64_t lifetime_;
	bool written_ = false;
};

} // namespace cvm::plugin
