// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-attestd"

#include "store_pool.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

#include <glib.h>

namespace cvm::server {

struct StorePool::Pending {
	const WriteJob *job = nullptr;
	Status result;
	bool done = false;
};

Result<std::unique_ptr<StorePool>> StorePool::open(const std::string &path, const StoreOptions &options)
{
	// SQLite would create the file 0644; the -wal and -shm files copy the
	// database's mode, so creating it 0600 first keeps all three private.
	int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return Error(ErrorCode::Io, "cannot open database " + path + ": " + strerror(errno));
	::close(fd);
	std::unique_ptr<StorePool> pool(new StorePool(path, options));
	pool->writer_ = CVM_TRY(pool->openConnection(true));
	auto checkpointer = CVM_TRY(pool->openConnection(false));
	StorePool *raw = pool.get();
	pool->checkpointThread_ = std::thread(
		[raw, store = std::move(checkpointer)]() mutable { raw->checkpointLoop(std::move(store)); });
	return pool;
}

StorePool::~StorePool()
{
	{
		std::lock_guard<std::mutex> guard(queueMutex_);
		stopping_ = true;
	}
	checkpointWake_.notify_all();
	if (checkpointThread_.joinable())
		checkpointThread_.join();
}

Result<std::unique_ptr<Store>> StorePool::openConnection(bool migrate)
{
	auto store = CVM_TRY(Store::open(path_, migrate, options_));
	// Our WAL hook replaces SQLite's auto-checkpoint on this connection: a
	// commit that grows the WAL past the threshold wakes the checkpoint
	// thread instead of checkpointing (and syncing the database) itself.
	sqlite3_wal_hook(store->database().handle(), onWalCommit, this);
	return store;
}

int StorePool::onWalCommit(void *pool, sqlite3 *, const char *, int pages)
{
	if (pages >= kCheckpointPages)
		static_cast<StorePool *>(pool)->requestCheckpoint();
	return SQLITE_OK;
}

void StorePool::requestCheckpoint()
{
	{
		std::lock_guard<std::mutex> guard(queueMutex_);
		checkpointWanted_ = true;
	}
	checkpointWake_.notify_one();
}

void StorePool::checkpointLoop(std::unique_ptr<Store> store)
{
	for (;;) {
		{
			std::unique_lock<std::mutex> lock(queueMutex_);
			checkpointWake_.wait(lock, [this] { return stopping_ || checkpointWanted_; });
			if (stopping_)
				return;
			checkpointWanted_ = false;
		}
		// PASSIVE: copies what it can without waiting for readers or the
		// writer; the next commit after a complete one restarts the WAL.
		int logPages = 0, done = 0;
		int rc = sqlite3_wal_checkpoint_v2(store->database().handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
						   &logPages, &done);
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			g_warning("database: WAL checkpoint failed: %s", sqlite3_errmsg(store->database().handle()));
		std::lock_guard<std::mutex> guard(queueMutex_);
		++stats_.checkpoints;
	}
}

Status StorePool::write(const WriteJob &job)
{
	Pending pending;
	pending.job = &job;
	std::unique_lock<std::mutex> lock(queueMutex_);
	queue_.push_back(&pending);
	while (!pending.done) {
		if (leading_) {
			doneWake_.wait(lock);
			continue;
		}
		// Lead a group: every job queued so far, ours included.
		leading_ = true;
		std::vector<Pending *> group;
		while (!queue_.empty() && group.size() < kMaxGroup) {
			group.push_back(queue_.front());
			queue_.pop_front();
		}
		lock.unlock();
		runGroup(group);
		lock.lock();
		for (Pending *p : group)
			p->done = true;
		stats_.jobs += group.size();
		++stats_.commits;
		leading_ = false;
		// The group's callers, and one of the next group's to lead it.
		doneWake_.notify_all();
	}
	return std::move(pending.result);
}

namespace {

Status execCached(Database &db, const char *sql)
{
	auto st = CVM_TRY(db.cached(sql));
	return st->run();
}

} // namespace

void StorePool::runGroup(const std::vector<Pending *> &group)
{
	Database &db = writer_->database();
	// The same mutex as Store::beginWrite(): direct writers (intel-tdx
	// quotes, tests) and the group never interleave.
	std::lock_guard<std::mutex> writeGuard(writer_->writeLock());
	auto txn = Transaction::begin(db, true);
	if (!txn) {
		for (Pending *p : group)
			p->result = txn.error();
		return;
	}
	for (size_t i = 0; i < group.size(); ++i) {
		Pending *p = group[i];
		Status end = execCached(db, "SAVEPOINT job");
		if (end) {
			p->result = (*p->job)(*writer_);
			if (!p->result)
				end = execCached(db, "ROLLBACK TO job");
			if (end)
				end = execCached(db, "RELEASE job");
		}
		if (!end) {
			// SQLite may have rolled the whole transaction back (I/O
			// error, disk full): nothing of the group is committed.
			Error e = end.error().withContext("database: a group of writes was rolled back");
			for (Pending *q : group)
				if (q->result || q == p)
					q->result = e;
			return; // txn's destructor rolls back what is left
		}
	}
	if (auto s = txn->commit(); !s)
		for (Pending *p : group)
			if (p->result)
				p->result = s;
}

StorePool::Stats StorePool::stats() const
{
	std::lock_guard<std::mutex> guard(queueMutex_);
	return stats_;
}

Result<StorePool::Lease> StorePool::lease()
{
	{
		std::lock_guard<std::mutex> guard(idleMutex_);
		if (!idle_.empty()) {
			auto store = std::move(idle_.back());
			idle_.pop_back();
			return Lease(this, std::move(store));
		}
	}
	auto store = CVM_TRY(openConnection(false));
	return Lease(this, std::move(store));
}

void StorePool::giveBack(std::unique_ptr<Store> store)
{
	std::lock_guard<std::mutex> guard(idleMutex_);
	idle_.push_back(std::move(store));
}

StorePool::Lease::~Lease()
{
	if (store_)
		pool_->giveBack(std::move(store_));
}

} // namespace cvm::server
