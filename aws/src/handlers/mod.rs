//! The Lambda handlers: each turns one event into one domain call. The synchronous `handle`
//! functions do the work (call them from a blocking thread; tests drive them with real event
//! JSON); the function binaries wrap them with [`crate::blocking`].

//!
//! Each function crate turns on the features of the handlers it runs, so that it links only
//! what they call: `webhook` (the HTTP surface), `statements` (the renderers, XLSX included).

#[cfg(feature = "webhook")]
pub mod access_webhook;
#[cfg(feature = "alerts")]
pub mod alert_publisher;
#[cfg(feature = "webhook")]
pub mod http_api;
#[cfg(feature = "statements")]
pub mod monthly_statement;
pub mod nightly_settle;
#[cfg(feature = "statements")]
pub mod statement_api;
pub mod usage_upload;
