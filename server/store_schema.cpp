// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-attestd"

#include "store_schema.h"

#include <ctime>
#include <string>
#include <vector>

#include <glib.h>

namespace cvm::server {

namespace {

struct Migration {
	int version;
	const char *name;
	const char *sql;
};

// Append only: never edit a migration that has shipped; add a new one.
// Registrations keep their scheme-specific reference values as JSON in
// `reference`, so a new scheme (intel-tdx) needs a new scheme name and
// reference format, not new tables.
const std::vector<Migration> kMigrations = {
	{ 1, "initial schema", R"sql(
CREATE TABLE vms (
	id            TEXT PRIMARY KEY,
	scheme        TEXT NOT NULL,
	reference     TEXT NOT NULL,
	secret_index  TEXT NOT NULL,
	secrets       BLOB,
	max_launches  INTEGER NOT NULL CHECK (max_launches > 0),
	expires_at    INTEGER,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE launches (
	id           TEXT PRIMARY KEY,
	vm_id        TEXT NOT NULL,
	state        TEXT NOT NULL CHECK (state IN
	             ('pending', 'validated', 'rejected', 'ended', 'expired', 'revoked')),
	policy       INTEGER NOT NULL,
	chip_id      TEXT,
	keys         BLOB,
	created_at   INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	finished_at  INTEGER
) STRICT;
CREATE INDEX launches_by_vm_state ON launches (vm_id, state);
CREATE INDEX launches_pending_expiry ON launches (expires_at) WHERE state = 'pending';

-- A launch moves forward only: pending -> validated|rejected|ended|expired|revoked,
-- validated -> ended|revoked. Anything else is a bug (or a replay) and is refused here too.
CREATE TRIGGER launches_forward_only BEFORE UPDATE OF state ON launches
WHEN NOT (OLD.state = 'pending' AND NEW.state IN ('validated', 'rejected', 'ended', 'expired', 'revoked'))
 AND NOT (OLD.state = 'validated' AND NEW.state IN ('ended', 'revoked'))
BEGIN
	SELECT RAISE(ABORT, 'launch state may only move forward');
END;

CREATE TABLE audit (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	at         INTEGER NOT NULL,
	vm_id      TEXT NOT NULL,
	launch_id  TEXT,
	event      TEXT NOT NULL,
	result     TEXT NOT NULL,
	message    TEXT NOT NULL DEFAULT '',
	reported   TEXT,
	expected   TEXT
);
CREATE INDEX audit_by_vm ON audit (vm_id, seq);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
	SELECT RAISE(ABORT, 'audit records are append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
	SELECT RAISE(ABORT, 'audit records are append-only');
END;
)sql" },
	// Counting a VM's active launches must not scan its history: both parts
	// of the count (validated; pending and not yet expired) become ranges of
	// one index. The old (vm_id, state) index is a prefix of it.
	{ 2, "index active launches by expiry", R"sql(
DROP INDEX launches_by_vm_state;
CREATE INDEX launches_active ON launches (vm_id, state, expires_at);
)sql" },
};

} // namespace

int latestSchemaVersion()
{
	return kMigrations.back().version;
}

Result<int> currentSchemaVersion(Database &db)
{
	CVM_CHECK(db.exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
			  " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)"));
	Statement st = CVM_TRY(db.prepare("SELECT coalesce(max(version), 0) FROM schema_migrations"));
	CVM_TRY(st.step());
	return static_cast<int>(st.integer(0));
}

Status migrateSchema(Database &db)
{
	CVM_CHECK(db.exec("BEGIN IMMEDIATE"));
	auto version = currentSchemaVersion(db);
	auto rollback = [&db](Error e) {
		(void)db.exec("ROLLBACK");
		return e;
	};
	if (!version)
		return rollback(version.error());
	if (*version > latestSchemaVersion())
		return rollback(Error(ErrorCode::Unsupported,
				      "the database has schema version " + std::to_string(*version) +
					      ", newer than this cvm-attestd understands (" +
					      std::to_string(latestSchemaVersion()) + "); refusing to touch it"));
	for (const auto &m : kMigrations) {
		if (m.version <= *version)
			continue;
		g_message("database: applying schema migration %d (%s)", m.version, m.name);
		if (auto s = db.exec(m.sql); !s)
			return rollback(s.error().withContext("schema migration " + std::to_string(m.version)));
		auto st = db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)");
		if (!st)
			return rollback(st.error());
		st->bind(1, static_cast<int64_t>(m.version)).bind(2, m.name).bind(3, static_cast<int64_t>(time(nullptr)));
		if (auto s = st->run(); !s)
			return rollback(s.error());
	}
	return db.exec("COMMIT");
}

} // namespace cvm::server
