// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-attestd"

#include "store.h"

#include <map>

#include "store_schema.h"

namespace cvm::server {

namespace {

constexpr const char *kLaunchColumns =
	"id, vm_id, state, policy, chip_id, keys, created_at, expires_at, finished_at";

LaunchRecord readLaunch(const Statement &st)
{
	LaunchRecord l;
	l.id = st.text(0);
	l.vmId = st.text(1);
	l.state = st.text(2);
	l.policy = static_cast<uint32_t>(st.integer(3));
	l.chipId = st.text(4);
	if (!st.isNull(5))
		l.sealedKeys = st.blob(5);
	l.created = st.integer(6);
	l.expiresAt = st.integer(7);
	l.finished = st.optionalInteger(8);
	return l;
}

Result<std::vector<LaunchRecord>> readLaunches(Statement &st)
{
	std::vector<LaunchRecord> out;
	while (CVM_TRY(st.step()))
		out.push_back(readLaunch(st));
	return out;
}

} // namespace

std::mutex &Store::writeLockFor(const std::string &path)
{
	static std::mutex mapMutex;
	static std::map<std::string, std::unique_ptr<std::mutex>> locks;
	std::lock_guard<std::mutex> guard(mapMutex);
	auto &slot = locks[path];
	if (!slot)
		slot = std::make_unique<std::mutex>();
	return *slot;
}

Result<std::unique_ptr<Store>> Store::open(const std::string &path, bool migrate, const StoreOptions &options)
{
	auto db = CVM_TRY(Database::open(path));
	// busy_timeout only matters against other processes (an admin's sqlite3
	// shell): our own writers queue on the write mutex.
	CVM_CHECK(db->exec("PRAGMA busy_timeout = 5000"));
	{
		// journal_mode answers the mode it ended up in: a file system without
		// shared memory support silently keeps the rollback journal.
		Statement wal = CVM_TRY(db->prepare("PRAGMA journal_mode = WAL"));
		if (!CVM_TRY(wal.step()) || wal.text(0) != "wal")
			return Error(ErrorCode::Unsupported, "database " + path + ": SQLite cannot use WAL mode there (journal "
							     "mode '" + wal.text(0) + "'); put the database on a local file system");
	}
	CVM_CHECK(db->exec(options.syncFull ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL"));
	// Freed pages are zeroed: a dropped sealed blob does not linger in the file.
	CVM_CHECK(db->exec("PRAGMA secure_delete = ON"));
	std::unique_ptr<Store> store(new Store(std::move(db), writeLockFor(path)));
	if (migrate) {
		std::lock_guard<std::mutex> guard(store->writeLock_);
		CVM_CHECK(migrateSchema(*store->db_));
	}
	return store;
}

Result<int> Store::schemaVersion()
{
	return currentSchemaVersion(*db_);
}

Result<Store::WriteTransaction> Store::beginWrite()
{
	std::unique_lock<std::mutex> lock(writeLock_);
	Transaction txn = CVM_TRY(Transaction::begin(*db_, true));
	return WriteTransaction(std::move(lock), std::move(txn));
}

Status Store::WriteTransaction::commit()
{
	auto s = txn_.commit();
	lock_.unlock();
	return s;
}

Result<std::optional<VmRecord>> Store::getVm(const std::string &id)
{
	auto st = CVM_TRY(db_->cached("SELECT id, scheme, reference, secret_index, secrets, max_launches, "
				      "expires_at, created_at, updated_at FROM vms WHERE id = ?"));
	st->bind(1, id);
	if (!CVM_TRY(st->step()))
		return std::optional<VmRecord>();
	VmRecord vm;
	vm.id = st->text(0);
	vm.scheme = st->text(1);
	vm.reference = st->text(2);
	vm.secretIndex = st->text(3);
	if (!st->isNull(4))
		vm.sealedSecrets = st->blob(4);
	vm.maxLaunches = static_cast<uint32_t>(st->integer(5));
	vm.expiresAt = st->optionalInteger(6);
	vm.created = st->integer(7);
	vm.updated = st->integer(8);
	return std::optional<VmRecord>(std::move(vm));
}

Result<bool> Store::putVm(const VmRecord &vm)
{
	auto existing = CVM_TRY(getVm(vm.id));
	auto st = CVM_TRY(db_->cached(
		"INSERT INTO vms (id, scheme, reference, secret_index, secrets, max_launches, expires_at, "
		"created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
		"ON CONFLICT (id) DO UPDATE SET scheme = ?2, reference = ?3, secret_index = ?4, secrets = ?5, "
		"max_launches = ?6, expires_at = ?7, updated_at = ?9"));
	st->bind(1, vm.id).bind(2, vm.scheme).bind(3, vm.reference).bind(4, vm.secretIndex);
	if (vm.sealedSecrets.empty())
		st->bindNull(5);
	else
		st->bind(5, vm.sealedSecrets);
	st->bind(6, static_cast<int64_t>(vm.maxLaunches)).bind(7, vm.expiresAt).bind(8, vm.created).bind(9, vm.updated);
	CVM_CHECK(st->run());
	return !existing.has_value();
}

Result<bool> Store::deleteVm(const std::string &id)
{
	auto st = CVM_TRY(db_->cached("DELETE FROM vms WHERE id = ?"));
	st->bind(1, id);
	CVM_CHECK(st->run());
	return db_->changes() > 0;
}

Result<uint32_t> Store::countActiveLaunches(const std::string &vmId, int64_t now)
{
	auto st = CVM_TRY(db_->cached(
		"SELECT (SELECT count(*) FROM launches WHERE vm_id = ?1 AND state = 'validated') + "
		"(SELECT count(*) FROM launches WHERE vm_id = ?1 AND state = 'pending' AND expires_at > ?2)"));
	st->bind(1, vmId).bind(2, now);
	CVM_TRY(st->step());
	return static_cast<uint32_t>(st->integer(0));
}

Status Store::insertLaunch(const LaunchRecord &l)
{
	auto st = CVM_TRY(db_->cached("INSERT INTO launches (id, vm_id, state, policy, chip_id, keys, created_at, "
				      "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
	st->bind(1, l.id).bind(2, l.vmId).bind(3, l.state).bind(4, static_cast<int64_t>(l.policy));
	if (l.chipId.empty())
		st->bindNull(5);
	else
		st->bind(5, l.chipId);
	st->bind(6, l.sealedKeys).bind(7, l.created).bind(8, l.expiresAt);
	return st->run();
}

Result<std::optional<LaunchRecord>> Store::getLaunch(const std::string &vmId, const std::string &launchId)
{
	auto st = CVM_TRY(db_->cached("SELECT id, vm_id, state, policy, chip_id, keys, created_at, expires_at, "
				      "finished_at FROM launches WHERE id = ? AND vm_id = ?"));
	st->bind(1, launchId).bind(2, vmId);
	if (!CVM_TRY(st->step()))
		return std::optional<LaunchRecord>();
	return std::optional<LaunchRecord>(readLaunch(*st));
}

Status Store::moveLaunch(const std::string &launchId, const char *fromState, const char *toState,
			 std::optional<int64_t> finishedAt)
{
	auto st = CVM_TRY(db_->cached("UPDATE launches SET state = ?1, keys = NULL, finished_at = ?2 "
				      "WHERE id = ?3 AND state = ?4"));
	st->bind(1, toState).bind(2, finishedAt).bind(3, launchId).bind(4, fromState);
	CVM_CHECK(st->run());
	if (db_->changes() != 1)
		return Error(ErrorCode::Conflict, "launch " + launchId + " is no longer " + fromState);
	return {};
}

Result<std::vector<LaunchRecord>> Store::listLaunches(const std::string &vmId, size_t limit)
{
	std::string sql = std::string("SELECT ") + kLaunchColumns +
			  " FROM launches WHERE vm_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?";
	Statement st = CVM_TRY(db_->prepare(sql));
	st.bind(1, vmId).bind(2, static_cast<int64_t>(limit));
	return readLaunches(st);
}

Result<std::vector<LaunchRecord>> Store::expiredPending(int64_t now, size_t limit)
{
	std::string sql = std::string("SELECT ") + kLaunchColumns +
			  " FROM launches WHERE state = 'pending' AND expires_at <= ? ORDER BY expires_at LIMIT ?";
	Statement st = CVM_TRY(db_->prepare(sql));
	st.bind(1, now).bind(2, static_cast<int64_t>(limit));
	return readLaunches(st);
}

Result<std::vector<LaunchRecord>> Store::unfinishedLaunches(const std::string &vmId)
{
	std::string sql = std::string("SELECT ") + kLaunchColumns +
			  " FROM launches WHERE vm_id = ? AND state IN ('pending', 'validated')";
	Statement st = CVM_TRY(db_->prepare(sql));
	st.bind(1, vmId);
	return readLaunches(st);
}

Status Store::appendAudit(const AuditRecord &r)
{
	auto st = CVM_TRY(db_->cached("INSERT INTO audit (at, vm_id, launch_id, event, result, message, reported, "
				      "expected) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
	st->bind(1, r.time).bind(2, r.vmId);
	auto optionalText = [&](int i, const std::string &v) {
		if (v.empty())
			st->bindNull(i);
		else
			st->bind(i, v);
	};
	optionalText(3, r.launchId);
	st->bind(4, r.event).bind(5, r.result).bind(6, r.message);
	optionalText(7, r.reported);
	optionalText(8, r.expected);
	return st->run();
}

Result<std::vector<AuditRecord>> Store::listAudit(const std::string &vmId, size_t limit)
{
	// The newest `limit` records, returned oldest first.
	Statement st = CVM_TRY(db_->prepare(
		"SELECT * FROM (SELECT seq, at, vm_id, launch_id, event, result, message, reported, expected "
		"FROM audit WHERE vm_id = ? ORDER BY seq DESC LIMIT ?) ORDER BY seq"));
	st.bind(1, vmId).bind(2, static_cast<int64_t>(limit));
	std::vector<AuditRecord> out;
	while (CVM_TRY(st.step())) {
		AuditRecord r;
		r.seq = st.integer(0);
		r.time = st.integer(1);
		r.vmId = st.text(2);
		r.launchId = st.text(3);
		r.event = st.text(4);
		r.result = st.text(5);
		r.message = st.text(6);
		r.reported = st.text(7);
		r.expected = st.text(8);
		out.push_back(std::move(r));
	}
	return out;
}

} // namespace cvm::server
