// Registration of the strata virtual table module on one connection.
#pragma once

#include <memory>

#include "extension/sqlite_bridge.h"
#include "extension/sqlite_connection.h"

namespace strata::sql {

int RegisterStrataModule(sqlite3* db, std::shared_ptr<ConnectionState> connection);

}  // namespace strata::sql
