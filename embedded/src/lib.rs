//! pec-embedded: the embedded store of a data directory. The ledger, usage, snapshots and
//! partner settings in one SQLite file (`pec.db`, [`SqliteStore`]), and statement and receipt
//! objects as files under `objects/` ([`FileObjectStore`]). Both implement the storage traits of
//! the domain crate (`pec_ledger::store`).
#![forbid(unsafe_code)]

pub mod files;
mod rows;
mod schema;
pub mod sqlite;

pub use files::FileObjectStore;
pub use sqlite::SqliteStore;
