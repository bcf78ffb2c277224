//! [`DynamoStore`]: the domain's storage traits over two DynamoDB tables (the append-only
//! ledger and the mutable state) and SSM Parameter Store (webhook secrets). The table and key
//! design is in `aws/README.md`; the key functions are in [`crate::keys`].
//!
//! The submodules depend one way: `item` (attributes, errors) ← `requests` (queries,
//! batches, transactions, retries) ← `codec` (entries as items) ← `store` (the struct and its
//! sync-over-async bridge) ← one module per trait: `usage`, `snapshot`, `ledger`, `partners`;
//! `format` checks which table layout the tables hold.

mod alerts;
mod codec;
mod format;
mod item;
mod ledger;
mod partners;
mod requests;
mod snapshot;
mod store;
mod upgrade;
mod usage;

pub use item::{s, Item};
pub use ledger::{ENTRIES_PER_TRANSACTION, ITEMS_PER_TRANSACTION};
pub use store::DynamoStore;
pub use upgrade::UpgradeReport;
