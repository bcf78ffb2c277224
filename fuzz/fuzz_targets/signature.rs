//! Webhook signatures (Standard Webhooks): `webhook_secret::{validate, sign, verify}` with
//! arbitrary secrets, message ids, timestamps, bodies and headers, and `webhook::handle` with
//! arbitrary requests (method, path, query, headers, body), signed correctly, with another
//! secret, or not at all.
//!
//! Invariants of the signature functions: no panic; `sign` fails exactly when `validate` does,
//! and then nothing verifies; `verify(sign(x))` holds, also among other `v1,` entries and with a
//! second (rotated) secret; a header verifies only if it holds the exact signature; changing any
//! byte of the signature, or the timestamp, makes it fail.
//!
//! Invariants of the handler: no panic and no store error (on a fresh in-memory store); every
//! JSON response parses, and an error response is `{"error":{"code","message","details"}}`; a
//! request that is not correctly signed never gets past 401 (so never 2xx, 400, 403 or 409) and
//! archives nothing; a correctly signed, timely snapshot POST is never 401, is archived exactly
//! when it is accepted (202, body archived as sent), and sent again is a 200 duplicate.
#![no_main]

use arbitrary::Arbitrary;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use pec_embedded::SqliteStore;
use pec_ledger::store::{ObjectStore, PartnerStore, StoreResult, WebhookSecret};
use pec_http::{handle, HttpRequest, HttpResponse, TIMESTAMP_TOLERANCE_SECONDS};
use pec_ledger::webhook_secret::{sign, validate, verify};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Mutex;

const PARTNER: &str = "7a3c0000-0000-4000-8000-000000000001";
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const OTHER_SECRET: &str = "whsec_b3RoZXIgcGFydG5lcidzIHNlY3JldCEhISEhISE=";

#[derive(Arbitrary, Debug)]
struct Input {
    signing: Signing,
    request: Request,
}

/// The pure signature functions.
#[derive(Arbitrary, Debug)]
struct Signing {
    /// The secret's key (`whsec_` + base64), unless `raw_secret` is given.
    key: Vec<u8>,
    raw_secret: Option<String>,
    msg_id: String,
    timestamp: i64,
    body: Vec<u8>,
    /// A header to verify as it is.
    header: String,
    /// Other entries put before the signature.
    others: String,
    /// Which byte of the signature to change, and how.
    flip_at: u16,
    flip_mask: u8,
}

#[derive(Arbitrary, Debug)]
enum Method {
    Post,
    Get,
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum Partner {
    Known,
    /// The known partner upper-cased (paths are case-insensitive).
    KnownUpper,
    Other(String),
}

impl Partner {
    fn text(&self) -> String {
        match self {
            Partner::Known => PARTNER.into(),
            Partner::KnownUpper => PARTNER.to_ascii_uppercase(),
            Partner::Other(p) => p.clone(),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Route {
    Snapshots(Partner),
    Statement(Partner, String),
    OpenApi,
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum ContentType {
    Json,
    JsonUtf8,
    None,
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum Sig {
    /// Signed with the partner's secret.
    Correct,
    /// Signed with the partner's secret, among other entries.
    Among(String, String),
    /// Signed with another valid secret.
    Wrong,
    Raw(String),
    Missing,
}

#[derive(Arbitrary, Debug)]
struct Assignment {
    scope: String,
    role: String,
    principal: u8,
    access: u8,
    assignment: u8,
    pal: Option<String>,
    created: Option<i32>,
}

#[derive(Arbitrary, Debug)]
enum Body {
    Raw(Vec<u8>),
    /// A snapshot-shaped JSON document.
    Snapshot {
        snapshot_id: String,
        partner: Partner,
        customer: String,
        /// Minutes after 2026-10-01T00:00Z.
        taken_at: i32,
        assignments: Vec<Assignment>,
    },
}

impl Body {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Body::Raw(b) => b.clone(),
            Body::Snapshot {
                snapshot_id,
                partner,
                customer,
                taken_at,
                assignments,
            } => {
                let base = Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap();
                let at = |m: i32| (base + chrono::Duration::minutes(i64::from(m))).to_rfc3339();
                let items: Vec<Value> = assignments
                    .iter()
                    .enumerate()
                    .map(|(i, a)| {
                        let pick = |n: u8, names: &[&str]| names[usize::from(n) % names.len()].to_string();
                        let mut v = json!({
                            "id": format!("/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/a{i}"),
                            "scope": a.scope,
                            "roleDefinitionId": "b24988ac-6180-42a0-ab88-20f7382dd24c",
                            "roleName": a.role,
                            "principalId": "p1",
                            "principalType": pick(a.principal, &["ForeignGroup", "Group", "User", "ServicePrincipal", "Robot"]),
                            "accessType": pick(a.access, &["AOBO", "LIGHTHOUSE", "DIRECT", "GDAP", "gdap", "other"]),
                            "assignmentType": pick(a.assignment, &["permanent", "eligible", "activated", "Eligible", "never"]),
                        });
                        if let Some(p) = &a.pal {
                            v["partnerAdminLinkMpnId"] = json!(p);
                        }
                        if let Some(c) = a.created {
                            v["createdOn"] = json!(at(c));
                        }
                        v
                    })
                    .collect();
                serde_json::to_vec(&json!({
                    "schemaVersion": 1,
                    "snapshotId": snapshot_id,
                    "partnerId": partner.text(),
                    "customerId": customer,
                    "takenAt": at(*taken_at),
                    "source": "fuzz",
                    "assignments": items,
                }))
                .expect("a JSON value serialises")
            }
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Request {
    method: Method,
    route: Route,
    query: String,
    content_type: ContentType,
    sig: Sig,
    msg_id: String,
    /// Seconds from the server's clock.
    skew: i16,
    extra_headers: Vec<(String, String)>,
    body: Body,
    /// Send the same request a second time.
    repeat: bool,
}

/// The objects archived, in memory.
#[derive(Default)]
struct Objects(Mutex<Vec<(String, Vec<u8>)>>);

impl ObjectStore for Objects {
    fn put_object(&self, key: &str, body: &[u8], _content_type: &str) -> StoreResult<()> {
        self.0.lock().unwrap().push((key.into(), body.to_vec()));
        Ok(())
    }

    fn get_object(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        let objects = self.0.lock().unwrap();
        Ok(objects
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, b)| b.clone()))
    }
}

fn check_signing(s: &Signing) {
    let secret = match &s.raw_secret {
        Some(raw) => raw.clone(),
        None => format!("whsec_{}", STANDARD.encode(&s.key)),
    };
    let secrets = [secret.clone()];
    let (id, ts, body) = (s.msg_id.as_str(), s.timestamp, s.body.as_slice());
    let sig = match sign(&secret, id, ts, body) {
        Ok(sig) => sig,
        Err(_) => {
            assert!(
                validate(&secret).is_err(),
                "sign fails only on a bad secret"
            );
            assert!(!verify(&secrets, id, ts, body, &s.header));
            return;
        }
    };
    assert!(validate(&secret).is_ok());
    assert!(sig.starts_with("v1,") && !sig.contains(char::is_whitespace));
    assert!(verify(&secrets, id, ts, body, &sig), "verify(sign(x))");
    assert!(verify(
        &secrets,
        id,
        ts,
        body,
        &format!("{} {sig}", s.others)
    ));
    assert!(verify(
        &[OTHER_SECRET.into(), secret.clone()],
        id,
        ts,
        body,
        &sig
    ));
    assert!(!verify(&secrets, id, ts.wrapping_add(1), body, &sig));
    if verify(&secrets, id, ts, body, &s.header) {
        assert!(
            s.header.split_whitespace().any(|t| t == sig),
            "only the exact signature verifies: {:?} vs {sig}",
            s.header
        );
    }
    let mut flipped = sig.clone().into_bytes();
    let at = usize::from(s.flip_at) % flipped.len();
    flipped[at] ^= s.flip_mask.max(1);
    if let Ok(flipped) = String::from_utf8(flipped) {
        assert!(
            !verify(&secrets, id, ts, body, &flipped),
            "a changed signature fails: {flipped}"
        );
    }
}

fn run(
    store: &SqliteStore,
    objects: &Objects,
    request: &HttpRequest,
    now: DateTime<Utc>,
) -> HttpResponse {
    let response = handle(store, objects, &Default::default(), request, now)
        .expect("an in-memory store does not fail");
    if response.content_type == "application/json" {
        let v: Value = serde_json::from_slice(&response.body).expect("JSON responses parse");
        if response.status >= 400 {
            let e = &v["error"];
            assert!(e["code"].is_string() && e["message"].is_string(), "{v}");
            assert!(e["details"].is_array(), "{v}");
        }
    } else {
        assert_eq!(response.status, 200, "only statements are not JSON");
    }
    response
}

fn check_handler(r: &Request) {
    let now = Utc.with_ymd_and_hms(2026, 10, 2, 12, 0, 0).unwrap();
    let store = SqliteStore::open(Path::new(":memory:")).expect("an in-memory store opens");
    store
        .add_secret(
            PARTNER,
            &WebhookSecret {
                secret: SECRET.into(),
                added_at: now,
            },
        )
        .expect("adding a secret");
    let objects = Objects::default();

    let method = match &r.method {
        Method::Post => "POST".to_string(),
        Method::Get => "GET".to_string(),
        Method::Other(m) => m.clone(),
    };
    let path = match &r.route {
        Route::Snapshots(p) => format!("/v1/partners/{}/access-snapshots", p.text()),
        Route::Statement(p, month) => format!("/v1/partners/{}/statements/{month}", p.text()),
        Route::OpenApi => "/openapi.json".into(),
        Route::Raw(p) => p.clone(),
    };
    let body = r.body.bytes();
    let timestamp = now.timestamp() + i64::from(r.skew);
    // The handler signs GETs over an empty body.
    let signed: &[u8] = if method == "GET" { b"" } else { &body };
    let good = sign(SECRET, &r.msg_id, timestamp, signed).expect("a valid secret");
    let signature = match &r.sig {
        Sig::Correct => Some(good.clone()),
        Sig::Among(a, b) => Some(format!("{a} {good} {b}")),
        Sig::Wrong => Some(sign(OTHER_SECRET, &r.msg_id, timestamp, signed).expect("valid")),
        Sig::Raw(s) => Some(s.clone()),
        Sig::Missing => None,
    };
    let mut headers = Vec::new();
    match &r.content_type {
        ContentType::Json => headers.push(("content-type".into(), "application/json".into())),
        ContentType::JsonUtf8 => headers.push((
            "content-type".into(),
            "application/json; charset=utf-8".into(),
        )),
        ContentType::None => {}
        ContentType::Raw(ct) => headers.push(("content-type".into(), ct.clone())),
    }
    headers.push(("webhook-id".into(), r.msg_id.clone()));
    headers.push(("webhook-timestamp".into(), timestamp.to_string()));
    if let Some(s) = &signature {
        headers.push(("webhook-signature".into(), s.clone()));
    }
    headers.extend(r.extra_headers.iter().cloned());
    let request = HttpRequest {
        method: method.clone(),
        path,
        query: r.query.clone(),
        headers,
        body: body.clone(),
    };
    let response = run(&store, &objects, &request, now);

    // Whether the signature in the request's own (first) header is genuinely the partner's.
    let first = |name: &str| {
        request
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let sig_header = first("webhook-signature").unwrap_or("");
    let holds_good = sig_header
        .split_whitespace()
        .filter(|t| t.starts_with("v1,"))
        .take(8)
        .any(|t| t == good);
    let genuine = holds_good
        && first("webhook-id") == Some(r.msg_id.as_str())
        && first("webhook-timestamp") == Some(timestamp.to_string().as_str());
    if !genuine && response.status != 404 && response.status != 405 {
        // Not signed by the partner: stopped at the content type, size or signature, or a
        // statement of an unknown partner (statements of other partners are 401 too).
        assert!(
            matches!(response.status, 401 | 413 | 415)
                || response.status == 200 && request.path == "/openapi.json",
            "unsigned request got {}: {}",
            response.status,
            String::from_utf8_lossy(&response.body)
        );
    }
    let is_snapshot_post = matches!(
        r.route,
        Route::Snapshots(Partner::Known | Partner::KnownUpper)
    ) && method == "POST"
        && matches!(r.content_type, ContentType::Json | ContentType::JsonUtf8)
        && first("content-type").is_some_and(|ct| ct.starts_with("application/json"));
    let timely = i64::from(r.skew).abs() <= TIMESTAMP_TOLERANCE_SECONDS;
    if is_snapshot_post && genuine && timely && !r.msg_id.trim().is_empty() {
        assert!(
            matches!(response.status, 202 | 400 | 403),
            "a signed snapshot POST got {}: {}",
            response.status,
            String::from_utf8_lossy(&response.body)
        );
    }
    let archived = objects.0.lock().unwrap().clone();
    if response.status == 202 {
        assert_eq!(archived.len(), 1);
        assert_eq!(archived[0].1, body, "archived as sent");
        assert!(archived[0].0.starts_with(&format!("snapshots/{PARTNER}/")));
    } else {
        assert!(archived.is_empty(), "only an accepted snapshot is archived");
    }
    if r.repeat {
        let again = run(&store, &objects, &request, now);
        if response.status == 202 {
            assert_eq!(again.status, 200, "the same snapshot again is a duplicate");
            assert_eq!(objects.0.lock().unwrap().len(), 1, "archived once");
        } else if !(200..300).contains(&response.status) {
            assert_eq!(
                again.status, response.status,
                "a refused request is refused again"
            );
        }
    }
}

fuzz_target!(|input: Input| {
    check_signing(&input.signing);
    check_handler(&input.request);
});
