//! A function's cold start sends no request: [`LazyAws`] makes the SDK clients without one, and
//! the configuration is read from S3 once, on the first invocation (so the function polls the
//! Lambda runtime API for its first event without a network round trip), and the tables' format
//! is read once with it. No emulator needed: the endpoint is a local listener that records every
//! request and answers S3's "no such key", and DynamoDB's `Query` with a format 2 mark.

use pec_aws::{AwsEnv, ClientSettings, Clients, LazyAws};
use pec_ledger::config::Config;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Accepts connections for ever, records each request line and answers 404 `NoSuchKey`.
fn recording_endpoint() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            log.lock().expect("log").push(line.trim_end().to_string());
            // Skip the headers; a POST (DynamoDB) has a body.
            let mut length = 0usize;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; length];
            let _ = std::io::Read::read_exact(&mut reader, &mut body);
            if line.starts_with("POST") {
                let item = r#"{"Count":1,"ScannedCount":1,"Items":[{"pk":{"S":"FORMAT"},"sk":{"S":"-"},"format":{"N":"2"}}]}"#;
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{item}",
                    item.len()
                );
                continue;
            }
            let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NoSuchKey</Code>\
                        <Message>The specified key does not exist.</Message></Error>";
            let _ = write!(
                stream,
                "HTTP/1.1 404 Not Found\r\nContent-Type: application/xml\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, seen)
}

#[test]
fn no_request_before_the_first_invocation_then_one_configuration_and_one_format_read() {
    // Static credentials and region, as Lambda provides them (this test binary's only test).
    std::env::set_var("AWS_ACCESS_KEY_ID", "AKIDTEST");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "test-secret");
    std::env::set_var("AWS_REGION", "us-east-1");
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    std::env::remove_var("AWS_PROFILE");
    let (url, seen) = recording_endpoint();
    let env = AwsEnv {
        ledger_table: "pec-ledger-cold".into(),
        state_table: "pec-state-cold".into(),
        bucket: "pec-cold".into(),
        secrets_prefix: "/pec-cold/".into(),
        settle_queue_url: String::new(),
        endpoint_url: Some(url),
        alert_topic_arn: None,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let clients = Clients::for_lambda_with_settings(&env, &ClientSettings::default(), |k| {
            (k == "AWS_REGION").then(|| "us-east-1".to_string())
        })
        .expect("clients");
        let lazy = LazyAws::new(env, clients);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(*seen.lock().expect("log"), Vec::<String>::new());

        let first = lazy.get().await.expect("first invocation");
        assert_eq!(first.config, Config::default());
        let again = lazy.clone().get().await.expect("second invocation");
        assert!(Arc::ptr_eq(&first, &again), "built once per container");
        let read = lazy
            .blocking(|aws| Ok(aws.env.bucket.clone()))
            .await
            .expect("blocking on the same Aws");
        assert_eq!(read, "pec-cold");
    });
    let requests = seen.lock().expect("log").clone();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert!(
        requests[0].starts_with("GET /pec-cold/config/config.json"),
        "{requests:?}"
    );
    assert!(requests[1].starts_with("POST / "), "{requests:?}");
}
