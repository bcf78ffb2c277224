//! pec-ledger: the domain of Partner Earned Credit — rules, usage files, access snapshots,
//! coverage, settlement into an append-only ledger, the statement model, explain — and the
//! storage traits the stores implement. No I/O dependencies: the embedded store
//! (`pec-embedded`), the AWS stores (`pec-aws`), the renderers (`pec-render`), the HTTP surface
//! (`pec-http`) and the generator (`pec-generate`) are crates of their own.
#![forbid(unsafe_code)]

pub mod access;
pub mod alerts;
pub mod claims;
pub mod config;
pub mod decimal;
pub mod explain;
pub mod ids;
pub mod import;
pub mod ingest;
pub mod ledger;
pub mod names;
pub mod products;
pub mod reasons;
pub mod resources;
pub mod roles;
pub mod settle;
pub mod snapshot;
pub mod statement;
pub mod store;
pub mod usage;
pub mod verify;
pub mod webhook_secret;
