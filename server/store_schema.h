// SPDX-License-Identifier: Apache-2.0
//
// Versioned schema migrations of the server database. Each migration runs
// once, in order, inside its own transaction, and is recorded in
// schema_migrations. A database newer than this program is refused.
#pragma once

#include "cvm/common/error.h"
#include "sqlite.h"

namespace cvm::server {

// The schema version this program writes.
int latestSchemaVersion();
// Reads the current version (0 for a fresh file).
Result<int> currentSchemaVersion(Database &db);
// Applies every pending migration.
Status migrateSchema(Database &db);

} // namespace cvm::server
