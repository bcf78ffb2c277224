//! pec-ledger: the domain of Partner Earned Credit — rules, usage files, access snapshots,
//! coverage, settlement into an append-only ledger, statements — and the storage traits with the
//! embedded (SQLite) store. No AWS types live here.

pub mod access;
pub mod config;
pub mod decimal;
pub mod explain;
pub mod generate;
pub mod ids;
pub mod import;
pub mod ingest;
pub mod ledger;
pub mod products;
pub mod reasons;
pub mod roles;
pub mod settle;
pub mod snapshot;
pub mod statement;
pub mod statement_html;
pub mod statement_xlsx;
pub mod store;
pub mod usage;
pub mod verify;
pub mod webhook;
pub mod webhook_secret;
