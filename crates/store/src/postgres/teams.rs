//! Teams and members on PostgreSQL: every statement is shared (`crate::sql::teams`), so this file
//! only names the backend. Must not add SQL of its own unless the dialects truly differ.

use super::*;

crate::sql::teams::team_store!(PgStore {});
