//! Identity and credentials on SQLite: every statement is shared
//! (`crate::sql::identity`), so this file only names the backend. Must not add SQL of its own
//! unless the dialects truly differ.

use super::*;

crate::sql::identity::identity_store!(SqliteStore);
