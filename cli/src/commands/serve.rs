//! `pec serve --listen ADDR`: the access webhook and statement reads (SPEC 6.2) over HTTP, on
//! the embedded store, with accepted snapshots archived under `DATA_DIR/objects`.
//!
//! HTTP/1.1 is hyper's (on tokio): a connection has [`HEADER_TIMEOUT`] to send its request line
//! and headers, so connections that never finish them cost a task each and delay no one; bodies
//! are read only up to [`MAX_BODY_BYTES`] + 1 bytes (a larger declared length is answered 413
//! before anything is read); Ctrl-C or SIGTERM stops accepting and lets requests in flight finish
//! (at most [`SHUTDOWN_GRACE`]). Routing, signatures, validation and statuses are
//! [`pec_http::handle`], run on a blocking thread (the store is SQLite).

use crate::{ExitStatus, Failure};
use bytes::Bytes;
use chrono::Utc;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use pec_embedded::FileObjectStore;
use pec_embedded::SqliteStore;
use pec_http::{self, allowed_method, handle, HttpRequest, HttpResponse, MAX_BODY_BYTES};
use std::net::ToSocketAddrs;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Longest wait for a request line and its headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest time to receive a whole body (5 MiB at 50 KB/s).
const BODY_DEADLINE: Duration = Duration::from_secs(120);
/// After Ctrl-C or SIGTERM, how long requests in flight may take to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// Header lines in one request (hyper answers 431 above).
const MAX_HEADERS: usize = 100;

struct State {
    store: SqliteStore,
    objects: FileObjectStore,
    config: pec_ledger::config::Config,
    /// Wakes the alert sender after a snapshot post.
    kick: std::sync::mpsc::SyncSender<()>,
}

/// How often waiting alert events are retried when nothing wakes the sender.
const SEND_INTERVAL: Duration = Duration::from_secs(30);

/// Sends alert events from the outbox: after each snapshot post, and every [`SEND_INTERVAL`].
fn alert_sender(state: Arc<State>, wake: std::sync::mpsc::Receiver<()>) {
    loop {
        match wake.recv_timeout(SEND_INTERVAL) {
            Ok(()) | Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
        }
        while wake.try_recv().is_ok() {}
        match crate::deliver::deliver_pending(&state.store, None) {
            Ok(d) => {
                if d.sent > 0 {
                    say!("pec serve: sent {} alert event(s)", d.sent);
                }
                for f in &d.failures {
                    say!("pec serve: alert not sent yet (it stays queued): {f}");
                }
            }
            Err(f) => say!("pec serve: sending alerts: {}", f.message),
        }
    }
}

/// The arguments of `pec serve`.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address to listen on, e.g. 127.0.0.1:8080 (port 0: any free port; the address is
    /// printed on stderr).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: String,
}

/// Serves until the process is stopped (Ctrl-C, SIGTERM): then stops accepting, lets requests in
/// flight finish, and exits 0.
pub fn run(data_dir: &Path, args: ServeArgs) -> Result<ExitStatus, Failure> {
    let listen = args.listen.as_str();
    let addrs: Vec<_> = listen
        .to_socket_addrs()
        .map_err(|e| Failure::usage(format!("--listen {listen:?} is not an address: {e}")))?
        .collect();
    let (kick, wake) = std::sync::mpsc::sync_channel(1);
    let state = Arc::new(State {
        store: SqliteStore::open_dir(data_dir)?,
        objects: FileObjectStore::new(data_dir.join("objects")),
        config: crate::backend::load_config(data_dir)?,
        kick,
    });
    {
        let state = Arc::clone(&state);
        std::thread::spawn(move || alert_sender(state, wake));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(Failure::internal)?;
    rt.block_on(serve(addrs, listen, data_dir, state))
}

async fn serve(
    addrs: Vec<std::net::SocketAddr>,
    listen: &str,
    data_dir: &Path,
    state: Arc<State>,
) -> Result<ExitStatus, Failure> {
    let std_listener = std::net::TcpListener::bind(&addrs[..])
        .map_err(|e| Failure::internal(format!("cannot listen on {listen}: {e}")))?;
    std_listener
        .set_nonblocking(true)
        .map_err(Failure::internal)?;
    let listener = tokio::net::TcpListener::from_std(std_listener).map_err(Failure::internal)?;
    let local = listener.local_addr().map_err(Failure::internal)?;
    say!(
        "pec serve: listening on http://{local} (data in {})",
        data_dir.display()
    );
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_headers(MAX_HEADERS)
        .half_close(true)
        .keep_alive(true);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let stop = stop_signal();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // E.g. out of file descriptors: wait a little rather than spin.
                        say!("pec serve: accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let state = Arc::clone(&state);
                let service = hyper::service::service_fn(move |req| {
                    let state = Arc::clone(&state);
                    async move { Ok::<_, std::convert::Infallible>(answer(state, req).await) }
                });
                let conn = http.serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    // A connection that breaks off, or is too slow with its headers, is closed
                    // (hyper answers what it can: 400, 408, 431).
                    let _ = conn.await;
                });
            }
            _ = &mut stop => break,
        }
    }
    drop(listener);
    say!("pec serve: stopping; letting requests in flight finish");
    tokio::select! {
        _ = graceful.shutdown() => say!("pec serve: stopped"),
        _ = tokio::time::sleep(SHUTDOWN_GRACE) => {
            say!("pec serve: stopped after {}s with requests still in flight", SHUTDOWN_GRACE.as_secs())
        }
    }
    Ok(ExitStatus::Success)
}

/// Ctrl-C, or SIGTERM on Unix.
async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => ctrl_c.await,
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await;
}

/// One request: its body read up to the limit, the handler on a blocking thread, the response
/// and its log line.
async fn answer(state: Arc<State>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let started = Instant::now();
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or_default().to_string();
    let response = match read(req).await {
        Ok(request) => {
            let outcome = tokio::task::spawn_blocking(move || respond(&state, &request)).await;
            outcome.unwrap_or_else(|_| {
                error_response(
                    500,
                    "internal_error",
                    "the server could not complete the request",
                )
            })
        }
        Err(response) => response,
    };
    log(&method, &path, &query, response.status, started);
    to_hyper(response, &path)
}

/// The request as the handler takes it; a body over the limit (declared or sent) is a 413, one
/// that breaks off or takes too long a 400 or 408.
async fn read(req: Request<Incoming>) -> Result<HttpRequest, HttpResponse> {
    let too_large = || {
        error_response(
            413,
            "payload_too_large",
            &format!("the body is larger than {MAX_BODY_BYTES} bytes"),
        )
    };
    let declared = req
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    let (parts, body) = req.into_parts();
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(value.as_bytes()).trim().to_string(),
            )
        })
        .collect();
    let collected =
        tokio::time::timeout(BODY_DEADLINE, Limited::new(body, MAX_BODY_BYTES).collect())
            .await
            .map_err(|_| error_response(408, "request_timeout", "the body took too long"))?;
    let body = match collected {
        Ok(c) => c.to_bytes().to_vec(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => return Err(too_large()),
        Err(e) => {
            return Err(error_response(
                400,
                "bad_request",
                &format!("cannot read the body: {e}"),
            ))
        }
    };
    Ok(HttpRequest {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or_default().to_string(),
        headers,
        body,
    })
}

fn to_hyper(response: HttpResponse, path: &str) -> Response<Full<Bytes>> {
    let mut builder = Response::builder()
        .status(response.status)
        .header(hyper::header::CONTENT_TYPE, response.content_type.as_str())
        .header(hyper::header::CACHE_CONTROL, "no-store");
    if response.status == 405 {
        if let Some(allow) = allowed_method(path) {
            builder = builder.header(hyper::header::ALLOW, allow);
        }
    }
    builder
        .body(Full::new(Bytes::from(response.body)))
        .unwrap_or_else(|_| {
            let mut r = Response::new(Full::new(Bytes::new()));
            *r.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
            r
        })
}

fn log(method: &str, path: &str, _query: &str, status: u16, started: Instant) {
    if crate::json_logs() {
        tracing::info!(target: "pec", method = %printable(method), path = %printable(path),
            status, ms = started.elapsed().as_millis() as u64, delivered = true, "http request");
    } else {
        eprintln!(
            "{} {} {} {}ms",
            printable(method),
            printable(path),
            status,
            started.elapsed().as_millis()
        );
    }
}

/// Calls the handler; a store failure or a panic is a 500 (logged, not shown to the client).
fn respond(state: &State, request: &HttpRequest) -> HttpResponse {
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        handle(
            &state.store,
            &state.objects,
            &state.config,
            request,
            Utc::now(),
        )
    }));
    if request.method == "POST" {
        // A snapshot may have raised alerts: wake the sender (a wake already pending will do).
        let _ = state.kick.try_send(());
    }
    match outcome {
        Ok(Ok(response)) => response,
        Ok(Err(e)) => {
            say!(
                "pec serve: {} {}: {e}",
                request.method,
                printable(&request.path)
            );
            error_response(
                500,
                "internal_error",
                "the server could not complete the request",
            )
        }
        Err(_) => {
            say!(
                "pec serve: {} {}: the handler panicked",
                request.method,
                printable(&request.path)
            );
            error_response(
                500,
                "internal_error",
                "the server could not complete the request",
            )
        }
    }
}

fn error_response(status: u16, code: &str, message: &str) -> HttpResponse {
    pec_http::error_response(status, code, message)
}

/// A request line part made safe for a log line: control characters become `?`, long values
/// are cut.
fn printable(text: &str) -> String {
    const MAX: usize = 200;
    let mut out: String = text
        .chars()
        .take(MAX)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if text.chars().count() > MAX {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_cannot_be_forged() {
        assert_eq!(printable("/a\r\nGET /b"), "/a??GET /b");
        assert_eq!(printable(&"x".repeat(300)).chars().count(), 201);
    }
}
