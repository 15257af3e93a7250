// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-attestd"

#include "sqlite.h"

#include <glib.h>

namespace cvm::server {

Statement &Statement::bind(int index, int64_t value)
{
	int rc = sqlite3_bind_int64(stmt_.get(), index, value);
	if (rc != SQLITE_OK)
		bindError_ = rc;
	return *this;
}

Statement &Statement::bind(int index, std::string_view text)
{
	int rc = sqlite3_bind_text(stmt_.get(), index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
	if (rc != SQLITE_OK)
		bindError_ = rc;
	return *this;
}

Statement &Statement::bind(int index, ByteView blob)
{
	// A zero-length blob must still be a blob, not NULL.
	static const uint8_t empty = 0;
	const void *data = blob.empty() ? &empty : blob.data();
	int rc = sqlite3_bind_blob(stmt_.get(), index, data, static_cast<int>(blob.size()), SQLITE_TRANSIENT);
	if (rc != SQLITE_OK)
		bindError_ = rc;
	return *this;
}

Statement &Statement::bindNull(int index)
{
	int rc = sqlite3_bind_null(stmt_.get(), index);
	if (rc != SQLITE_OK)
		bindError_ = rc;
	return *this;
}

Result<bool> Statement::step()
{
	if (bindError_ != SQLITE_OK)
		return Error(ErrorCode::Internal, std::string("database: cannot bind a parameter: ") +
							  sqlite3_errstr(bindError_));
	int rc = sqlite3_step(stmt_.get());
	if (rc == SQLITE_ROW)
		return true;
	if (rc == SQLITE_DONE)
		return false;
	sqlite3 *db = sqlite3_db_handle(stmt_.get());
	ErrorCode code = (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED ? ErrorCode::Timeout
										      : ErrorCode::Io;
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		code = ErrorCode::Conflict;
	return Error(code, std::string("database: ") + sqlite3_errmsg(db));
}

Status Statement::run()
{
	while (CVM_TRY(step())) {
	}
	return {};
}

bool Statement::isNull(int column) const
{
	return sqlite3_column_type(stmt_.get(), column) == SQLITE_NULL;
}

int64_t Statement::integer(int column) const
{
	return sqlite3_column_int64(stmt_.get(), column);
}

std::string Statement::text(int column) const
{
	const unsigned char *p = sqlite3_column_text(stmt_.get(), column);
	int n = sqlite3_column_bytes(stmt_.get(), column);
	return p ? std::string(reinterpret_cast<const char *>(p), static_cast<size_t>(n)) : std::string();
}

Bytes Statement::blob(int column) const
{
	const auto *p = static_cast<const uint8_t *>(sqlite3_column_blob(stmt_.get(), column));
	int n = sqlite3_column_bytes(stmt_.get(), column);
	return p ? Bytes(p, p + n) : Bytes();
}

std::optional<int64_t> Statement::optionalInteger(int column) const
{
	if (isNull(column))
		return std::nullopt;
	return integer(column);
}

void Statement::reset()
{
	sqlite3_reset(stmt_.get());
	sqlite3_clear_bindings(stmt_.get());
	bindError_ = SQLITE_OK;
}

Result<std::unique_ptr<Database>> Database::open(const std::string &path, bool create)
{
	sqlite3 *db = nullptr;
	// NOMUTEX: each connection is used by one thread at a time; the pool
	// guarantees it, so SQLite's per-connection mutex is wasted work.
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
	int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
	if (rc != SQLITE_OK) {
		std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
		sqlite3_close(db);
		return Error(ErrorCode::Io, "cannot open database " + path + ": " + msg);
	}
	sqlite3_extended_result_codes(db, 1);
	return std::unique_ptr<Database>(new Database(db));
}

Database::~Database()
{
	cache_.clear(); // finalize statements before closing
	sqlite3_close(db_);
}

Status Database::exec(const std::string &sql)
{
	char *msg = nullptr;
	int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg);
	if (rc != SQLITE_OK) {
		std::string text = msg ? msg : sqlite3_errstr(rc);
		sqlite3_free(msg);
		ErrorCode code = (rc & 0xff) == SQLITE_BUSY ? ErrorCode::Timeout : ErrorCode::Io;
		return Error(code, "database: " + text);
	}
	return {};
}

Result<Statement> Database::prepare(std::string_view sql)
{
	sqlite3_stmt *stmt = nullptr;
	int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
	if (rc != SQLITE_OK)
		return error("cannot prepare a statement");
	return Statement(stmt);
}

Result<CachedStatement> Database::cached(const char *sql)
{
	auto it = cache_.find(sql);
	if (it == cache_.end()) {
		Statement stmt = CVM_TRY(prepare(sql));
		it = cache_.emplace(sql, std::move(stmt)).first;
	}
	return CachedStatement(&it->second);
}

int Database::changes() const
{
	return sqlite3_changes(db_);
}

Error Database::error(std::string_view what) const
{
	return Error(ErrorCode::Io, "database: " + std::string(what) + ": " + sqlite3_errmsg(db_));
}

Result<Transaction> Transaction::begin(Database &db, bool immediate)
{
	CVM_CHECK(db.exec(immediate ? "BEGIN IMMEDIATE" : "BEGIN"));
	return Transaction(db);
}

Transaction::~Transaction()
{
	if (open_) {
		auto s = db_.exec("ROLLBACK");
		if (!s)
			g_warning("%s", s.error().message().c_str());
	}
}

Status Transaction::commit()
{
	open_ = false;
	auto s = db_.exec("COMMIT");
	if (!s) {
		(void)db_.exec("ROLLBACK");
		return s;
	}
	return {};
}

} // namespace cvm::server
