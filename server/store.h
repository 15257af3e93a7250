// SPDX-License-Identifier: Apache-2.0
//
// The attestation server's state in SQLite (WAL): registrations, launches and
// the append-only audit trail, behind typed operations. Sealing is the
// caller's business: the store only ever sees sealed blobs.
//
// Concurrency: a Store is one connection, used by one thread at a time.
// StorePool (store_pool.h) hands read connections to worker threads and runs
// the writes on its writer thread, several requests per transaction. Direct
// write transactions (beginWrite) take the same process-wide mutex as the
// writer thread, so writers queue on a mutex instead of SQLite's sleeping
// busy handler; readers never wait (WAL).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cvm/common/bytes.h"
#include "cvm/common/error.h"
#include "sqlite.h"

namespace cvm::server {

struct VmRecord {
	std::string id;
	std::string scheme;
	std::string reference;     // scheme-specific reference values (JSON)
	std::string secretIndex;   // JSON [{guid, size}] — no values
	Bytes sealedSecrets;       // empty: no secrets
	uint32_t maxLaunches = 1;
	std::optional<int64_t> expiresAt;
	int64_t created = 0;
	int64_t updated = 0;
};

namespace launch_state {
inline constexpr const char *kPending = "pending";
inline constexpr const char *kValidated = "validated";
inline constexpr const char *kRejected = "rejected";
inline constexpr const char *kEnded = "ended";
inline constexpr const char *kExpired = "expired";
inline constexpr const char *kRevoked = "revoked";
} // namespace launch_state

struct LaunchRecord {
	std::string id;
	std::string vmId;
	std::string state;
	uint32_t policy = 0;
	std::string chipId;
	Bytes sealedKeys;          // TEK || TIK sealed; empty once the launch is finished
	int64_t created = 0;
	int64_t expiresAt = 0;
	std::optional<int64_t> finished;
};

struct AuditRecord {
	int64_t seq = 0;
	int64_t time = 0;
	std::string vmId;
	std::string launchId;
	std::string event;
	std::string result;
	std::string message;
	std::string reported;      // JSON text or empty
	std::string expected;      // JSON text or empty
};

struct StoreOptions {
	// synchronous=NORMAL (the default): in WAL mode a commit is written to
	// the WAL (the OS has it) before the answer leaves, so it survives a
	// crash or kill of cvm-attestd; a power loss or kernel crash may lose the
	// last commits (the database stays consistent). FULL also syncs the WAL
	// at every commit (one fsync per group of requests committed together).
	bool syncFull = false;
};

class Store
{
public:
	// Opens the database, sets WAL and the pragmas, and (when `migrate`)
	// brings the schema up to date. Auto-checkpoints stay SQLite's default
	// here; StorePool moves them off the commit path.
	static Result<std::unique_ptr<Store>> open(const std::string &path, bool migrate,
						   const StoreOptions &options = {});

	// The schema version of the open database.
	Result<int> schemaVersion();

	// Write transactions: IMMEDIATE and serialised by the process-wide writer
	// mutex. Read-only work needs no transaction.
	class WriteTransaction
	{
	public:
		Status commit();

	private:
		friend class Store;
		WriteTransaction(std::unique_lock<std::mutex> lock, Transaction txn)
			: lock_(std::move(lock)), txn_(std::move(txn))
		{
		}
		std::unique_lock<std::mutex> lock_;
		Transaction txn_;
	};
	Result<WriteTransaction> beginWrite();

	// --- registrations
	Result<std::optional<VmRecord>> getVm(const std::string &id);
	// Inserts or replaces (keeping `created`); returns true when it was new.
	Result<bool> putVm(const VmRecord &vm);
	Result<bool> deleteVm(const std::string &id);

	// --- launches
	// Pending launches not yet expired plus validated (running) ones: two
	// ranges of the (vm_id, state, expires_at) index, so the cost is the
	// number of active launches, not the VM's history.
	Result<uint32_t> countActiveLaunches(const std::string &vmId, int64_t now);
	Status insertLaunch(const LaunchRecord &launch);
	Result<std::optional<LaunchRecord>> getLaunch(const std::string &vmId, const std::string &launchId);
	// Moves a launch forward and drops its keys (they are needed only while
	// pending). `finishedAt` is set for final states. Fails with Conflict when
	// the launch was not in `fromState` (someone else moved it first).
	Status moveLaunch(const std::string &launchId, const char *fromState, const char *toState,
			  std::optional<int64_t> finishedAt);
	Result<std::vector<LaunchRecord>> listLaunches(const std::string &vmId, size_t limit);
	// Pending launches whose expiry has passed (oldest first, at most `limit`).
	Result<std::vector<LaunchRecord>> expiredPending(int64_t now, size_t limit);
	// All unfinished launches of a VM (for revocation).
	Result<std::vector<LaunchRecord>> unfinishedLaunches(const std::string &vmId);

	// --- audit (append-only; the schema refuses UPDATE and DELETE)
	Status appendAudit(const AuditRecord &record);
	Result<std::vector<AuditRecord>> listAudit(const std::string &vmId, size_t limit);

	Database &database() { return *db_; }

	// The mutex that serialises the writers of the database at `path` in
	// this process (one per file, for the life of the process).
	static std::mutex &writeLockFor(const std::string &path);
	std::mutex &writeLock() { return writeLock_; }

private:
	Store(std::unique_ptr<Database> db, std::mutex &writeLock) : db_(std::move(db)), writeLock_(writeLock) {}
	std::unique_ptr<Database> db_;
	std::mutex &writeLock_;
};

} // namespace cvm::server
