//! `pec serve --listen ADDR`: the access webhook and statement reads (SPEC 6.2) over HTTP, on
//! the embedded store, with accepted snapshots archived under `DATA_DIR/objects`.
//!
//! A deliberately small HTTP/1.1 server on `std::net`: one request per connection
//! (`Connection: close`), `Content-Length` or chunked bodies of which at most
//! [`MAX_BODY_BYTES`] + 1 bytes are ever read (so a larger body gets its 413 without being
//! buffered), `Expect: 100-continue`, read/write timeouts and a deadline per request, and a few
//! worker threads. Everything else — routing, signatures, validation, statuses — is
//! [`pec_http::handle`]. (A general-purpose server crate was not used: the common small
//! one drains an unread body into a buffer of the *declared* `Content-Length`, so a single
//! request claiming a terabyte aborts the process.)

use crate::{ExitStatus, Failure};
use chrono::Utc;
use pec_embedded::FileObjectStore;
use pec_embedded::SqliteStore;
use pec_http::{self, allowed_method, handle, HttpRequest, HttpResponse, MAX_BODY_BYTES};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, ToSocketAddrs};
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// Threads serving connections (the store serialises writes; these mostly wait on sockets).
const WORKERS: usize = 8;
/// Accepted connections waiting for a worker; beyond this, accepting pauses.
const QUEUE: usize = 64;
/// The request line and headers together.
const MAX_HEAD_BYTES: usize = 64 * 1024;
const MAX_HEADERS: usize = 100;
/// One chunk-size line of a chunked body.
const MAX_CHUNK_LINE: usize = 1024;
/// Longest wait for one read or write.
const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest time to receive one whole request (5 MiB at 50 KB/s).
const REQUEST_DEADLINE: Duration = Duration::from_secs(120);
/// After the response, how long and how much of an unread body is read and thrown away so the
/// client sees the response rather than a connection reset.
const LINGER: Duration = Duration::from_secs(2);
const LINGER_BYTES: u64 = 16 * 1024 * 1024;

struct State {
    store: SqliteStore,
    objects: FileObjectStore,
}

/// The arguments of `pec serve`.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address to listen on, e.g. 127.0.0.1:8080 (port 0: any free port; the address is
    /// printed on stderr).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: String,
}

/// Serves until the process is stopped (Ctrl-C, SIGTERM).
pub fn run(data_dir: &Path, args: ServeArgs) -> Result<ExitStatus, Failure> {
    let listen = args.listen.as_str();
    let addrs: Vec<_> = listen
        .to_socket_addrs()
        .map_err(|e| Failure::usage(format!("--listen {listen:?} is not an address: {e}")))?
        .collect();
    let listener = TcpListener::bind(&addrs[..])
        .map_err(|e| Failure::internal(format!("cannot listen on {listen}: {e}")))?;
    let local = listener.local_addr().map_err(Failure::internal)?;
    let state = Arc::new(State {
        store: SqliteStore::open_dir(data_dir)?,
        objects: FileObjectStore::new(data_dir.join("objects")),
    });
    let (tx, rx) = mpsc::sync_channel::<TcpStream>(QUEUE);
    let rx = Arc::new(Mutex::new(rx));
    for i in 0..WORKERS {
        let rx = Arc::clone(&rx);
        let state = Arc::clone(&state);
        std::thread::Builder::new()
            .name(format!("pec-serve-{i}"))
            .spawn(move || worker(&rx, &state))
            .map_err(Failure::internal)?;
    }
    say!(
        "pec serve: listening on http://{local} (data in {})",
        data_dir.display()
    );
    for conn in listener.incoming() {
        match conn {
            Ok(stream) => {
                if tx.send(stream).is_err() {
                    return Err(Failure::internal("every worker thread has stopped"));
                }
            }
            Err(e) => {
                // E.g. out of file descriptors: wait a little rather than spin.
                say!("pec serve: accept failed: {e}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
    Ok(ExitStatus::Success)
}

fn worker(rx: &Mutex<mpsc::Receiver<TcpStream>>, state: &State) {
    loop {
        let next = match rx.lock() {
            Ok(guard) => guard.recv(),
            Err(_) => return,
        };
        let Ok(stream) = next else { return };
        // A panic while serving one connection must not take the worker with it.
        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| serve_connection(stream, state)));
    }
}

/// A request that could not be read as HTTP: answered with `status` and closed.
struct BadRequest {
    status: u16,
    message: String,
}

fn bad(status: u16, message: impl Into<String>) -> BadRequest {
    BadRequest {
        status,
        message: message.into(),
    }
}

/// A read failure: 408 when the client was too slow, else 400.
fn io_bad(what: &str, e: &std::io::Error) -> BadRequest {
    let status = match e.kind() {
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => 408,
        _ => 400,
    };
    bad(status, format!("{what}: {e}"))
}

/// What was read of a request.
struct Incoming {
    request: HttpRequest,
    /// Whether body bytes may be left unread on the socket.
    unread_body: bool,
}

fn serve_connection(stream: TcpStream, state: &State) {
    let started = Instant::now();
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::new(DeadlineReader {
        stream: &stream,
        deadline: started + REQUEST_DEADLINE,
    });
    let mut method = String::from("-");
    let mut path = String::from("-");
    let (response, unread) = match read_request(&mut reader, &stream, &mut method, &mut path) {
        Ok(None) => return, // closed before sending anything
        Ok(Some(incoming)) => (respond(state, &incoming.request), incoming.unread_body),
        Err(e) => (error_response(e.status, &e.message), true),
    };
    let head_only = method == "HEAD";
    let written = write_response(&stream, &response, &path, head_only);
    if crate::json_logs() {
        tracing::info!(target: "pec", method = %printable(&method), path = %printable(&path),
            status = response.status, ms = started.elapsed().as_millis() as u64,
            delivered = written.is_ok(), "http request");
    } else {
        eprintln!(
            "{} {} {} {}ms{}",
            printable(&method),
            printable(&path),
            response.status,
            started.elapsed().as_millis(),
            match &written {
                Ok(()) => String::new(),
                Err(e) => format!(" (response not delivered: {e})"),
            }
        );
    }
    let _ = stream.shutdown(Shutdown::Write);
    if unread && written.is_ok() {
        linger(reader.into_inner().stream);
    }
}

/// Calls the handler; a store failure or a panic is a 500 (logged, not shown to the client).
fn respond(state: &State, request: &HttpRequest) -> HttpResponse {
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        handle(&state.store, &state.objects, request, Utc::now())
    }));
    match outcome {
        Ok(Ok(response)) => response,
        Ok(Err(e)) => {
            say!(
                "pec serve: {} {}: {e}",
                request.method,
                printable(&request.path)
            );
            error_response(500, "the server could not complete the request")
        }
        Err(_) => {
            say!(
                "pec serve: {} {}: the handler panicked",
                request.method,
                printable(&request.path)
            );
            error_response(500, "the server could not complete the request")
        }
    }
}

/// Reads one request. `Ok(None)` when the client closed without sending a byte. `method` and
/// `path` are filled in as soon as they are known (for the log line of a bad request).
fn read_request<R: BufRead>(
    reader: &mut R,
    stream: &TcpStream,
    method_out: &mut String,
    path_out: &mut String,
) -> Result<Option<Incoming>, BadRequest> {
    let mut budget = MAX_HEAD_BYTES;
    // Request line, skipping empty lines before it (RFC 9112 2.2).
    let line = loop {
        match read_line(reader, &mut budget, 431)? {
            None => return Ok(None),
            Some(l) if l.is_empty() => continue,
            Some(l) => break l,
        }
    };
    let line = String::from_utf8(line).map_err(|_| bad(400, "the request line is not UTF-8"))?;
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad(400, "malformed request line"));
    };
    if method.is_empty() || !method.bytes().all(is_token_byte) {
        return Err(bad(400, "malformed method"));
    }
    *method_out = method.to_string();
    let (path, query) = split_target(target);
    *path_out = path.to_string();
    let http11 = match version {
        "HTTP/1.1" => true,
        "HTTP/1.0" => false,
        _ => return Err(bad(400, "only HTTP/1.0 and HTTP/1.1 are served")),
    };

    let mut headers: Vec<(String, String)> = Vec::new();
    loop {
        let Some(line) = read_line(reader, &mut budget, 431)? else {
            return Err(bad(400, "the connection closed inside the headers"));
        };
        if line.is_empty() {
            break;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            return Err(bad(400, "folded header lines are not accepted"));
        }
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or_else(|| bad(400, "a header line has no colon"))?;
        let (name, value) = line.split_at(colon);
        if name.is_empty() || !name.iter().copied().all(is_token_byte) {
            return Err(bad(400, "malformed header name"));
        }
        if headers.len() >= MAX_HEADERS {
            return Err(bad(431, format!("more than {MAX_HEADERS} headers")));
        }
        let name = String::from_utf8_lossy(name).to_ascii_lowercase();
        let value = String::from_utf8_lossy(&value[1..])
            .trim_matches([' ', '\t'])
            .to_string();
        headers.push((name, value));
    }

    let values = |name: &str| -> Vec<&str> {
        headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let limit = MAX_BODY_BYTES + 1;
    let transfer_encoding = values("transfer-encoding");
    let lengths = values("content-length");
    enum Framing {
        None,
        Length(u64),
        Chunked,
    }
    let framing = if !transfer_encoding.is_empty() {
        let last = transfer_encoding
            .last()
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim)
            .unwrap_or_default();
        if !last.eq_ignore_ascii_case("chunked") {
            return Err(bad(400, "only the chunked transfer coding is accepted"));
        }
        Framing::Chunked
    } else if let Some(first) = lengths.first() {
        if lengths.iter().any(|l| l != first) {
            return Err(bad(400, "conflicting Content-Length headers"));
        }
        if first.is_empty() || !first.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(400, "Content-Length is not a number"));
        }
        // Too many digits for u64 is simply "too large".
        Framing::Length(first.parse::<u64>().unwrap_or(u64::MAX))
    } else {
        Framing::None
    };
    let expects_body = match framing {
        Framing::None => false,
        Framing::Length(n) => n > 0,
        Framing::Chunked => true,
    };
    let expect_continue = values("expect")
        .iter()
        .any(|v| v.eq_ignore_ascii_case("100-continue"));
    if http11 && expect_continue && expects_body {
        let mut w = stream;
        w.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .and_then(|_| w.flush())
            .map_err(|e| bad(400, format!("cannot write 100 Continue: {e}")))?;
    }

    let (body, unread_body) = match framing {
        Framing::None => (Vec::new(), false),
        Framing::Length(n) => {
            let want = n.min(limit as u64);
            let mut body = Vec::new();
            reader
                .by_ref()
                .take(want)
                .read_to_end(&mut body)
                .map_err(|e| io_bad("cannot read the body", &e))?;
            if (body.len() as u64) < want {
                return Err(bad(400, "the body is shorter than its Content-Length"));
            }
            (body, n > want)
        }
        Framing::Chunked => read_chunked(reader, limit)?,
    };
    let request = HttpRequest {
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        headers,
        body,
    };
    Ok(Some(Incoming {
        request,
        unread_body,
    }))
}

/// Reads a chunked body, stopping once it holds `limit` bytes (the rest stays unread: the
/// second value is then `true`).
fn read_chunked<R: BufRead>(reader: &mut R, limit: usize) -> Result<(Vec<u8>, bool), BadRequest> {
    let mut body = Vec::new();
    loop {
        let mut budget = MAX_CHUNK_LINE;
        let line = read_line(reader, &mut budget, 400)?
            .ok_or_else(|| bad(400, "the connection closed inside a chunked body"))?;
        let size = std::str::from_utf8(&line)
            .ok()
            .and_then(|l| l.split(';').next())
            .map(str::trim)
            .filter(|s| !s.is_empty() && s.len() <= 16)
            .and_then(|s| u64::from_str_radix(s, 16).ok())
            .ok_or_else(|| bad(400, "malformed chunk size"))?;
        if size == 0 {
            let mut budget = MAX_HEAD_BYTES;
            loop {
                match read_line(reader, &mut budget, 431)? {
                    Some(l) if l.is_empty() => return Ok((body, false)),
                    Some(_) => continue, // trailer fields are ignored
                    None => return Err(bad(400, "the connection closed inside the trailers")),
                }
            }
        }
        let want = size.min((limit - body.len()) as u64);
        let before = body.len();
        reader
            .by_ref()
            .take(want)
            .read_to_end(&mut body)
            .map_err(|e| io_bad("cannot read the body", &e))?;
        if ((body.len() - before) as u64) < want {
            return Err(bad(400, "the connection closed inside a chunk"));
        }
        if body.len() >= limit {
            return Ok((body, true));
        }
        let mut budget = 2;
        match read_line(reader, &mut budget, 400)? {
            Some(l) if l.is_empty() => {}
            _ => return Err(bad(400, "a chunk is longer than its size")),
        }
    }
}

/// One line without its `\r\n` (or `\n`), taking at most `budget` bytes (which it decrements);
/// `None` at end of input before any byte. A line longer than the budget is `over_status`.
fn read_line<R: BufRead>(
    reader: &mut R,
    budget: &mut usize,
    over_status: u16,
) -> Result<Option<Vec<u8>>, BadRequest> {
    let mut line = Vec::new();
    let n = reader
        .by_ref()
        .take(*budget as u64)
        .read_until(b'\n', &mut line)
        .map_err(|e| io_bad("cannot read the request", &e))?;
    if n == 0 {
        return Ok(None);
    }
    *budget -= n;
    if line.last() != Some(&b'\n') {
        return Err(if *budget == 0 {
            bad(over_status, "the request head is too large")
        } else {
            bad(400, "the connection closed inside the request head")
        });
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(Some(line))
}

/// `tchar` of RFC 9110.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// (path, query) of a request target; an absolute-form target loses its scheme and authority.
fn split_target(target: &str) -> (&str, &str) {
    let mut rest = target;
    for scheme in ["http://", "https://"] {
        if let Some(after) = target.strip_prefix(scheme) {
            rest = after.find('/').map_or("/", |i| &after[i..]);
        }
    }
    let rest = rest.split('#').next().unwrap_or_default();
    rest.split_once('?').unwrap_or((rest, ""))
}

fn error_response(status: u16, message: &str) -> HttpResponse {
    let code = match status {
        400 => "bad_request",
        408 => "request_timeout",
        431 => "request_header_fields_too_large",
        _ => "internal_error",
    };
    pec_http::error_response(status, code, message)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        _ => "Status",
    }
}

fn write_response(
    stream: &TcpStream,
    response: &HttpResponse,
    path: &str,
    head_only: bool,
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n",
        response.status,
        reason(response.status),
        response.content_type,
        response.body.len()
    );
    if response.status == 405 {
        if let Some(allow) = allowed_method(path) {
            head.push_str(&format!("Allow: {allow}\r\n"));
        }
    }
    head.push_str("\r\n");
    let mut w = stream;
    w.write_all(head.as_bytes())?;
    if !head_only {
        w.write_all(&response.body)?;
    }
    w.flush()
}

/// Reads and drops what the client still sends (briefly, boundedly) before closing, so that
/// closing with unread data does not reset the connection before the client reads the answer.
fn linger(stream: &TcpStream) {
    let until = Instant::now() + LINGER;
    let _ = stream.set_read_timeout(Some(LINGER));
    let mut reader = DeadlineReader {
        stream,
        deadline: until,
    }
    .take(LINGER_BYTES);
    let mut buf = [0u8; 16 * 1024];
    while let Ok(n) = reader.read(&mut buf) {
        if n == 0 {
            break;
        }
    }
}

/// Reads from the socket until a deadline, then fails with `TimedOut`.
struct DeadlineReader<'s> {
    stream: &'s TcpStream,
    deadline: Instant,
}

impl Read for DeadlineReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if Instant::now() >= self.deadline {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the request took too long",
            ));
        }
        let mut s = self.stream;
        s.read(buf)
    }
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
    fn targets_split_into_path_and_query() {
        assert_eq!(split_target("/a/b?x=1&y=2"), ("/a/b", "x=1&y=2"));
        assert_eq!(split_target("/a"), ("/a", ""));
        assert_eq!(split_target("http://h:1/a?q"), ("/a", "q"));
        assert_eq!(split_target("http://h:1"), ("/", ""));
        assert_eq!(split_target("*"), ("*", ""));
        assert_eq!(split_target("/a#frag"), ("/a", ""));
    }

    #[test]
    fn lines_are_bounded() {
        let mut input: &[u8] = b"GET / HTTP/1.1\r\nrest";
        let mut budget = 100;
        assert_eq!(
            read_line(&mut input, &mut budget, 431).ok().flatten(),
            Some(b"GET / HTTP/1.1".to_vec())
        );
        assert_eq!(budget, 84);
        let mut input: &[u8] = b"0123456789\r\n";
        let mut budget = 5;
        assert_eq!(
            read_line(&mut input, &mut budget, 431)
                .err()
                .map(|e| e.status),
            Some(431)
        );
        let mut input: &[u8] = b"";
        assert!(matches!(read_line(&mut input, &mut budget, 431), Ok(None)));
    }

    #[test]
    fn chunked_bodies_decode_and_stop_at_the_limit() {
        let mut input: &[u8] = b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n";
        let (body, unread) = read_chunked(&mut input, 100).ok().unwrap_or_default();
        assert_eq!(body, b"hello world");
        assert!(!unread);
        let mut input: &[u8] = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
        let (body, unread) = read_chunked(&mut input, 8).ok().unwrap_or_default();
        assert_eq!(body, b"hello wo");
        assert!(unread);
        for bad in [
            &b"zz\r\nhello\r\n0\r\n\r\n"[..],
            b"3\r\nhello\r\n0\r\n\r\n",
            b"5\r\nhel",
            b"FFFFFFFFFFFFFFFFFF\r\n",
        ] {
            let mut input = bad;
            assert!(read_chunked(&mut input, 100).is_err());
        }
    }

    #[test]
    fn log_lines_cannot_be_forged() {
        assert_eq!(printable("/a\r\nGET /b"), "/a??GET /b");
        assert_eq!(printable(&"x".repeat(300)).chars().count(), 201);
    }
}
