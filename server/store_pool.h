// SPDX-License-Identifier: Apache-2.0
//
// The server's connections to its database: read connections leased to worker
// threads, one write connection on which the queued write jobs of several
// requests commit in one transaction (group commit), and a checkpoint thread
// that keeps WAL checkpoints off the commit path.
//
// Group commit without a writer thread: a caller of write() that finds no
// group running leads one itself, with every job queued so far; callers that
// arrive meanwhile queue and wait, and one of them leads the next group. An
// uncontended write costs no thread switch; contended ones share a COMMIT
// (and, with synchronous=FULL, its fsync). A job runs inside its own
// SAVEPOINT: a job that fails is rolled back alone, the others of its group
// still commit. write() returns once the group's COMMIT is done, so the
// caller answers only after its change is committed. Jobs may run on another
// caller's thread: they must be short (SQLite work only: no crypto, no I/O)
// and must not call write() or beginWrite() themselves.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store.h"

namespace cvm::server {

class StorePool
{
public:
	// Opens the first connection, migrates the schema, starts the
	// checkpoint thread.
	static Result<std::unique_ptr<StorePool>> open(const std::string &path, const StoreOptions &options = {});
	// Stops the checkpoint thread. No write() may be running.
	~StorePool();
	StorePool(const StorePool &) = delete;
	StorePool &operator=(const StorePool &) = delete;

	class Lease
	{
	public:
		Lease(StorePool *pool, std::unique_ptr<Store> store) : pool_(pool), store_(std::move(store)) {}
		Lease(Lease &&) noexcept = default;
		~Lease();
		Store *operator->() const { return store_.get(); }
		Store &operator*() const { return *store_; }

	private:
		StorePool *pool_;
		std::unique_ptr<Store> store_;
	};
	// A connection for reads (or a direct beginWrite()).
	Result<Lease> lease();

	using WriteJob = std::function<Status(Store &)>;
	// Runs `job` in the next group's transaction; its status, or the
	// COMMIT's error. Blocks until committed.
	Status write(const WriteJob &job);

	const std::string &path() const { return path_; }

	struct Stats {
		uint64_t jobs = 0;        // write jobs run
		uint64_t commits = 0;     // transactions they shared
		uint64_t checkpoints = 0; // WAL checkpoints run off the commit path
	};
	Stats stats() const;

	// WAL pages after which a commit asks for a checkpoint (SQLite's
	// auto-checkpoint default).
	static constexpr int kCheckpointPages = 1000;
	// Write jobs committed together at most.
	static constexpr size_t kMaxGroup = 128;

private:
	struct Pending;

	StorePool(std::string path, StoreOptions options) : path_(std::move(path)), options_(options) {}
	Result<std::unique_ptr<Store>> openConnection(bool migrate);
	void giveBack(std::unique_ptr<Store> store);
	void runGroup(const std::vector<Pending *> &group);
	void checkpointLoop(std::unique_ptr<Store> store);
	void requestCheckpoint();
	static int onWalCommit(void *pool, sqlite3 *db, const char *name, int pages);

	std::string path_;
	StoreOptions options_;

	std::mutex idleMutex_;
	std::vector<std::unique_ptr<Store>> idle_;

	std::unique_ptr<Store> writer_;   // used by the leader of the running group only
	mutable std::mutex queueMutex_; // guards everything below
	std::condition_variable doneWake_;
	std::deque<Pending *> queue_;
	bool leading_ = false;           // a group is running
	bool stopping_ = false;
	bool checkpointWanted_ = false;
	Stats stats_;
	std::condition_variable checkpointWake_;
	std::thread checkpointThread_;
};

} // namespace cvm::server
