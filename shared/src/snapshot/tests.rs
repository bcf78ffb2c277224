//! Tests for [`crate::snapshot`]: snapshot parsing, normalisation and schema errors with their
//! JSON paths.

use super::*;
use serde_json::json;

fn now() -> DateTime<Utc> {
    "2026-09-03T01:00:00Z".parse().unwrap()
}

fn valid() -> Value {
    json!({
        "schemaVersion": 1,
        "snapshotId": " BD9C66B3-AD3C-4D6D-9A3D-1FA7BC8960A9 ",
        "partnerId": "7A3C0000-0000-4000-8000-000000000001",
        "customerId": "BDD640FB-0667-4AD1-9C80-317FA3B1799D",
        "takenAt": "2026-09-03T02:05:00+01:00",
        "source": "example-access-tool",
        "extra": {"ignored": true},
        "assignments": [
            {
                "id": "/subscriptions/S1/providers/Microsoft.Authorization/roleAssignments/A1",
                "scope": "/Subscriptions/S1/",
                "roleDefinitionId": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
                "roleName": "Owner",
                "principalId": "p1",
                "principalType": "foreigngroup",
                "accessType": "aobo",
                "assignmentType": "Permanent",
                "createdOn": "2026-02-14T08:31:07Z",
                "unknownField": 3
            },
            {
                "id": "/subscriptions/S1/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments/A2",
                "scope": "/subscriptions/S1/resourceGroups/RG",
                "roleDefinitionId": "b24988ac-6180-42a0-ab88-20f7382dd24c",
                "roleName": "Contributor",
                "principalId": "p2",
                "principalType": "User",
                "accessType": "LIGHTHOUSE",
                "partnerAdminLinkMpnId": " 4100001 ",
                "assignmentType": "permanent",
                "createdOn": null
            }
        ]
    })
}

fn parse_value(v: &Value) -> Result<Snapshot, Vec<PathError>> {
    parse_snapshot(&serde_json::to_vec(v).unwrap(), now())
}

fn errors(v: &Value) -> Vec<PathError> {
    parse_value(v).expect_err("expected rejection")
}

fn paths(v: &Value) -> Vec<String> {
    errors(v).into_iter().map(|e| e.path).collect()
}

#[test]
fn a_valid_snapshot_is_parsed_and_normalised() {
    let s = parse_value(&valid()).unwrap();
    assert_eq!(s.schema_version, 1);
    assert_eq!(s.snapshot_id, "bd9c66b3-ad3c-4d6d-9a3d-1fa7bc8960a9");
    assert_eq!(s.partner_id, "7a3c0000-0000-4000-8000-000000000001");
    assert_eq!(s.customer_id, "bdd640fb-0667-4ad1-9c80-317fa3b1799d");
    assert_eq!(
        s.taken_at,
        "2026-09-03T01:05:00Z".parse::<DateTime<Utc>>().unwrap()
    );
    assert_eq!(s.source, "example-access-tool");
    assert_eq!(s.assignments.len(), 2);
    let a = &s.assignments[0];
    assert_eq!(
        a.id,
        "/subscriptions/S1/providers/Microsoft.Authorization/roleAssignments/A1"
    );
    assert_eq!(a.scope, "/subscriptions/s1");
    assert_eq!(a.principal_type, PrincipalType::ForeignGroup);
    assert_eq!(a.access_type, AccessType::Aobo);
    assert_eq!(a.assignment_type, AssignmentType::Permanent);
    assert_eq!(a.partner_admin_link_mpn_id, None);
    assert_eq!(a.created_on, Some("2026-02-14T08:31:07Z".parse().unwrap()));
    let b = &s.assignments[1];
    assert_eq!(b.scope, "/subscriptions/s1/resourcegroups/rg");
    assert_eq!(b.access_type, AccessType::Lighthouse);
    assert_eq!(b.partner_admin_link_mpn_id.as_deref(), Some("4100001"));
    assert_eq!(b.created_on, None);
}

#[test]
fn the_examples_parse() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/examples");
    for i in 0..5 {
        let body = std::fs::read(format!("{dir}/snapshot-{i}.json")).unwrap();
        let s = parse_snapshot(&body, now()).unwrap();
        assert_eq!(s.partner_id, "7a3c0000-0000-4000-8000-000000000001");
        assert!(!s.assignments.is_empty());
    }
}

#[test]
fn empty_assignments_and_empty_source_are_valid() {
    let mut v = valid();
    v["assignments"] = json!([]);
    v["source"] = json!("");
    let s = parse_value(&v).unwrap();
    assert!(s.assignments.is_empty());
    assert_eq!(s.source, "");
}

#[test]
fn invalid_json_is_reported_at_the_root_with_line_and_column() {
    let e = parse_snapshot(b"{\n  \"schemaVersion\": 1,\n  oops\n}", now()).unwrap_err();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].path, "$");
    assert!(e[0].message.contains("line 3 column"), "{}", e[0].message);
    let e = parse_snapshot(b"", now()).unwrap_err();
    assert_eq!(e[0].path, "$");
    let e = parse_snapshot(b"\xff\xfe", now()).unwrap_err();
    assert_eq!(e[0].path, "$");
}

#[test]
fn a_body_that_is_not_an_object_is_rejected() {
    for body in [&b"[]"[..], b"null", b"\"x\"", b"42"] {
        let e = parse_snapshot(body, now()).unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].path, "$");
        assert!(e[0].message.starts_with("expected a JSON object"));
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_panic() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let body = format!("{{\"schemaVersion\":1,\"x\":{deep}}}");
    let e = parse_snapshot(body.as_bytes(), now()).unwrap_err();
    assert_eq!(e[0].path, "$");
    assert!(e[0].message.contains("recursion limit"), "{}", e[0].message);
}

#[test]
fn a_byte_order_mark_is_tolerated() {
    let mut body = b"\xEF\xBB\xBF".to_vec();
    body.extend(serde_json::to_vec(&valid()).unwrap());
    assert!(parse_snapshot(&body, now()).is_ok());
}

#[test]
fn schema_version_must_be_one() {
    let mut v = valid();
    v["schemaVersion"] = json!(2);
    let e = errors(&v);
    assert_eq!(
        e,
        vec![PathError {
            path: "$.schemaVersion".into(),
            message: "unsupported schemaVersion 2; expected 1".into()
        }]
    );
    v["schemaVersion"] = json!("1");
    assert_eq!(paths(&v), ["$.schemaVersion"]);
    v["schemaVersion"] = json!(1.5);
    assert_eq!(paths(&v), ["$.schemaVersion"]);
    // The same number as 1, written otherwise.
    for one in ["1.0", "1e0", "10e-1"] {
        let body = serde_json::to_string(&valid()).unwrap().replacen(
            "\"schemaVersion\":1",
            &format!("\"schemaVersion\":{one}"),
            1,
        );
        assert!(body.contains(one));
        assert!(parse_snapshot(body.as_bytes(), now()).is_ok(), "{one}");
    }
    v.as_object_mut().unwrap().remove("schemaVersion");
    assert_eq!(errors(&v)[0].message, "missing required field");
}

#[test]
fn missing_empty_and_mistyped_top_level_fields() {
    let mut v = valid();
    let o = v.as_object_mut().unwrap();
    o.remove("snapshotId");
    o.insert("partnerId".into(), json!("  "));
    o.insert("customerId".into(), json!(7));
    o.remove("source");
    o.insert("assignments".into(), json!({}));
    let e = errors(&v);
    let got: Vec<(&str, &str)> = e
        .iter()
        .map(|e| (e.path.as_str(), e.message.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("$.snapshotId", "missing required field"),
            ("$.partnerId", "must not be empty"),
            ("$.customerId", "expected a string, found a number"),
            ("$.source", "missing required field"),
            ("$.assignments", "expected an array, found an object"),
        ]
    );
}

#[test]
fn taken_at_must_be_rfc3339() {
    let mut v = valid();
    v["takenAt"] = json!("2026-09-01 25:00");
    assert_eq!(paths(&v), ["$.takenAt"]);
    v["takenAt"] = json!("");
    assert_eq!(errors(&v)[0].message, "must not be empty");
    v["takenAt"] = json!(null);
    assert_eq!(paths(&v), ["$.takenAt"]);
    v.as_object_mut().unwrap().remove("takenAt");
    assert_eq!(paths(&v), ["$.takenAt"]);
}

#[test]
fn taken_at_more_than_five_minutes_in_the_future_is_rejected() {
    let mut v = valid();
    v["takenAt"] = json!("2026-09-03T01:06:00Z");
    let e = errors(&v);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].path, "$.takenAt");
    assert!(e[0].message.contains("in the future"));
    v["takenAt"] = json!("2026-09-03T01:04:00Z");
    assert!(parse_value(&v).is_ok());
    v["takenAt"] = json!("2026-09-03T01:05:00Z");
    assert!(parse_value(&v).is_ok(), "exactly five minutes is allowed");
    v["takenAt"] = json!("2026-09-03T01:05:00.001Z");
    assert!(parse_value(&v).is_err());
}

#[test]
fn every_assignment_problem_is_reported_with_its_path() {
    let mut v = valid();
    let a = v["assignments"][1].as_object_mut().unwrap();
    a.remove("roleName");
    a.insert("accessType".into(), json!("CSP"));
    a.insert("assignmentType".into(), json!("temporary"));
    a.insert("principalType".into(), json!("Robot"));
    a.insert("createdOn".into(), json!("yesterday"));
    a.insert("partnerAdminLinkMpnId".into(), json!(["x"]));
    a.insert("scope".into(), json!("///"));
    a.insert("principalId".into(), json!(null));
    v["assignments"]
        .as_array_mut()
        .unwrap()
        .push(json!("not an object"));
    let e = errors(&v);
    let got: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        got,
        [
            "$.assignments[1].scope",
            "$.assignments[1].roleName",
            "$.assignments[1].principalId",
            "$.assignments[1].principalType",
            "$.assignments[1].accessType",
            "$.assignments[1].partnerAdminLinkMpnId",
            "$.assignments[1].assignmentType",
            "$.assignments[1].createdOn",
            "$.assignments[2]",
        ]
    );
    assert_eq!(
        e[4].message,
        "unknown value \"CSP\"; expected one of AOBO, LIGHTHOUSE, DIRECT, GDAP"
    );
    assert_eq!(
        e[6].message,
        "unknown value \"temporary\"; expected one of permanent, eligible, activated"
    );
    assert_eq!(
        e[3].message,
        "unknown value \"Robot\"; expected one of ForeignGroup, Group, User, ServicePrincipal"
    );
    assert_eq!(e[8].message, "expected an object, found a string");
}

#[test]
fn each_required_assignment_field_is_checked() {
    for key in [
        "id",
        "scope",
        "roleDefinitionId",
        "roleName",
        "principalId",
        "principalType",
        "accessType",
        "assignmentType",
    ] {
        let mut v = valid();
        v["assignments"][0].as_object_mut().unwrap().remove(key);
        let e = errors(&v);
        assert_eq!(
            e,
            vec![PathError {
                path: format!("$.assignments[0].{key}"),
                message: "missing required field".into()
            }]
        );
        v["assignments"][0][key] = json!("");
        assert_eq!(paths(&v), [format!("$.assignments[0].{key}")]);
    }
}

#[test]
fn an_integer_partner_admin_link_is_accepted() {
    let mut v = valid();
    v["assignments"][1]["partnerAdminLinkMpnId"] = json!(4100001);
    let s = parse_value(&v).unwrap();
    assert_eq!(
        s.assignments[1].partner_admin_link_mpn_id.as_deref(),
        Some("4100001")
    );
    v["assignments"][1]["partnerAdminLinkMpnId"] = json!("");
    assert_eq!(
        parse_value(&v).unwrap().assignments[1].partner_admin_link_mpn_id,
        None
    );
    // An integer written as a float is the same integer (JSON Schema agrees).
    for (text, expected) in [
        ("4100001.0", Some("4100001")),
        ("4.100001e6", Some("4100001")),
        ("0.0", Some("0")),
        ("18446744073709549568.0", Some("18446744073709549568")),
        ("4100001.5", None),
        ("-1", None),
        ("-1.0", None),
        ("18446744073709551616", None),
        ("1e300", None),
    ] {
        let body = serde_json::to_string(&v).unwrap().replacen(
            "\"partnerAdminLinkMpnId\":\"\"",
            &format!("\"partnerAdminLinkMpnId\":{text}"),
            1,
        );
        let parsed = parse_snapshot(body.as_bytes(), now());
        assert_eq!(
            parsed
                .as_ref()
                .ok()
                .map(|s| s.assignments[1].partner_admin_link_mpn_id.clone().unwrap()),
            expected.map(String::from),
            "{text}: {parsed:?}"
        );
    }
}

#[test]
fn duplicate_ids_are_reported_at_the_second_one() {
    let mut v = valid();
    let mut dup = v["assignments"][0].clone();
    dup["id"] = json!(dup["id"].as_str().unwrap().to_uppercase());
    v["assignments"].as_array_mut().unwrap().push(dup);
    let e = errors(&v);
    assert_eq!(
        e,
        vec![PathError {
            path: "$.assignments[2].id".into(),
            message: "duplicate assignment id (first at $.assignments[0].id)".into()
        }]
    );
}

#[test]
fn errors_are_capped_at_one_hundred_plus_a_count() {
    let mut v = valid();
    let bad: Vec<Value> = (0..60).map(|i| json!({"id": format!("a{i}")})).collect();
    v["assignments"] = Value::Array(bad);
    // Each lacks scope, roleDefinitionId, roleName, principalId, principalType, accessType,
    // assignmentType: 7 × 60 = 420 problems.
    let e = errors(&v);
    assert_eq!(e.len(), MAX_REPORTED_ERRORS + 1);
    assert_eq!(e[0].path, "$.assignments[0].scope");
    assert_eq!(
        e[100],
        PathError {
            path: "$".into(),
            message: "… 320 more".into()
        }
    );
}

#[test]
fn the_digest_ignores_whitespace_and_key_order_but_not_content() {
    let v = valid();
    let compact = serde_json::to_vec(&v).unwrap();
    let pretty = serde_json::to_vec_pretty(&v).unwrap();
    // Reverse every object's key order.
    fn reorder(v: &Value) -> String {
        match v {
            Value::Object(m) => {
                let parts: Vec<String> = m
                    .iter()
                    .rev()
                    .map(|(k, v)| format!("{}: {}", Value::String(k.clone()), reorder(v)))
                    .collect();
                format!("{{ {} }}", parts.join(" ,\n "))
            }
            Value::Array(a) => {
                format!("[{}]", a.iter().map(reorder).collect::<Vec<_>>().join(", "))
            }
            other => other.to_string(),
        }
    }
    let reordered = reorder(&v);
    let d1 = parse_snapshot(&compact, now()).unwrap().content_digest();
    let d2 = parse_snapshot(&pretty, now()).unwrap().content_digest();
    let d3 = parse_snapshot(reordered.as_bytes(), now())
        .unwrap()
        .content_digest();
    assert_eq!(d1.len(), 64);
    assert_eq!(d1, d2);
    assert_eq!(d1, d3);

    let mut changed = v.clone();
    changed["assignments"][1]["roleName"] = json!("Owner");
    assert_ne!(d1, parse_value(&changed).unwrap().content_digest());
    let mut changed = v.clone();
    changed["takenAt"] = json!("2026-09-03T01:04:59Z");
    assert_ne!(d1, parse_value(&changed).unwrap().content_digest());
    // Normalised identity: case of the snapshot id does not matter.
    let mut same = v.clone();
    same["snapshotId"] = json!("bd9c66b3-ad3c-4d6d-9a3d-1fa7bc8960a9");
    assert_eq!(d1, parse_value(&same).unwrap().content_digest());
}

mod properties {
    use super::super::*;
    use proptest::prelude::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default()
    }

    fn assignment() -> impl Strategy<Value = serde_json::Value> {
        (
            "[a-z0-9-]{1,12}",
            prop::sample::select(vec!["AOBO", "LIGHTHOUSE", "DIRECT", "GDAP"]),
            prop::sample::select(vec!["permanent", "eligible", "activated"]),
            prop::sample::select(vec!["ForeignGroup", "Group", "User", "ServicePrincipal"]),
            prop::option::of("[0-9]{7}"),
            prop::option::of(0i64..1_789_000_000),
        )
            .prop_map(|(id, access, kind, principal, pal, created)| {
                let mut a = serde_json::json!({
                    "id": format!("/subscriptions/S/providers/Microsoft.Authorization/roleAssignments/{id}"),
                    "scope": format!("/subscriptions/S/resourceGroups/{id}"),
                    "roleDefinitionId": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
                    "roleName": "Owner",
                    "principalId": "p",
                    "principalType": principal,
                    "accessType": access,
                    "assignmentType": kind,
                });
                if let Some(p) = pal {
                    a["partnerAdminLinkMpnId"] = serde_json::json!(p);
                }
                if let Some(c) = created.and_then(|c| DateTime::from_timestamp(c, 0)) {
                    a["createdOn"] = serde_json::json!(c.to_rfc3339());
                }
                a
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_snapshot(&body, now());
        }

        #[test]
        fn valid_snapshots_parse_and_reparse_to_the_same_content(
            assignments in prop::collection::vec(assignment(), 0..6),
            taken in 0i64..1_790_000_000,
        ) {
            let mut seen = std::collections::HashSet::new();
            let assignments: Vec<_> = assignments
                .into_iter()
                .filter(|a| seen.insert(a["id"].as_str().unwrap_or("").to_lowercase()))
                .collect();
            let body = serde_json::json!({
                "schemaVersion": 1,
                "snapshotId": "0B6F0000-0000-4000-8000-000000000001",
                "partnerId": "P", "customerId": "C",
                "takenAt": DateTime::from_timestamp(taken, 0).unwrap_or_default().to_rfc3339(),
                "source": "proptest",
                "assignments": assignments,
            });
            let parsed = parse_snapshot(body.to_string().as_bytes(), now());
            prop_assert!(parsed.is_ok(), "{:?}", parsed.err());
            let parsed = parsed.unwrap_or_else(|_| unreachable!());
            prop_assert_eq!(parsed.assignments.len(), assignments.len());
            prop_assert_eq!(&parsed.snapshot_id, "0b6f0000-0000-4000-8000-000000000001");
            // What we store re-parses to the same content and digest.
            let stored = serde_json::to_vec(&parsed).unwrap_or_default();
            let again = parse_snapshot(&stored, now());
            prop_assert!(again.is_ok(), "{:?}", again.err());
            let again = again.unwrap_or_else(|_| unreachable!());
            prop_assert_eq!(again.content_digest(), parsed.content_digest());
        }
    }
}
