// SPDX-License-Identifier: Apache-2.0
//
// A thin RAII layer over the SQLite C API: a connection, prepared statements
// with typed binding and column access, and errors as cvm::Error. One
// connection is used by one thread at a time (the store pool hands them out).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <sqlite3.h>

#include "cvm/common/bytes.h"
#include "cvm/common/error.h"

namespace cvm::server {

class Statement
{
public:
	Statement() = default;
	explicit Statement(sqlite3_stmt *stmt) : stmt_(stmt) {}

	Statement &bind(int index, int64_t value);
	Statement &bind(int index, std::string_view text);
	Statement &bind(int index, ByteView blob);
	Statement &bindNull(int index);
	template<typename T>
	Statement &bind(int index, const std::optional<T> &value)
	{
		return value ? bind(index, *value) : bindNull(index);
	}
	Statement &bind(int index, const char *text) { return bind(index, std::string_view(text)); }
	Statement &bind(int index, const std::string &text) { return bind(index, std::string_view(text)); }
	Statement &bind(int index, const Bytes &blob) { return bind(index, ByteView(blob)); }

	// true: a row is available; false: done. Errors carry SQLite's message.
	Result<bool> step();
	// Runs to completion (for statements without rows).
	Status run();

	bool isNull(int column) const;
	int64_t integer(int column) const;
	std::string text(int column) const;
	Bytes blob(int column) const;
	std::optional<int64_t> optionalInteger(int column) const;

	// Resets for reuse and clears bindings (cached statements).
	void reset();
	sqlite3_stmt *get() const { return stmt_.get(); }

private:
	struct Finalize {
		void operator()(sqlite3_stmt *s) const { sqlite3_finalize(s); }
	};
	std::unique_ptr<sqlite3_stmt, Finalize> stmt_;
	int bindError_ = SQLITE_OK;
};

// A cached statement on loan: reset when the loan ends, so a half-stepped
// SELECT never keeps an old read snapshot open on the connection.
class CachedStatement
{
public:
	explicit CachedStatement(Statement *stmt) : stmt_(stmt) {}
	CachedStatement(CachedStatement &&o) noexcept : stmt_(o.stmt_) { o.stmt_ = nullptr; }
	CachedStatement &operator=(CachedStatement &&) = delete;
	~CachedStatement()
	{
		if (stmt_)
			stmt_->reset();
	}
	Statement *operator->() const { return stmt_; }
	Statement &operator*() const { return *stmt_; }

private:
	Statement *stmt_;
};

class Database
{
public:
	// Opens (creating when `create`) a database file for use by one thread at a time.
	static Result<std::unique_ptr<Database>> open(const std::string &path, bool create = true);
	~Database();
	Database(const Database &) = delete;
	Database &operator=(const Database &) = delete;

	Status exec(const std::string &sql);
	// A prepared statement kept for the life of the connection, ready for
	// binding. `sql` must be a string literal (the cache is keyed by its address).
	Result<CachedStatement> cached(const char *sql);
	Result<Statement> prepare(std::string_view sql);

	int changes() const;
	sqlite3 *handle() const { return db_; }
	Error error(std::string_view what) const;

private:
	explicit Database(sqlite3 *db) : db_(db) {}
	sqlite3 *db_;
	std::unordered_map<const char *, Statement> cache_;
};

// A transaction rolled back unless committed. `immediate` takes the write lock
// at BEGIN, so a read-check-write sequence cannot interleave with another writer.
class Transaction
{
public:
	static Result<Transaction> begin(Database &db, bool immediate);
	Transaction(Transaction &&o) noexcept : db_(o.db_), open_(o.open_) { o.open_ = false; }
	Transaction &operator=(Transaction &&) = delete;
	~Transaction();
	Status commit();

private:
	Transaction(Database &db) : db_(db), open_(true) {}
	Database &db_;
	bool open_;
};

} // namespace cvm::server
