//! A fault-injecting HTTP proxy in front of the AWS emulator. The SDK clients point at it
//! (`endpoint_url`); it reads each HTTP/1.1 request, asks the scripted plan what to do with it
//! and then forwards it to moto, or answers with a throttling or 5xx error, resets the
//! connection, hangs past the client's timeouts, cuts or stalls a streamed body, or rewrites a
//! batch so that some of its items come back unprocessed. Every request is logged (time,
//! operation, fault), so tests count attempts and check the gaps between them.
//!
//! Each client connection carries one request: the proxy answers with `Connection: close`.
#![allow(dead_code)]

use serde_json::{json, Map, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// Which service a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    DynamoDb,
    S3,
    Sqs,
    Ssm,
}

/// What the plan sees of a request.
#[derive(Debug, Clone)]
pub struct Request {
    pub service: Service,
    /// `PutItem`, `TransactWriteItems`, … for the JSON services; `GetObject`, `PutObject`,
    /// `ListObjectsV2`, `HeadObject`, … (from method and path) for S3.
    pub op: String,
    /// The path (S3: `/bucket/key`).
    pub path: String,
    /// 0-based index of this request among all requests the proxy has seen.
    pub index: usize,
    /// 0-based index among the requests of the same operation.
    pub op_index: usize,
    /// 0-based index among DynamoDB write requests (`PutItem`, `UpdateItem`, `DeleteItem`,
    /// `BatchWriteItem`, `TransactWriteItems`), for writes only.
    pub write_index: Option<usize>,
}

/// What to do with one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Forward to moto, return its response.
    Pass,
    /// A DynamoDB JSON error (`__type` short name, e.g. `ThrottlingException`) with this status.
    Dynamo(u16, &'static str),
    /// `TransactionCanceledException` whose reasons are `None` and one `TransactionConflict`.
    TransactionConflict,
    /// An S3 XML error (code, e.g. `SlowDown`, `InternalError`) with this status.
    S3(u16, &'static str),
    /// Reset the connection without forwarding (the request never reached the service).
    Reset,
    /// Forward, then reset instead of answering (the request took effect, its answer is lost).
    LoseResponse,
    /// Wait this long, then forward; the answer goes to a client that has usually timed out.
    Hang(Duration),
    /// Forward, send the response head and this many body bytes, then reset.
    CutBody(usize),
    /// Forward, send the response head and this many body bytes, then send nothing more.
    StallBody(usize),
    /// `BatchWriteItem` / `BatchGetItem`: forward only the first half of the items (keys) and
    /// report the rest as `UnprocessedItems` (`UnprocessedKeys`).
    Unprocessed,
    /// A non-retryable error (the process "died" at this point): DynamoDB
    /// `ValidationException`, S3 `AccessDenied`.
    Crash,
}

/// One logged request.
#[derive(Debug, Clone)]
pub struct Logged {
    pub at: Instant,
    pub service: Service,
    pub op: String,
    pub fault: Fault,
}

type Plan = Box<dyn FnMut(&Request) -> Fault + Send>;

struct State {
    plan: Plan,
    log: Vec<Logged>,
    counts: std::collections::HashMap<String, usize>,
    writes: usize,
}

/// The running proxy.
#[derive(Clone)]
pub struct FaultProxy {
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl FaultProxy {
    /// Starts the proxy on a free loopback port, on `rt`, forwarding to `upstream`
    /// (`http://host:port`). Everything passes until a plan is set.
    pub fn start(rt: &tokio::runtime::Runtime, upstream: &str) -> FaultProxy {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = rt
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("bind proxy");
        let url = format!("http://{}", listener.local_addr().expect("proxy address"));
        let state = Arc::new(Mutex::new(State {
            plan: Box::new(|_| Fault::Pass),
            log: Vec::new(),
            counts: Default::default(),
            writes: 0,
        }));
        let st = state.clone();
        rt.spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                let st = st.clone();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let _ = serve(sock, &upstream, st).await;
                });
            }
        });
        FaultProxy { url, state }
    }

    /// Replaces the plan (and keeps the log and counters).
    pub fn set_plan(&self, plan: impl FnMut(&Request) -> Fault + Send + 'static) {
        self.state.lock().expect("proxy state").plan = Box::new(plan);
    }

    /// Forwards everything from now on.
    pub fn pass(&self) {
        self.set_plan(|_| Fault::Pass);
    }

    /// Clears the log and the per-operation and write counters.
    pub fn reset_log(&self) {
        let mut s = self.state.lock().expect("proxy state");
        s.log.clear();
        s.counts.clear();
        s.writes = 0;
    }

    pub fn log(&self) -> Vec<Logged> {
        self.state.lock().expect("proxy state").log.clone()
    }

    /// Requests of one operation that the proxy saw (attempts, retries included).
    pub fn attempts(&self, op: &str) -> usize {
        self.log().iter().filter(|l| l.op == op).count()
    }

    /// Requests answered with a fault (anything but `Pass`).
    pub fn faults(&self) -> usize {
        self.log().iter().filter(|l| l.fault != Fault::Pass).count()
    }

    /// DynamoDB write requests seen since the last [`FaultProxy::reset_log`].
    pub fn writes(&self) -> usize {
        self.state.lock().expect("proxy state").writes
    }
}

const DYNAMO_WRITES: [&str; 5] = [
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "BatchWriteItem",
    "TransactWriteItems",
];

struct Http {
    head: Vec<(String, String)>,
    /// Request line or status line.
    first: String,
    body: Vec<u8>,
}

impl Http {
    fn header(&self, name: &str) -> Option<&str> {
        self.head
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn set_header(&mut self, name: &str, value: &str) {
        self.head.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.head.push((name.to_string(), value.to_string()));
    }

    fn remove_header(&mut self, name: &str) {
        self.head.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    }

    fn encode_head(&self) -> Vec<u8> {
        let mut out = format!("{}\r\n", self.first);
        for (k, v) in &self.head {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str("\r\n");
        out.into_bytes()
    }
}

async fn read_head<R: AsyncBufReadExt + Unpin>(r: &mut R) -> std::io::Result<Option<Http>> {
    let mut first = String::new();
    if r.read_line(&mut first).await? == 0 {
        return Ok(None);
    }
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await? == 0 {
            return Err(std::io::Error::other("connection closed in the head"));
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            head.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    Ok(Some(Http {
        head,
        first: first.trim_end_matches(['\r', '\n']).to_string(),
        body: Vec::new(),
    }))
}

/// Reads a body framed by `Content-Length` or chunked encoding (decoded), or, with
/// `to_eof`, everything up to the end of the stream.
async fn read_body<R: AsyncBufReadExt + Unpin>(
    r: &mut R,
    msg: &mut Http,
    to_eof: bool,
) -> std::io::Result<()> {
    let chunked = msg
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        let mut body = Vec::new();
        loop {
            let mut size = String::new();
            r.read_line(&mut size).await?;
            let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                .map_err(std::io::Error::other)?;
            if size == 0 {
                // Trailers, then the blank line.
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).await? == 0 || line.trim().is_empty() {
                        break;
                    }
                }
                break;
            }
            let mut chunk = vec![0; size + 2];
            r.read_exact(&mut chunk).await?;
            chunk.truncate(size);
            body.extend_from_slice(&chunk);
        }
        msg.remove_header("transfer-encoding");
        msg.set_header("Content-Length", &body.len().to_string());
        msg.body = body;
    } else if let Some(n) = msg.header("content-length") {
        let n: usize = n.parse().map_err(std::io::Error::other)?;
        let mut body = vec![0; n];
        r.read_exact(&mut body).await?;
        msg.body = body;
    } else if to_eof {
        r.read_to_end(&mut msg.body).await?;
        msg.set_header("Content-Length", &msg.body.len().to_string());
    }
    Ok(())
}

fn classify(req: &Http) -> (Service, String, String) {
    let mut parts = req.first.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("").to_string();
    let (path, query) = target.split_once('?').unwrap_or((target.as_str(), ""));
    if let Some(t) = req.header("x-amz-target") {
        let (prefix, op) = t.split_once('.').unwrap_or(("", t));
        let service = if prefix.starts_with("DynamoDB") {
            Service::DynamoDb
        } else if prefix.starts_with("AmazonSQS") {
            Service::Sqs
        } else {
            Service::Ssm
        };
        return (service, op.to_string(), path.to_string());
    }
    // The SQS and SSM query protocols (older clients) carry the action in the form body.
    let form = req
        .header("content-type")
        .is_some_and(|c| c.contains("x-www-form-urlencoded"));
    if form {
        let body = String::from_utf8_lossy(&req.body).to_string();
        if let Some(action) = body.split('&').find_map(|kv| kv.strip_prefix("Action=")) {
            return (Service::Sqs, action.to_string(), path.to_string());
        }
    }
    let segments = path.trim_start_matches('/').split('/').count();
    let object = segments >= 2 && !path.trim_start_matches('/').ends_with('/');
    let op = match (method.as_str(), object) {
        ("GET", true) => "GetObject",
        ("PUT", true) => "PutObject",
        ("HEAD", true) => "HeadObject",
        ("DELETE", true) => "DeleteObject",
        ("GET", false) if query.contains("list-type=2") => "ListObjectsV2",
        ("GET", false) => "ListObjects",
        ("PUT", false) => "CreateBucket",
        ("HEAD", false) => "HeadBucket",
        _ => "S3Other",
    };
    (Service::S3, op.to_string(), path.to_string())
}

fn response(status: u16, content_type: &str, body: Vec<u8>) -> Http {
    Http {
        first: format!("HTTP/1.1 {status} Fault"),
        head: vec![
            ("Content-Type".into(), content_type.into()),
            ("Content-Length".into(), body.len().to_string()),
            ("x-amzn-RequestId".into(), "FAULTPROXY".into()),
        ],
        body,
    }
}

fn dynamo_error(status: u16, ty: &str, message: &str, extra: Value) -> Http {
    let mut v =
        json!({"__type": format!("com.amazonaws.dynamodb.v20120810#{ty}"), "message": message});
    if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
        o.extend(e);
    }
    response(
        status,
        "application/x-amz-json-1.0",
        v.to_string().into_bytes(),
    )
}

fn s3_error(status: u16, code: &str) -> Http {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>injected by the fault proxy</Message><RequestId>FAULTPROXY</RequestId></Error>"
    );
    response(status, "application/xml", body.into_bytes())
}

async fn forward(upstream: &str, req: &Http, method_head: bool) -> std::io::Result<Http> {
    let mut up = TcpStream::connect(upstream).await?;
    let mut req = Http {
        first: req.first.clone(),
        head: req.head.clone(),
        body: req.body.clone(),
    };
    req.set_header("Connection", "close");
    req.remove_header("expect");
    req.set_header("Content-Length", &req.body.len().to_string());
    up.write_all(&req.encode_head()).await?;
    up.write_all(&req.body).await?;
    let mut r = BufReader::new(up);
    let mut resp = read_head(&mut r)
        .await?
        .ok_or_else(|| std::io::Error::other("upstream closed"))?;
    if !method_head {
        read_body(&mut r, &mut resp, true).await?;
    }
    resp.set_header("Connection", "close");
    Ok(resp)
}

/// Half of a batch's items forwarded, the other half reported unprocessed.
fn split_batch(req: &mut Http, op: &str) -> Option<(Value, bool)> {
    let mut v: Value = serde_json::from_slice(&req.body).ok()?;
    let items = v.get_mut("RequestItems")?.as_object_mut()?;
    let mut unprocessed = Map::new();
    let mut kept_any = false;
    for (table, reqs) in items.iter_mut() {
        let list = if op == "BatchGetItem" {
            reqs.get_mut("Keys")?.as_array_mut()?
        } else {
            reqs.as_array_mut()?
        };
        let keep = list.len() / 2;
        let moved: Vec<Value> = list.drain(keep..).collect();
        kept_any |= keep > 0;
        if op == "BatchGetItem" {
            let mut ka = reqs.clone();
            ka["Keys"] = Value::Array(moved);
            unprocessed.insert(table.clone(), ka);
        } else {
            unprocessed.insert(table.clone(), Value::Array(moved));
        }
    }
    items.retain(|_, r| {
        let n = r
            .get("Keys")
            .and_then(Value::as_array)
            .or_else(|| r.as_array())
            .map_or(0, Vec::len);
        n > 0
    });
    req.body = v.to_string().into_bytes();
    Some((Value::Object(unprocessed), kept_any))
}

async fn serve(sock: TcpStream, upstream: &str, state: Arc<Mutex<State>>) -> std::io::Result<()> {
    let (rd, mut wr) = sock.into_split();
    let mut rd = BufReader::new(rd);
    let Some(mut req) = read_head(&mut rd).await? else {
        return Ok(());
    };
    if req
        .header("expect")
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    {
        wr.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
    }
    read_body(&mut rd, &mut req, false).await?;
    let (service, op, path) = classify(&req);
    let is_head = req.first.starts_with("HEAD ");
    let fault = {
        let mut s = state.lock().expect("proxy state");
        let index = s.log.len();
        let op_index = *s.counts.get(&op).unwrap_or(&0);
        s.counts.insert(op.clone(), op_index + 1);
        let write_index = (service == Service::DynamoDb && DYNAMO_WRITES.contains(&op.as_str()))
            .then(|| {
                s.writes += 1;
                s.writes - 1
            });
        let r = Request {
            service,
            op: op.clone(),
            path,
            index,
            op_index,
            write_index,
        };
        let fault = (s.plan)(&r);
        s.log.push(Logged {
            at: Instant::now(),
            service,
            op: op.clone(),
            fault: fault.clone(),
        });
        fault
    };
    let reset = |wr: tokio::net::tcp::OwnedWriteHalf,
                 rd: BufReader<tokio::net::tcp::OwnedReadHalf>| {
        let sock = rd.into_inner().reunite(wr).expect("one socket");
        // SO_LINGER 0: the close sends a reset at once (it never blocks).
        #[allow(deprecated)]
        let _ = sock.set_linger(Some(Duration::ZERO));
        drop(sock);
    };
    let answer = match fault {
        Fault::Pass => forward(upstream, &req, is_head).await?,
        Fault::Dynamo(status, ty) => dynamo_error(status, ty, "injected by the fault proxy", json!({})),
        Fault::TransactionConflict => dynamo_error(
            400,
            "TransactionCanceledException",
            "Transaction cancelled, please refer cancellation reasons for specific reasons [None, TransactionConflict]",
            json!({"CancellationReasons": [
                {"Code": "None"},
                {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
            ]}),
        ),
        Fault::S3(status, code) => s3_error(status, code),
        Fault::Crash => match service {
            Service::S3 => s3_error(403, "AccessDenied"),
            _ => dynamo_error(400, "ValidationException", "simulated crash: the process is gone", json!({})),
        },
        Fault::Reset => {
            reset(wr, rd);
            return Ok(());
        }
        Fault::LoseResponse => {
            let _ = forward(upstream, &req, is_head).await?;
            reset(wr, rd);
            return Ok(());
        }
        Fault::Hang(d) => {
            tokio::time::sleep(d).await;
            forward(upstream, &req, is_head).await?
        }
        Fault::CutBody(n) | Fault::StallBody(n) => {
            let resp = forward(upstream, &req, is_head).await?;
            wr.write_all(&resp.encode_head()).await?;
            wr.write_all(&resp.body[..n.min(resp.body.len())]).await?;
            wr.flush().await?;
            if let Fault::StallBody(_) = fault {
                // Hold the connection open, silent, until the client gives up on it.
                let mut sink = [0u8; 1];
                let _ = tokio::time::timeout(Duration::from_secs(120), rd.read(&mut sink)).await;
                return Ok(());
            }
            reset(wr, rd);
            return Ok(());
        }
        Fault::Unprocessed => {
            if op == "BatchWriteItem" || op == "BatchGetItem" {
                let (unprocessed, kept_any) = split_batch(&mut req, &op)
                    .ok_or_else(|| std::io::Error::other("not a batch request"))?;
                let mut v: Value = if kept_any {
                    let resp = forward(upstream, &req, false).await?;
                    serde_json::from_slice(&resp.body).map_err(std::io::Error::other)?
                } else {
                    json!({})
                };
                if op == "BatchWriteItem" {
                    v["UnprocessedItems"] = unprocessed;
                } else {
                    if v.get("Responses").is_none() {
                        let empty: Map<String, Value> = unprocessed
                            .as_object()
                            .map(|m| m.keys().map(|k| (k.clone(), json!([]))).collect())
                            .unwrap_or_default();
                        v["Responses"] = Value::Object(empty);
                    }
                    v["UnprocessedKeys"] = unprocessed;
                }
                let mut r = response(200, "application/x-amz-json-1.0", v.to_string().into_bytes());
                r.first = "HTTP/1.1 200 OK".into();
                r
            } else {
                forward(upstream, &req, is_head).await?
            }
        }
    };
    let mut answer = answer;
    answer.remove_header("x-amz-crc32");
    answer.set_header("Connection", "close");
    wr.write_all(&answer.encode_head()).await?;
    if !is_head {
        wr.write_all(&answer.body).await?;
    }
    wr.flush().await?;
    wr.shutdown().await?;
    Ok(())
}
