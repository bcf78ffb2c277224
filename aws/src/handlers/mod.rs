//! The Lambda handlers: each turns one event into one domain call. The synchronous `handle`
//! functions do the work (call them from a blocking thread; tests drive them with real event
//! JSON); the function binaries wrap them with [`crate::blocking`].

pub mod access_webhook;
pub mod http_api;
pub mod monthly_statement;
pub mod nightly_settle;
pub mod statement_api;
pub mod usage_upload;
