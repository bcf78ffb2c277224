//! `docs/snapshot.schema.json` (JSON Schema 2020-12) says what `parse_snapshot` accepts.
//!
//! Every body here is judged twice, by the schema (the `jsonschema` crate, formats asserted) and
//! by `parse_snapshot`, and the two verdicts (accept / reject) must agree: the SPEC's example
//! snapshots, a table of invalid and of valid variants, and random mutations of the examples
//! (a field dropped, a value of another type, another enum value or string, an unknown field).
//!
//! Differences a JSON Schema cannot express, or where the server is deliberately more lenient,
//! are listed in the schema's description and pinned down in
//! `the_documented_differences_are_exactly_these`; the random mutations leave them out (see
//! [`known_difference`]):
//! - rejected by the server only: `takenAt` more than 5 minutes ahead of its clock; assignment
//!   ids that repeat (trimmed, case-insensitively); JSON nested deeper than serde_json's limit;
//! - accepted by the server only: enum values in another letter case or with surrounding
//!   whitespace; timestamps with surrounding whitespace, a space for `T`, or a leap second `:60`
//!   at another minute than 23:59 UTC.

use chrono::{DateTime, Utc};
use jsonschema::Validator;
use pec_ledger::snapshot::parse_snapshot;
use pec_ledger::snapshot::SNAPSHOT_SCHEMA_JSON;
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use std::sync::LazyLock;

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/examples");
const EXAMPLE_COUNT: usize = 5;

/// The clock for the 5-minute check: after every example's `takenAt`.
fn now() -> DateTime<Utc> {
    "2026-10-02T12:00:00Z".parse().expect("a time")
}

static VALIDATOR: LazyLock<Validator> = LazyLock::new(|| {
    let schema: Value = serde_json::from_str(SNAPSHOT_SCHEMA_JSON).expect("the schema is JSON");
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&schema)
        .expect("the schema is a valid JSON Schema 2020-12")
});

fn example(i: usize) -> Value {
    let path = format!("{EXAMPLES}/snapshot-{i}.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn examples() -> Vec<Value> {
    (0..EXAMPLE_COUNT).map(example).collect()
}

/// (schema accepts, parser accepts), and both sides' reasons for a failure message.
fn verdicts(v: &Value) -> (bool, bool, String) {
    let schema_errors: Vec<String> = VALIDATOR
        .iter_errors(v)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    let body = serde_json::to_vec(v).expect("serialisable");
    let parsed = parse_snapshot(&body, now());
    let why = format!(
        "schema: {schema_errors:?}\nparser: {:?}\nbody: {}",
        parsed.as_ref().err(),
        serde_json::to_string_pretty(v).unwrap_or_default()
    );
    (schema_errors.is_empty(), parsed.is_ok(), why)
}

fn assert_both(v: &Value, accepted: bool, what: &str) {
    let (schema, parser, why) = verdicts(v);
    assert_eq!(
        (schema, parser),
        (accepted, accepted),
        "{what}: expected both to {}\n{why}",
        if accepted { "accept" } else { "reject" }
    );
}

fn assignment(v: &mut Value, i: usize) -> &mut Map<String, Value> {
    v["assignments"][i].as_object_mut().expect("an assignment")
}

const ENUMS: [(&str, &[&str]); 3] = [
    (
        "principalType",
        &["ForeignGroup", "Group", "User", "ServicePrincipal"],
    ),
    ("accessType", &["AOBO", "LIGHTHOUSE", "DIRECT", "GDAP"]),
    ("assignmentType", &["permanent", "eligible", "activated"]),
];

const REQUIRED_TOP: [&str; 7] = [
    "schemaVersion",
    "snapshotId",
    "partnerId",
    "customerId",
    "takenAt",
    "source",
    "assignments",
];

const REQUIRED_ASSIGNMENT: [&str; 8] = [
    "id",
    "scope",
    "roleDefinitionId",
    "roleName",
    "principalId",
    "principalType",
    "accessType",
    "assignmentType",
];

/// Unicode White_Space (what Rust's `str::trim` removes), as the schema's patterns spell it.
const WHITESPACE: [char; 25] = [
    '\t', '\n', '\u{b}', '\u{c}', '\r', ' ', '\u{85}', '\u{a0}', '\u{1680}', '\u{2000}',
    '\u{2001}', '\u{2002}', '\u{2003}', '\u{2004}', '\u{2005}', '\u{2006}', '\u{2007}', '\u{2008}',
    '\u{2009}', '\u{200a}', '\u{2028}', '\u{2029}', '\u{202f}', '\u{205f}', '\u{3000}',
];

#[test]
fn the_whitespace_list_is_what_trim_removes() {
    for c in '\0'..=char::MAX {
        assert_eq!(c.is_whitespace(), WHITESPACE.contains(&c), "{c:?}");
    }
}

#[test]
fn the_schema_is_valid_json_schema_2020_12() {
    let schema: Value = serde_json::from_str(SNAPSHOT_SCHEMA_JSON).unwrap();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    if let Err(e) = jsonschema::meta::validate(&schema) {
        panic!("{e}");
    }
}

#[test]
fn the_spec_examples_are_valid_for_both() {
    for (i, v) in examples().iter().enumerate() {
        assert_both(v, true, &format!("snapshot-{i}.json"));
    }
    let schema: Value = serde_json::from_str(SNAPSHOT_SCHEMA_JSON).unwrap();
    for v in schema["examples"]
        .as_array()
        .expect("the schema has examples")
    {
        assert_both(v, true, "the schema's own example");
    }
}

#[test]
fn invalid_snapshots_are_rejected_by_both() {
    let base = example(0);
    let mut cases: Vec<(String, Value)> = Vec::new();
    let mut case = |what: &str, change: &dyn Fn(&mut Value)| {
        let mut v = base.clone();
        change(&mut v);
        cases.push((what.to_string(), v));
    };
    for root in [json!([]), json!(null), json!("x"), json!(42), json!(true)] {
        case(&format!("root {root}"), &|v| *v = root.clone());
    }
    for key in REQUIRED_TOP {
        case(&format!("no {key}"), &|v| {
            v.as_object_mut().unwrap().remove(key);
        });
        case(&format!("{key} null"), &|v| v[key] = json!(null));
    }
    for bad in [
        json!(2),
        json!(0),
        json!("1"),
        json!(1.5),
        json!(-1.0),
        json!([1]),
    ] {
        case(&format!("schemaVersion {bad}"), &|v| {
            v["schemaVersion"] = bad.clone()
        });
    }
    for key in ["snapshotId", "partnerId", "customerId"] {
        for bad in [
            json!(""),
            json!("  "),
            json!("\u{3000}\u{85}"),
            json!(7),
            json!({}),
        ] {
            case(&format!("{key} {bad}"), &|v| v[key] = bad.clone());
        }
    }
    for bad in [
        json!(""),
        json!(" "),
        json!("yesterday"),
        json!("2026-02-30T00:00:00Z"),
        json!("2026-09-01T00:05:00"),
        json!("2026-09-01T24:00:00Z"),
        json!("2026-09-01T00:05:00+0100"),
        json!(1_790_000_000),
    ] {
        case(&format!("takenAt {bad}"), &|v| v["takenAt"] = bad.clone());
    }
    for bad in [json!(1), json!(["x"])] {
        case(&format!("source {bad}"), &|v| v["source"] = bad.clone());
    }
    for bad in [
        json!({}),
        json!("[]"),
        json!([1]),
        json!([null]),
        json!([[]]),
    ] {
        case(&format!("assignments {bad}"), &|v| {
            v["assignments"] = bad.clone()
        });
    }
    for key in REQUIRED_ASSIGNMENT {
        case(&format!("assignment without {key}"), &|v| {
            assignment(v, 1).remove(key);
        });
        for bad in [json!(null), json!(""), json!(" \t"), json!(3), json!(["x"])] {
            case(&format!("assignment {key} {bad}"), &|v| {
                assignment(v, 1).insert(key.into(), bad.clone());
            });
        }
    }
    for bad in ["/", "///", " / ", "/ \u{3000}", "\t//\u{85}"] {
        case(&format!("scope {bad:?}"), &|v| {
            assignment(v, 0).insert("scope".into(), json!(bad));
        });
    }
    for (key, _) in ENUMS {
        for bad in ["Robot", "CSP", "temporary", "AOBO2", "USER S", "1"] {
            case(&format!("{key} {bad}"), &|v| {
                assignment(v, 2).insert(key.into(), json!(bad));
            });
        }
    }
    for bad in [
        json!(-1),
        json!(-1.0),
        json!(1.5),
        json!(1e300),
        json!(18_446_744_073_709_551_616.0),
        json!(true),
        json!(["4100001"]),
        json!({}),
    ] {
        case(&format!("partnerAdminLinkMpnId {bad}"), &|v| {
            assignment(v, 1).insert("partnerAdminLinkMpnId".into(), bad.clone());
        });
    }
    for bad in [
        json!(""),
        json!("yesterday"),
        json!(5),
        json!(false),
        json!({}),
    ] {
        case(&format!("createdOn {bad}"), &|v| {
            assignment(v, 0).insert("createdOn".into(), bad.clone());
        });
    }
    assert!(cases.len() > 130, "{}", cases.len());
    for (what, v) in &cases {
        assert_both(v, false, what);
    }
}

#[test]
fn valid_variants_are_accepted_by_both() {
    let base = example(0);
    let mut cases: Vec<(String, Value)> = Vec::new();
    let mut case = |what: &str, change: &dyn Fn(&mut Value)| {
        let mut v = base.clone();
        change(&mut v);
        cases.push((what.to_string(), v));
    };
    case("unknown fields everywhere", &|v| {
        v["extra"] = json!({"deep": [1, {"x": null}]});
        assignment(v, 0).insert("unknownField".into(), json!(3));
    });
    case("no assignments", &|v| v["assignments"] = json!([]));
    case("empty source", &|v| v["source"] = json!(""));
    case("blank source", &|v| v["source"] = json!("  "));
    case("ids with inner spaces", &|v| {
        v["snapshotId"] = json!(" a b ");
        v["customerId"] = json!("\u{3000}x");
    });
    for t in [
        "2026-09-01T02:05:00+02:00",
        "2026-09-01t00:05:00z",
        "2026-09-01T00:05:00.123456789Z",
        "2026-09-01T00:05:00-00:00",
        "2016-12-31T23:59:60Z",
        "0000-01-01T00:00:00Z",
        "2026-10-02T12:05:00Z",
    ] {
        case(&format!("takenAt {t}"), &|v| v["takenAt"] = json!(t));
    }
    for scope in [
        "a",
        "/ /",
        "//\t//",
        " /x/ ",
        "/subscriptions/S/resourceGroups/RG/",
    ] {
        case(&format!("scope {scope:?}"), &|v| {
            assignment(v, 0).insert("scope".into(), json!(scope));
        });
    }
    for pal in [
        json!(null),
        json!(""),
        json!("  "),
        json!(4_100_001),
        json!(4_100_001.0),
        json!(0),
        json!(0.0),
        json!(u64::MAX),
        json!(18_446_744_073_709_549_568.0),
    ] {
        case(&format!("partnerAdminLinkMpnId {pal}"), &|v| {
            assignment(v, 1).insert("partnerAdminLinkMpnId".into(), pal.clone());
        });
    }
    case("no partnerAdminLinkMpnId", &|v| {
        assignment(v, 1).remove("partnerAdminLinkMpnId");
    });
    case("schemaVersion 1.0", &|v| v["schemaVersion"] = json!(1.0));
    case("createdOn null", &|v| {
        assignment(v, 0).insert("createdOn".into(), json!(null));
    });
    case("createdOn in the future", &|v| {
        assignment(v, 0).insert("createdOn".into(), json!("2099-01-01T00:00:00Z"));
    });
    for (key, values) in ENUMS {
        for value in values {
            case(&format!("{key} {value}"), &|v| {
                assignment(v, 2).insert(key.into(), json!(value));
            });
        }
    }
    for (what, v) in &cases {
        assert_both(v, true, what);
    }
}

/// The differences the schema's description lists, exactly: (schema accepts, parser accepts).
#[test]
fn the_documented_differences_are_exactly_these() {
    let base = example(0);
    let with = |change: &dyn Fn(&mut Value)| {
        let mut v = base.clone();
        change(&mut v);
        v
    };
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let server_only_rejects = [
        (
            "takenAt more than 5 minutes ahead",
            with(&|v| v["takenAt"] = json!("2026-10-02T12:05:01Z")),
        ),
        (
            "a repeated assignment id",
            with(&|v| {
                let mut dup = v["assignments"][0].clone();
                dup["id"] = json!(dup["id"].as_str().unwrap().to_uppercase() + " ");
                v["assignments"].as_array_mut().unwrap().push(dup);
            }),
        ),
    ];
    for (what, v) in &server_only_rejects {
        let (schema, parser, why) = verdicts(v);
        assert_eq!((schema, parser), (true, false), "{what}\n{why}");
        assert!(known_difference(v).is_some(), "{what}: not excluded");
    }
    // Nesting deeper than serde_json's recursion limit (128) in an unknown field: the schema
    // accepts the value, the server rejects the body. (The mutations never nest that deep.)
    let body = format!(
        "{{\"extra\": {deep}, {}",
        &serde_json::to_string(&base).unwrap()[1..]
    );
    let mut nested = json!([]);
    for _ in 0..199 {
        nested = json!([nested]);
    }
    assert!(VALIDATOR.is_valid(&with(&|v| v["extra"] = nested.clone())));
    assert!(parse_snapshot(body.as_bytes(), now()).is_err());
    let mut server_only_accepts: Vec<(String, Value)> = Vec::new();
    for (key, values) in ENUMS {
        for value in values {
            for variant in [
                value.to_lowercase(),
                value.to_uppercase(),
                format!(" {value}\t"),
            ] {
                if variant != *value {
                    server_only_accepts.push((
                        format!("{key} {variant:?}"),
                        with(&|v| {
                            assignment(v, 2).insert(key.into(), json!(variant));
                        }),
                    ));
                }
            }
        }
    }
    for t in [
        " 2026-09-01T00:05:00Z",
        "2026-09-01T00:05:00Z\u{3000}",
        "2026-09-01 00:05:00Z",
        "2026-09-01T00:05:60Z",
        "2026-09-01T23:59:60+01:00",
    ] {
        server_only_accepts.push((format!("takenAt {t:?}"), with(&|v| v["takenAt"] = json!(t))));
        server_only_accepts.push((
            format!("createdOn {t:?}"),
            with(&|v| {
                assignment(v, 0).insert("createdOn".into(), json!(t));
            }),
        ));
    }
    for (what, v) in &server_only_accepts {
        let (schema, parser, why) = verdicts(v);
        assert_eq!((schema, parser), (false, true), "{what}\n{why}");
        assert!(known_difference(v).is_some(), "{what}: not excluded");
    }
}

/// Why the schema and the parser may disagree on `v`, if one of the documented differences
/// applies to it.
fn known_difference(v: &Value) -> Option<&'static str> {
    let root = v.as_object()?;
    if let Some(Value::String(t)) = root.get("takenAt") {
        if lenient_timestamp(t) {
            return Some("a timestamp only the server accepts");
        }
        if DateTime::parse_from_rfc3339(t.trim())
            .is_ok_and(|t| t > now() + chrono::Duration::minutes(5))
        {
            return Some("takenAt in the future");
        }
    }
    let Some(Value::Array(items)) = root.get("assignments") else {
        return None;
    };
    let mut ids = std::collections::HashSet::new();
    for item in items {
        let Value::Object(a) = item else { continue };
        if let Some(Value::String(id)) = a.get("id") {
            let key = id.trim().to_lowercase();
            if !key.is_empty() && !ids.insert(key) {
                return Some("a repeated assignment id");
            }
        }
        for (key, values) in ENUMS {
            if let Some(Value::String(s)) = a.get(key) {
                if !values.contains(&s.as_str())
                    && values.iter().any(|c| c.eq_ignore_ascii_case(s.trim()))
                {
                    return Some("an enum value in another case or with whitespace");
                }
            }
        }
        if let Some(Value::String(t)) = a.get("createdOn") {
            if lenient_timestamp(t) {
                return Some("a timestamp only the server accepts");
            }
        }
    }
    None
}

/// A timestamp the server takes but RFC 3339 (the schema's `date-time`) does not.
fn lenient_timestamp(t: &str) -> bool {
    let trimmed = t.trim();
    DateTime::parse_from_rfc3339(trimmed).is_ok()
        && (trimmed != t
            || trimmed.as_bytes().get(10) == Some(&b' ')
            || trimmed.get(17..19) == Some("60"))
}

// ---------------------------------------------------------------------------------------------
// Random mutations of the examples.

#[derive(Debug, Clone)]
enum Mutation {
    /// Remove the n-th field (of all fields of the root and of every assignment).
    Drop(usize),
    /// Give the n-th field another value.
    Set(usize, Value),
    /// Add an unknown field to the n-th object (the root or an assignment).
    Add(usize, String, Value),
    /// Replace the n-th assignment (or, if there is none, the root) by a value.
    Replace(usize, Value),
}

/// The (object, key) slots of a snapshot: the root's fields, then each assignment's.
fn slots(v: &Value) -> Vec<(Option<usize>, String)> {
    let mut out = Vec::new();
    if let Some(root) = v.as_object() {
        out.extend(root.keys().map(|k| (None, k.clone())));
        if let Some(Value::Array(items)) = root.get("assignments") {
            for (i, item) in items.iter().enumerate() {
                if let Some(a) = item.as_object() {
                    out.extend(a.keys().map(|k| (Some(i), k.clone())));
                }
            }
        }
    }
    out
}

fn object_at(v: &mut Value, at: Option<usize>) -> Option<&mut Map<String, Value>> {
    match at {
        None => v.as_object_mut(),
        Some(i) => v.get_mut("assignments")?.get_mut(i)?.as_object_mut(),
    }
}

fn apply(v: &mut Value, m: &Mutation) {
    match m {
        Mutation::Drop(n) | Mutation::Set(n, _) => {
            let slots = slots(v);
            if slots.is_empty() {
                return;
            }
            let (at, key) = slots[n % slots.len()].clone();
            if let Some(obj) = object_at(v, at) {
                match m {
                    Mutation::Set(_, value) => {
                        obj.insert(key, value.clone());
                    }
                    _ => {
                        obj.remove(&key);
                    }
                }
            }
        }
        Mutation::Add(n, key, value) => {
            let count = v
                .get("assignments")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            let at = match n % (count + 1) {
                0 => None,
                i => Some(i - 1),
            };
            if let Some(obj) = object_at(v, at) {
                // An unknown field: a known name would be another mutation.
                let known = REQUIRED_TOP
                    .iter()
                    .chain(REQUIRED_ASSIGNMENT.iter())
                    .chain(["partnerAdminLinkMpnId", "createdOn"].iter());
                if !known.clone().any(|k| k == key) {
                    obj.insert(key.clone(), value.clone());
                }
            }
        }
        Mutation::Replace(n, value) => {
            match v.get_mut("assignments").and_then(Value::as_array_mut) {
                Some(items) if !items.is_empty() => {
                    let i = n % items.len();
                    items[i] = value.clone();
                }
                _ => *v = value.clone(),
            }
        }
    }
}

/// Timestamps, well-formed or nearly so: out-of-range fields, other separators and offsets.
fn timestamp() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just(0u32), 1990u32..2030, Just(9999)],
        0u32..14,
        0u32..33,
        0u32..26,
        0u32..62,
        0u32..62,
        prop::sample::select(vec!["", ".5", ".123456789", "."]),
        prop::sample::select(vec![
            "Z", "z", "+01:00", "-05:30", "+00:01", "-00:00", "+24:00", "", "+0100",
        ]),
        prop::sample::select(vec!["T", "t", " ", "_"]),
    )
        .prop_map(|(y, mo, d, h, mi, s, frac, off, sep)| {
            format!("{y:04}-{mo:02}-{d:02}{sep}{h:02}:{mi:02}:{s:02}{frac}{off}")
        })
}

/// Strings a snapshot field might be given.
fn string() -> impl Strategy<Value = String> {
    let enum_values: Vec<String> = ENUMS
        .iter()
        .flat_map(|(_, values)| values.iter())
        .chain(["Robot", "CSP", "temporary", "", "Owner", "aobo", " User"].iter())
        .map(|s| s.to_string())
        .collect();
    prop_oneof![
        prop::sample::select(enum_values),
        "[ \t\u{3000}\u{85}\u{a0}\u{1c}\u{feff}]{0,3}",
        "[a-zA-Z0-9/ ._-]{1,16}",
        "[/ \t]{0,3}[a-z]?[/ \t]{0,3}",
        "[0-9]{1,8}",
        timestamp(),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(json!(null)),
        any::<bool>().prop_map(Value::from),
        (-3i64..4).prop_map(Value::from),
        Just(json!(4_100_001)),
        Just(json!(u64::MAX)),
        (-3i64..4).prop_map(|i| json!(i as f64 + 0.5)),
        (-3i64..4).prop_map(|i| json!(i as f64)),
        string().prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 6, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
            prop::collection::btree_map("[a-z]{1,3}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => any::<usize>().prop_map(Mutation::Drop),
        4 => (any::<usize>(), value()).prop_map(|(n, v)| Mutation::Set(n, v)),
        6 => (any::<usize>(), string()).prop_map(|(n, s)| Mutation::Set(n, Value::from(s))),
        2 => (any::<usize>(), "[a-zA-Z]{1,12}", value()).prop_map(|(n, k, v)| Mutation::Add(n, k, v)),
        1 => (any::<usize>(), value()).prop_map(|(n, v)| Mutation::Replace(n, v)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn schema_and_parser_agree_on_mutated_examples(
        which in 0..EXAMPLE_COUNT,
        mutations in prop::collection::vec(mutation(), 1..3),
    ) {
        let mut v = example(which);
        for m in &mutations {
            apply(&mut v, m);
        }
        prop_assume!(known_difference(&v).is_none());
        let (schema, parser, why) = verdicts(&v);
        prop_assert_eq!(schema, parser, "{:?}\n{}", mutations, why);
    }
}
