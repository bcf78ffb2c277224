//! The functions' logs: the subscriber and line format are `pec-telemetry`'s (shared with
//! `pec`); this module adds the invocation wrapper the handlers run in.

pub use pec_telemetry::*;

/// Runs one invocation's handler `f` on a blocking thread ([`crate::LazyAws::blocking`]) inside the
/// invocation's span; a failure is logged (as `invocation failed`, with the error and whether a
/// retry can help) and returned as the runtime's error (its error type says the same).
pub async fn invoke<T: Send + 'static>(
    aws: crate::LazyAws,
    f: impl FnOnce(&crate::Aws) -> Result<T, crate::Failure> + Send + 'static,
) -> Result<T, crate::Failure> {
    // The handler runs on a blocking thread, inside the invocation's span (so its events
    // carry the `requestId`); the first invocation also reads the configuration.
    let span = tracing::Span::current();
    let result = aws
        .blocking(move |aws: &crate::Aws| span.in_scope(|| f(aws)))
        .await;
    if let Err(e) = &result {
        tracing::error!(error = %e, retryable = e.is_retryable(), "invocation failed");
    }
    result
}
