use super::*;
use crate::snapshots::{key_part, MAX_KEY_PART_CHARS};
use chrono::TimeZone;
use pec_embedded::{FileObjectStore, SqliteStore};
use pec_ledger::statement::{render_csv, statement_from_store, Month};
use pec_ledger::store::{PartnerStore, WebhookSecret};
use pec_ledger::webhook_secret;
use pec_render::html::render_html;
use pec_render::xlsx::render_xlsx;
use serde_json::{json, Value};

const PARTNER: &str = "7a3c0000-0000-4000-8000-000000000001";
const OTHER: &str = "7a3c0000-0000-4000-8000-000000000002";
const CUSTOMER: &str = "bdd640fb-0667-4ad1-9c80-317fa3b1799d";
const SNAPSHOT_ID: &str = "bd9c66b3-ad3c-4d6d-9a3d-1fa7bc8960a9";
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SECRET2: &str = "whsec_c2Vjb25kIHNlY3JldCBvZiAzMiBieXRlcyEhISE=";
const OTHER_SECRET: &str = "whsec_b3RoZXIgcGFydG5lcidzIHNlY3JldCEhISEhISE=";

struct Fixture {
    _dir: tempfile::TempDir,
    store: SqliteStore,
    objects: FileObjectStore,
    now: DateTime<Utc>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_dir(&dir.path().join("data")).unwrap();
    let now = Utc.with_ymd_and_hms(2026, 10, 2, 12, 0, 0).unwrap();
    for (p, s) in [(PARTNER, SECRET), (OTHER, OTHER_SECRET)] {
        store
            .add_secret(
                p,
                &WebhookSecret {
                    secret: s.into(),
                    added_at: now,
                },
            )
            .unwrap();
    }
    let objects = FileObjectStore::new(dir.path().join("objects"));
    Fixture {
        _dir: dir,
        store,
        objects,
        now,
    }
}

impl Fixture {
    fn run(&self, request: &HttpRequest) -> HttpResponse {
        handle(
            &self.store,
            &self.objects,
            &Default::default(),
            request,
            self.now,
        )
        .unwrap()
    }

    fn archived(&self) -> Option<Vec<u8>> {
        self.objects
            .get_object(&format!(
                "snapshots/{PARTNER}/{CUSTOMER}/20261002T000500Z-{SNAPSHOT_ID}.json"
            ))
            .unwrap()
    }
}

fn snapshot(id: &str, partner: &str, role: &str) -> Vec<u8> {
    serde_json::to_vec_pretty(&json!({
        "schemaVersion": 1,
        "snapshotId": id,
        "partnerId": partner,
        "customerId": CUSTOMER,
        "takenAt": "2026-10-02T00:05:00Z",
        "source": "unit test",
        "assignments": [{
            "id": "/subscriptions/s1/providers/Microsoft.Authorization/roleAssignments/a1",
            "scope": "/subscriptions/s1",
            "roleDefinitionId": "b24988ac-6180-42a0-ab88-20f7382dd24c",
            "roleName": role,
            "principalId": "p1",
            "principalType": "ForeignGroup",
            "accessType": "AOBO",
            "assignmentType": "permanent"
        }]
    }))
    .unwrap()
}

fn signed_at(method: &str, path: &str, body: Vec<u8>, secret: &str, timestamp: i64) -> HttpRequest {
    let signed: &[u8] = if method == "GET" { b"" } else { &body };
    let sig = webhook_secret::sign(secret, "msg_1", timestamp, signed).unwrap();
    HttpRequest {
        method: method.into(),
        path: path.into(),
        query: String::new(),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("webhook-id".into(), "msg_1".into()),
            ("webhook-timestamp".into(), timestamp.to_string()),
            ("webhook-signature".into(), sig),
        ],
        body,
    }
}

fn post(f: &Fixture, path_partner: &str, body: Vec<u8>, secret: &str) -> HttpRequest {
    signed_at(
        "POST",
        &format!("/v1/partners/{path_partner}/access-snapshots"),
        body,
        secret,
        f.now.timestamp(),
    )
}

fn body_json(r: &HttpResponse) -> Value {
    serde_json::from_slice(&r.body).unwrap()
}

fn assert_error(r: &HttpResponse, status: u16, code: &str) -> Value {
    assert_eq!(r.status, status, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.content_type, "application/json");
    let v = body_json(r);
    assert_eq!(v["error"]["code"], code, "{v}");
    assert!(v["error"]["message"].is_string(), "{v}");
    assert!(v["error"]["details"].is_array(), "{v}");
    assert_eq!(v.as_object().unwrap().len(), 1, "{v}");
    let text = String::from_utf8_lossy(&r.body);
    assert!(
        text.starts_with(r#"{"error":{"code":"#) && text.contains(r#","message":"#),
        "{text}"
    );
    assert_eq!(v["error"].as_object().unwrap().len(), 3, "{v}");
    v
}

#[test]
fn accepts_then_reports_duplicates_and_archives_once() {
    let f = fixture();
    let body = snapshot(SNAPSHOT_ID, PARTNER, "Owner");
    let r = f.run(&post(&f, PARTNER, body.clone(), SECRET));
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        body_json(&r),
        json!({"snapshotId": SNAPSHOT_ID, "status": "accepted", "errors": []})
    );
    assert_eq!(f.archived(), Some(body.clone()));
    // The same request again (a replay within the tolerance) is a duplicate.
    let r = f.run(&post(&f, PARTNER, body.clone(), SECRET));
    assert_eq!(r.status, 200);
    assert_eq!(body_json(&r)["status"], "duplicate");
    // Same content, other whitespace, upper-case partner in the path: still a duplicate.
    let compact = serde_json::to_vec(&serde_json::from_slice::<Value>(&body).unwrap()).unwrap();
    let r = f.run(&post(&f, &PARTNER.to_uppercase(), compact, SECRET));
    assert_eq!(r.status, 200);
}

#[test]
fn schema_errors_are_400_with_paths_and_nothing_is_archived() {
    let f = fixture();
    let mut v: Value = serde_json::from_slice(&snapshot(SNAPSHOT_ID, PARTNER, "Owner")).unwrap();
    v["assignments"][0]["accessType"] = json!("TELEPATHY");
    v["takenAt"] = json!("yesterday");
    // Also the wrong partner: the schema problems come first.
    v["partnerId"] = json!(OTHER);
    let r = f.run(&post(&f, PARTNER, serde_json::to_vec(&v).unwrap(), SECRET));
    let e = assert_error(&r, 400, "invalid_snapshot");
    let paths: Vec<&str> = e["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"$.takenAt"), "{e}");
    assert!(paths.contains(&"$.assignments[0].accessType"), "{e}");
    assert_eq!(f.archived(), None);
}

#[test]
fn bodies_that_are_not_json_or_not_utf8_or_too_deep_are_400() {
    let f = fixture();
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    for body in [
        b"not json".to_vec(),
        b"{\"schemaVersion\": 1, \"snapshotId\": \"\xff\xfe\"}".to_vec(),
        deep.into_bytes(),
        b"{\"schemaVersion\": 1e999999}".to_vec(),
        b"{\"schemaVersion\": 123456789012345678901234567890}".to_vec(),
        Vec::new(),
    ] {
        let r = f.run(&post(&f, PARTNER, body, SECRET));
        let e = assert_error(&r, 400, "invalid_snapshot");
        assert!(!e["error"]["details"].as_array().unwrap().is_empty());
    }
}

#[test]
fn another_partners_snapshot_is_403() {
    let f = fixture();
    let r = f.run(&post(
        &f,
        PARTNER,
        snapshot(SNAPSHOT_ID, OTHER, "Owner"),
        SECRET,
    ));
    let e = assert_error(&r, 403, "partner_mismatch");
    assert_eq!(e["error"]["details"][0]["path"], "$.partnerId");
    assert_eq!(f.archived(), None);
}

#[test]
fn a_reused_snapshot_id_with_other_content_is_409() {
    let f = fixture();
    let r = f.run(&post(
        &f,
        PARTNER,
        snapshot(SNAPSHOT_ID, PARTNER, "Owner"),
        SECRET,
    ));
    assert_eq!(r.status, 202);
    let first = f.archived();
    let r = f.run(&post(
        &f,
        PARTNER,
        snapshot(SNAPSHOT_ID, PARTNER, "Contributor"),
        SECRET,
    ));
    let e = assert_error(&r, 409, "snapshot_conflict");
    assert_eq!(e["error"]["details"][0]["path"], "$.snapshotId");
    assert_eq!(f.archived(), first, "the archive keeps the first body");
}

#[test]
fn signatures_are_checked() {
    let f = fixture();
    let body = snapshot(SNAPSHOT_ID, PARTNER, "Owner");
    let now = f.now.timestamp();
    let path = format!("/v1/partners/{PARTNER}/access-snapshots");
    let mut cases: Vec<(&str, HttpRequest)> = Vec::new();
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        let mut r = post(&f, PARTNER, body.clone(), SECRET);
        r.headers.retain(|(n, _)| n != name);
        cases.push(("missing header", r));
    }
    let mut r = post(&f, PARTNER, body.clone(), SECRET);
    r.headers[1].1 = "   ".into();
    cases.push(("empty id", r));
    let mut r = post(&f, PARTNER, body.clone(), SECRET);
    r.headers[2].1 = "soon".into();
    cases.push(("timestamp not an integer", r));
    let mut r = post(&f, PARTNER, body.clone(), SECRET);
    r.headers[2].1 = "99999999999999999999999999".into();
    cases.push(("huge timestamp", r));
    cases.push((
        "stale",
        signed_at("POST", &path, body.clone(), SECRET, now - 6 * 60),
    ));
    cases.push((
        "future",
        signed_at("POST", &path, body.clone(), SECRET, now + 6 * 60),
    ));
    cases.push((
        "other partner's secret",
        post(&f, PARTNER, body.clone(), OTHER_SECRET),
    ));
    let mut r = post(&f, PARTNER, body.clone(), SECRET);
    r.body.push(b' ');
    cases.push(("body changed after signing", r));
    let mut r = post(&f, PARTNER, body.clone(), SECRET);
    r.headers[3].1 = r.headers[3].1.replacen("v1,", "v2,", 1);
    cases.push(("not a v1 signature", r));
    let mut r = post(&f, PARTNER, body.clone(), SECRET);
    r.headers[3].1 = format!("{} {}", "v1,AAAA ".repeat(20), r.headers[3].1);
    cases.push(("the good signature after too many bad ones", r));
    let unknown = "7a3c0000-0000-4000-8000-0000000000ff";
    let mut b: Value = serde_json::from_slice(&body).unwrap();
    b["partnerId"] = json!(unknown);
    cases.push((
        "unknown partner",
        post(&f, unknown, serde_json::to_vec(&b).unwrap(), SECRET),
    ));
    for (what, request) in cases {
        let r = f.run(&request);
        assert_eq!(
            r.status,
            401,
            "{what}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert_error(&r, 401, "unauthorized");
    }
    assert_eq!(f.archived(), None);
    // Just inside the tolerance, with the good signature among bad ones: accepted.
    let mut r = signed_at("POST", &path, body.clone(), SECRET, now - 299);
    r.headers[3].1 = format!("v1,AAAA v1,notbase64! {}", r.headers[3].1);
    assert_eq!(f.run(&r).status, 202);
}

#[test]
fn both_secrets_verify_during_rotation() {
    let f = fixture();
    f.store
        .add_secret(
            PARTNER,
            &WebhookSecret {
                secret: SECRET2.into(),
                added_at: f.now,
            },
        )
        .unwrap();
    let body = snapshot(SNAPSHOT_ID, PARTNER, "Owner");
    assert_eq!(f.run(&post(&f, PARTNER, body.clone(), SECRET)).status, 202);
    assert_eq!(f.run(&post(&f, PARTNER, body.clone(), SECRET2)).status, 200);
    assert!(f.store.revoke_secret(PARTNER, SECRET).unwrap());
    assert_eq!(f.run(&post(&f, PARTNER, body.clone(), SECRET)).status, 401);
    assert_eq!(f.run(&post(&f, PARTNER, body, SECRET2)).status, 200);
}

#[test]
fn content_type_is_checked_before_size_and_signature() {
    let f = fixture();
    let body = snapshot(SNAPSHOT_ID, PARTNER, "Owner");
    for ct in [
        "application/json",
        "Application/JSON; charset=UTF-8",
        "application/json;charset=\"utf-8\"",
    ] {
        let mut r = post(&f, PARTNER, body.clone(), SECRET);
        r.headers[0].1 = ct.into();
        assert!(matches!(f.run(&r).status, 200 | 202), "{ct}");
    }
    for ct in [
        None,
        Some("text/plain"),
        Some("application/json; charset=latin-1"),
        Some("application/jsonx"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let mut r = post(&f, PARTNER, vec![b'x'; MAX_BODY_BYTES + 1], OTHER_SECRET);
        r.headers.retain(|(n, _)| n != "content-type");
        if let Some(ct) = ct {
            r.headers.push(("content-type".into(), ct.into()));
        }
        assert_error(&f.run(&r), 415, "unsupported_media_type");
    }
}

#[test]
fn a_body_over_5_mib_is_413_before_the_signature_is_checked() {
    let f = fixture();
    let mut body = snapshot(SNAPSHOT_ID, PARTNER, "Owner");
    body.resize(MAX_BODY_BYTES + 1, b' ');
    let mut r = post(&f, PARTNER, body.clone(), SECRET);
    assert_error(&f.run(&r), 413, "payload_too_large");
    r.headers.retain(|(n, _)| n == "content-type");
    assert_error(&f.run(&r), 413, "payload_too_large");
    // Exactly 5 MiB is allowed.
    body.truncate(MAX_BODY_BYTES);
    assert_eq!(f.run(&post(&f, PARTNER, body, SECRET)).status, 202);
}

#[test]
fn unknown_paths_are_404_and_wrong_methods_405() {
    let f = fixture();
    for path in [
        "/",
        "/v1/partners",
        "/v1/partners/",
        "/v1/partners//access-snapshots",
        "/v1/partners/p/access-snapshots/",
        "/v1/partners/p/access-snapshots/x",
        "/v1/partners/p/statements",
        "/v1/partners/p/statements/",
        "/v1/partners/p/statements/2026-09/x",
        "/v2/partners/p/access-snapshots",
        "/v1/partners/p/ACCESS-SNAPSHOTS",
    ] {
        let mut r = post(&f, PARTNER, vec![], SECRET);
        r.path = path.into();
        assert_error(&f.run(&r), 404, "not_found");
        assert_eq!(allowed_method(path), None, "{path}");
    }
    for method in ["GET", "PUT", "DELETE", "HEAD", "post"] {
        let mut r = post(&f, PARTNER, vec![], SECRET);
        r.method = method.into();
        assert_error(&f.run(&r), 405, "method_not_allowed");
    }
    for method in ["POST", "PUT", "HEAD"] {
        let mut r = post(&f, PARTNER, vec![], SECRET);
        r.method = method.into();
        r.path = format!("/v1/partners/{PARTNER}/statements/2026-09");
        assert_error(&f.run(&r), 405, "method_not_allowed");
    }
    assert_eq!(
        allowed_method(&format!("/v1/partners/{PARTNER}/statements/2026-09")),
        Some("GET")
    );
    assert_eq!(
        allowed_method(&format!("/v1/partners/{PARTNER}/access-snapshots")),
        Some("POST")
    );
}

fn get(f: &Fixture, partner: &str, month: &str, query: &str, secret: &str) -> HttpRequest {
    let mut r = signed_at(
        "GET",
        &format!("/v1/partners/{partner}/statements/{month}"),
        vec![],
        secret,
        f.now.timestamp(),
    );
    r.headers.retain(|(n, _)| n != "content-type");
    r.query = query.into();
    r
}

#[test]
fn statements_are_read_with_the_partners_own_secret() {
    let f = fixture();
    let r = f.run(&get(&f, PARTNER, "2026-09", "", SECRET));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.content_type, "application/json");
    let expected =
        statement_from_store(&f.store, PARTNER, Month::parse("2026-09").unwrap(), f.now).unwrap();
    assert_eq!(
        r.body,
        (serde_json::to_string_pretty(&expected).unwrap() + "\n").into_bytes()
    );
    let r = f.run(&get(
        &f,
        &PARTNER.to_uppercase(),
        "2026-09",
        "format=csv&asOf=2026-10-01T00%3A00%3A00%2B00:00",
        SECRET,
    ));
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type, "text/csv; charset=utf-8");
    let as_of = Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap();
    let expected =
        statement_from_store(&f.store, PARTNER, Month::parse("2026-09").unwrap(), as_of).unwrap();
    assert_eq!(r.body, render_csv(&expected).into_bytes());
    // Another partner's secret, or a signature over a non-empty body, is 401.
    assert_error(
        &f.run(&get(&f, PARTNER, "2026-09", "", OTHER_SECRET)),
        401,
        "unauthorized",
    );
    let mut r = signed_at(
        "POST",
        &format!("/v1/partners/{PARTNER}/statements/2026-09"),
        b"{}".to_vec(),
        SECRET,
        f.now.timestamp(),
    );
    r.method = "GET".into();
    assert_error(&f.run(&r), 401, "unauthorized");
    // Authentication comes before the month is looked at.
    assert_error(
        &f.run(&get(&f, PARTNER, "nonsense", "", OTHER_SECRET)),
        401,
        "unauthorized",
    );
}

#[test]
fn statements_are_also_html_and_xlsx() {
    let f = fixture();
    let expected =
        statement_from_store(&f.store, PARTNER, Month::parse("2026-09").unwrap(), f.now).unwrap();
    let r = f.run(&get(&f, PARTNER, "2026-09", "format=html", SECRET));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.content_type, "text/html; charset=utf-8");
    assert_eq!(r.body, render_html(&expected).into_bytes());
    let r = f.run(&get(&f, PARTNER, "2026-09", "format=XLSX", SECRET));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        r.content_type,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert_eq!(&r.body[..2], b"PK", "an xlsx is a zip");
    assert_eq!(r.body, render_xlsx(&expected).unwrap());
}

#[test]
fn bad_statement_parameters_are_400() {
    let f = fixture();
    for (month, query, parameter) in [
        ("2026-13", "", "month"),
        ("September", "", "month"),
        ("2026-09", "format=pdf", "format"),
        ("2026-09", "format=xml", "format"),
        ("2026-09", "asOf=yesterday", "asOf"),
        ("2026-09", "asOf=%ZZ", "asOf"),
        ("2026-09", "asOf=%FF", "asOf"),
        ("2026-09", "format=json&format=csv", "format"),
        ("2026-09", "asOf=%+1", "asOf"),
        // Years outside 0000-9999 once in UTC cannot be written back as RFC 3339.
        ("2026-09", "asOf=0000-01-01T00:00:00%2B00:01", "asOf"),
        ("2026-09", "asOf=9999-12-31T23:59:59-01:00", "asOf"),
        ("2026-09", "customer=acme", "customer"),
        ("2026-09", "reseller=Contoso", "reseller"),
        ("2026-09", "reseller=1&reseller=2", "reseller"),
    ] {
        let r = f.run(&get(&f, PARTNER, month, query, SECRET));
        let e = assert_error(&r, 400, "invalid_request");
        assert_eq!(e["error"]["details"][0]["parameter"], parameter, "{e}");
    }
    // Unknown parameters are ignored; an extreme asOf is fine.
    let r = f.run(&get(
        &f,
        PARTNER,
        "9999-12",
        "x=1&&asOf=9999-12-31T23:59:59.999999999Z",
        SECRET,
    ));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
}

#[test]
fn the_openapi_document_is_served_unsigned_on_get_only() {
    let f = fixture();
    let mut r = get(&f, PARTNER, "2026-09", "", SECRET);
    r.path = "/openapi.json".into();
    r.headers.clear();
    let response = f.run(&r);
    assert_eq!(response.status, 200);
    assert_eq!(response.content_type, "application/json");
    assert_eq!(response.body, OPENAPI_JSON.as_bytes());
    let doc: Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for method in ["POST", "PUT", "HEAD"] {
        r.method = method.into();
        assert_error(&f.run(&r), 405, "method_not_allowed");
    }
    assert_eq!(allowed_method("/openapi.json"), Some("GET"));
    assert_eq!(allowed_method("/openapi.json/"), None);
    // The snapshot schema embedded in the document is docs/snapshot.schema.json.
    let mut schema: Value = serde_json::from_str(SNAPSHOT_SCHEMA_JSON).unwrap();
    schema.as_object_mut().unwrap().remove("$schema");
    assert_eq!(doc["components"]["schemas"]["Snapshot"], schema);
    // Every reference resolves within the document.
    fn refs<'v>(v: &'v Value, out: &mut Vec<&'v str>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r);
                }
                m.values().for_each(|v| refs(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(found.len() > 30);
    for r in found {
        let pointer = r.strip_prefix('#').unwrap_or_else(|| panic!("{r}"));
        assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
    }
    // Each route and status of this handler is documented (the HTTP server adds 408, 431
    // and 500; schemathesis checks the bodies, tests/api.sh).
    let paths = &doc["paths"];
    let documented = |path: &str, method: &str| -> Vec<String> {
        let responses = paths[path][method]["responses"].as_object();
        let mut codes: Vec<String> = responses.map_or(vec![], |r| r.keys().cloned().collect());
        codes.sort();
        codes
    };
    assert_eq!(
        documented("/v1/partners/{partnerId}/access-snapshots", "post"),
        ["200", "202", "400", "401", "403", "404", "408", "409", "413", "415", "431", "500"]
    );
    assert_eq!(
        documented("/v1/partners/{partnerId}/statements/{month}", "get"),
        ["200", "400", "401", "404", "408", "431", "500"]
    );
    assert_eq!(
        documented("/openapi.json", "get"),
        ["200", "408", "431", "500"]
    );
}

#[test]
fn archive_keys_stay_inside_their_folder() {
    assert_eq!(key_part(CUSTOMER), CUSTOMER);
    assert_eq!(key_part("../etc/passwd"), ".._etc_passwd");
    assert_eq!(key_part(".."), "_..");
    assert_eq!(key_part(""), "_");
    assert_eq!(key_part("a/b\\c d"), "a_b_c_d");
    let long = key_part(&"x".repeat(1000));
    assert_eq!(long.len(), MAX_KEY_PART_CHARS + 17);
    assert_ne!(long, key_part(&"x".repeat(1001)));
}

#[test]
fn odd_customer_ids_are_archived_under_safe_keys() {
    let f = fixture();
    let mut v: Value = serde_json::from_slice(&snapshot(SNAPSHOT_ID, PARTNER, "Owner")).unwrap();
    v["customerId"] = json!("../../escape");
    let r = f.run(&post(&f, PARTNER, serde_json::to_vec(&v).unwrap(), SECRET));
    assert_eq!(r.status, 202);
    let key = format!("snapshots/{PARTNER}/.._.._escape/20261002T000500Z-{SNAPSHOT_ID}.json");
    assert!(f.objects.get_object(&key).unwrap().is_some());
}

/// A path whose partner is not a GUID (issue 15, item 5): 404 naming `partnerId`, on both
/// routes, signed or not; a GUID partner without a secret stays 401.
#[test]
fn a_partner_in_the_path_that_is_not_a_guid_is_404_naming_it() {
    let f = fixture();
    for partner in [
        "acme",
        "7a3c0000",
        "7a3c0000-0000-4000-8000-00000000000g",
        "x'; drop",
    ] {
        for (method, path) in [
            ("POST", format!("/v1/partners/{partner}/access-snapshots")),
            ("GET", format!("/v1/partners/{partner}/statements/2026-09")),
        ] {
            let mut r = post(&f, PARTNER, vec![], SECRET);
            r.method = method.into();
            r.path = path.clone();
            let response = f.run(&r);
            assert_error(&response, 404, "not_found");
            let text = String::from_utf8_lossy(&response.body).to_string();
            assert!(
                text.contains("partnerId") && text.contains("GUID"),
                "{path}: {text}"
            );
        }
    }
    let mut r = post(&f, PARTNER, vec![], SECRET);
    r.path = "/v1/partners/7a3c0000-0000-4000-8000-0000000000ff/access-snapshots".into();
    assert_eq!(f.run(&r).status, 401);
}

/// `customer=` and `reseller=` read one customer's or one reseller's statement (issue 16,
/// part 3): the JSON says whose; a customer of another partner reads as empty.
#[test]
fn a_customers_or_a_resellers_statement_over_http() {
    let f = fixture();
    let r = f.run(&get(
        &f,
        PARTNER,
        "2026-09",
        "customer=BDD640FB-0667-4AD1-9C80-317FA3B1799D",
        SECRET,
    ));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        v["scope"],
        serde_json::json!({ "customerId": "bdd640fb-0667-4ad1-9c80-317fa3b1799d" })
    );
    let r = f.run(&get(
        &f,
        PARTNER,
        "2026-09",
        "reseller=2000002&format=csv",
        SECRET,
    ));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let whole = f.run(&get(&f, PARTNER, "2026-09", "", SECRET));
    let v: serde_json::Value = serde_json::from_slice(&whole.body).unwrap();
    assert!(v.get("scope").is_none(), "{v}");
}
