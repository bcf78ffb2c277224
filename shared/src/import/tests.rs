//! Tests for [`crate::import`]: building access snapshots from `az role assignment list` JSON
//! and Resource Graph rows.

use super::*;
use crate::access::{day_coverage, AccessBuilder};
use crate::roles::RoleTable;
use crate::snapshot::parse_snapshot;
use crate::snapshot::MAX_REPORTED_ERRORS;
use chrono::{Duration, NaiveDate};
use proptest::prelude::*;
use serde_json::json;

const PARTNER: &str = "7A3C0000-0000-4000-8000-000000000001";
const CUSTOMER: &str = "bdd640fb-0667-4ad1-9c80-317fa3b1799d";
const SUB: &str = "23b8c1e9-3924-46de-beb1-3b9046685257";
const AOBO_GROUP: &str = "878a0d66-d024-5b3d-b925-f58e6ac2ebe2";
const LH_USER: &str = "f0a91588-02ae-509e-a7d5-373bcffde1a7";

const AZ: &[u8] = include_bytes!("../../tests/fixtures/az-role-assignment-list.json");
const ARG: &[u8] = include_bytes!("../../tests/fixtures/arg-authorizationresources.json");

use pec_testkit::t;

/// The SPEC example's principals: the admin agents (AOBO) and a Lighthouse user with the
/// Partner Admin Link 4100001.
fn partner_principals() -> ImportOptions {
    ImportOptions {
        partner_admin_link_mpn_id: Some(" 4100001 ".into()),
        principals: vec![
            PrincipalRule {
                principal_id: AOBO_GROUP.to_uppercase(),
                access_type: None,
                principal_type: None,
            },
            PrincipalRule {
                principal_id: LH_USER.into(),
                access_type: Some(AccessType::Lighthouse),
                principal_type: None,
            },
        ],
        ..ImportOptions::default()
    }
}

fn import(json: &[u8], format: Option<ImportFormat>, at: &str) -> Snapshot {
    snapshot_from_role_assignments(
        json,
        format,
        PARTNER,
        CUSTOMER,
        t(at),
        "test",
        &partner_principals(),
    )
    .expect("imports")
}

fn errors(json: &Value, format: Option<ImportFormat>) -> Vec<PathError> {
    let bytes = serde_json::to_vec(json).expect("json");
    snapshot_from_role_assignments(
        &bytes,
        format,
        PARTNER,
        CUSTOMER,
        t("2026-09-01T00:05:00Z"),
        "test",
        &ImportOptions::default(),
    )
    .expect_err("rejected")
}

fn az_rows() -> Vec<Value> {
    match serde_json::from_slice(AZ) {
        Ok(Value::Array(rows)) => rows,
        _ => panic!("the az fixture is an array"),
    }
}

#[test]
fn az_role_assignment_list_becomes_a_snapshot() {
    let s = import(AZ, Some(ImportFormat::Az), "2026-09-01T00:05:00Z");
    assert_eq!(s.schema_version, 1);
    assert_eq!(s.partner_id, PARTNER.to_lowercase());
    assert_eq!(s.customer_id, CUSTOMER);
    assert_eq!(s.source, "test");
    assert_eq!(s.assignments.len(), 2, "only the partner's principals");
    let aobo = &s.assignments[0];
    assert_eq!(
        aobo.id,
        format!(
            "/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments/3f0c1d2e-aobo"
        )
    );
    assert_eq!(aobo.scope, format!("/subscriptions/{SUB}"));
    assert_eq!(
        aobo.role_definition_id,
        "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
    );
    assert_eq!(aobo.role_name, "Owner");
    assert_eq!(aobo.principal_id, AOBO_GROUP);
    assert_eq!(aobo.principal_type, PrincipalType::ForeignGroup);
    assert_eq!(aobo.access_type, AccessType::Aobo);
    assert_eq!(aobo.assignment_type, AssignmentType::Permanent);
    assert_eq!(aobo.partner_admin_link_mpn_id.as_deref(), Some("4100001"));
    assert_eq!(aobo.created_on, Some(t("2026-02-14T08:31:07Z")));
    let lh = &s.assignments[1];
    assert_eq!(
        lh.scope,
        format!("/subscriptions/{SUB}/resourcegroups/rg-data")
    );
    assert_eq!(lh.role_name, "Contributor");
    assert_eq!(lh.principal_type, PrincipalType::User);
    assert_eq!(lh.access_type, AccessType::Lighthouse);

    // GUID-shaped, version 8, and what a post of its JSON stores.
    let id = uuid::Uuid::parse_str(&s.snapshot_id).expect("a GUID");
    assert_eq!(id.get_version_num(), 8);
    assert_eq!(id.to_string(), s.snapshot_id);
    let body = serde_json::to_vec(&s).expect("json");
    assert_eq!(
        parse_snapshot(&body, t("2026-09-01T00:06:00Z")),
        Ok(s.clone())
    );

    // Without principals, every assignment but the deleted principal's.
    let all = snapshot_from_az_role_assignments(
        AZ,
        PARTNER,
        CUSTOMER,
        t("2026-09-01T00:05:00Z"),
        "test",
        &ImportOptions::default(),
    )
    .expect("imports");
    assert_eq!(all.assignments.len(), 3);
    assert!(all
        .assignments
        .iter()
        .all(|a| a.access_type == AccessType::Aobo));
    assert!(all
        .assignments
        .iter()
        .all(|a| a.partner_admin_link_mpn_id.is_none()));
}

#[test]
fn resource_graph_rows_give_the_same_snapshot() {
    let az = import(AZ, Some(ImportFormat::Az), "2026-09-01T00:05:00Z");
    let arg = import(
        ARG,
        Some(ImportFormat::ResourceGraph),
        "2026-09-01T00:05:00Z",
    );
    assert_eq!(
        arg, az,
        "role names from the built-in GUIDs; the role definition row skipped"
    );
    let arg = snapshot_from_resource_graph(
        ARG,
        PARTNER,
        CUSTOMER,
        t("2026-09-01T00:05:00Z"),
        "test",
        &partner_principals(),
    );
    assert_eq!(arg, Ok(az.clone()));

    // The same rows as a bare array, and as the REST API's table.
    let value: Value = serde_json::from_slice(ARG).expect("json");
    let rows = value["data"].clone();
    let bare = serde_json::to_vec(&rows).expect("json");
    assert_eq!(
        detect_import_format(&bare),
        Some(ImportFormat::ResourceGraph)
    );
    assert_eq!(import(&bare, None, "2026-09-01T00:05:00Z"), az);
    let columns = ["id", "type", "properties"];
    let table = json!({"data": {
        "columns": columns.iter().map(|c| json!({"name": c, "type": "string"})).collect::<Vec<_>>(),
        "rows": rows.as_array().expect("rows").iter()
            .map(|r| columns.iter().map(|c| r[*c].clone()).collect::<Vec<_>>())
            .collect::<Vec<_>>(),
    }});
    let table = serde_json::to_vec(&table).expect("json");
    assert_eq!(import(&table, None, "2026-09-01T00:05:00Z"), az);

    // A projected query without scope: it comes from the id. Properties as JSON text too.
    let projected = json!([{
        "id": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments/3f0c1d2e-aobo"),
        "properties": json!({"principalId": AOBO_GROUP, "principalType": "ForeignGroup",
            "roleDefinitionId": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
            "createdOn": "2026-02-14T08:31:07Z"}).to_string(),
    }]);
    let s = import(
        &serde_json::to_vec(&projected).expect("json"),
        Some(ImportFormat::ResourceGraph),
        "2026-09-01T00:05:00Z",
    );
    assert_eq!(s.assignments, az.assignments[..1].to_vec());
}

#[test]
fn the_format_is_told_from_the_shape() {
    assert_eq!(detect_import_format(AZ), Some(ImportFormat::Az));
    assert_eq!(detect_import_format(ARG), Some(ImportFormat::ResourceGraph));
    let rest = serde_json::to_vec(&json!({"value": az_rows()})).expect("json");
    assert_eq!(detect_import_format(&rest), Some(ImportFormat::Az));
    assert_eq!(
        import(&rest, None, "2026-09-01T00:05:00Z"),
        import(AZ, None, "2026-09-01T00:05:00Z")
    );
    assert_eq!(detect_import_format(b"[]"), Some(ImportFormat::Az));
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(ARG);
    assert_eq!(
        detect_import_format(&bom),
        Some(ImportFormat::ResourceGraph)
    );
    for junk in [&b"{}"[..], b"3", b"not json", b""] {
        assert_eq!(detect_import_format(junk), None);
    }
    // An empty list is a snapshot of no access.
    let none = import(b"[]", None, "2026-09-01T00:05:00Z");
    assert!(none.assignments.is_empty());
}

#[test]
fn reimporting_is_the_same_snapshot_and_anything_else_is_another() {
    let a = import(AZ, None, "2026-09-01T00:05:00Z");
    assert_eq!(
        import(AZ, None, "2026-09-01T00:05:00Z").snapshot_id,
        a.snapshot_id
    );
    // Whitespace and key order do not matter.
    let pretty = serde_json::to_vec(&az_rows()).expect("json");
    assert_eq!(
        import(&pretty, None, "2026-09-01T00:05:00Z").snapshot_id,
        a.snapshot_id
    );
    let later = import(AZ, None, "2026-09-01T12:05:00Z");
    assert_ne!(later.snapshot_id, a.snapshot_id);
    let other_customer = snapshot_from_role_assignments(
        AZ,
        None,
        PARTNER,
        "11111111-2222-3333-4444-555555555555",
        t("2026-09-01T00:05:00Z"),
        "test",
        &partner_principals(),
    )
    .expect("imports");
    assert_ne!(other_customer.snapshot_id, a.snapshot_id);
    let all = snapshot_from_role_assignments(
        AZ,
        None,
        PARTNER,
        CUSTOMER,
        t("2026-09-01T00:05:00Z"),
        "test",
        &ImportOptions::default(),
    )
    .expect("imports");
    assert_ne!(all.snapshot_id, a.snapshot_id);
}

#[test]
fn problems_are_reported_with_their_json_path() {
    let mut rows = az_rows();
    rows[0]
        .as_object_mut()
        .expect("object")
        .remove("principalType");
    rows[1]["createdOn"] = json!("yesterday");
    rows[2]["principalType"] = json!("Device");
    rows[3]["roleDefinitionId"] = json!(7);
    let found: Vec<(String, String)> = errors(&Value::Array(rows), None)
        .into_iter()
        .map(|e| (e.path, e.message))
        .collect();
    assert_eq!(found.len(), 3, "{found:?}");
    assert_eq!(found[0].0, "$[0].principalType");
    assert!(
        found[0].1.starts_with("missing required field"),
        "{}",
        found[0].1
    );
    assert_eq!(found[1].0, "$[1].createdOn");
    assert!(
        found[1].1.contains("not an RFC 3339 timestamp"),
        "{}",
        found[1].1
    );
    assert_eq!(found[2].0, "$[2].principalType");
    assert!(found[2].1.contains("\"Device\""), "{}", found[2].1);
    // A deleted principal (Unknown) is left out whole: its bad roleDefinitionId is no problem.
    let value: Value = serde_json::from_slice(ARG).expect("json");
    let mut arg = value.clone();
    arg["data"][1]["properties"]
        .as_object_mut()
        .expect("object")
        .remove("scope");
    arg["data"][1]["id"] = json!("not-an-assignment-id");
    arg["data"][2]["properties"]["principalId"] = json!("");
    let found = errors(&arg, None);
    assert_eq!(
        found.iter().map(|e| e.path.as_str()).collect::<Vec<_>>(),
        vec![
            "$.data[1].properties.scope",
            "$.data[2].properties.principalId"
        ]
    );

    // The same id twice with other content; twice the same is fine.
    let mut rows = az_rows();
    rows.push(rows[0].clone());
    assert!(snapshot_from_az_role_assignments(
        &serde_json::to_vec(&rows).expect("json"),
        PARTNER,
        CUSTOMER,
        t("2026-09-01T00:05:00Z"),
        "test",
        &ImportOptions::default(),
    )
    .is_ok());
    rows[4]["scope"] = json!(format!("/subscriptions/{SUB}/resourceGroups/other"));
    let found = errors(&Value::Array(rows), None);
    assert_eq!(found[0].path, "$[4].id");
    assert!(
        found[0].message.contains("first at $[0]"),
        "{}",
        found[0].message
    );

    // Not JSON, or not the shape.
    let e = snapshot_from_az_role_assignments(
        b"[{",
        PARTNER,
        CUSTOMER,
        t("2026-09-01T00:05:00Z"),
        "",
        &ImportOptions::default(),
    )
    .expect_err("not JSON");
    assert_eq!(e[0].path, "$");
    assert!(e[0].message.starts_with("invalid JSON"));
    assert_eq!(errors(&json!({"a": 1}), None)[0].path, "$");
    assert_eq!(
        errors(&json!({"a": 1}), Some(ImportFormat::Az))[0].path,
        "$"
    );
    assert_eq!(errors(&json!({"data": 3}), None)[0].path, "$.data");
    assert_eq!(
        errors(&json!({"data": {"rows": []}}), None)[0].path,
        "$.data.columns"
    );
    assert_eq!(errors(&json!([1]), None)[0].path, "$[0]");
    assert_eq!(
        errors(&json!({"value": [{"id": "x"}]}), None)[0].path,
        "$.value[0].principalId"
    );

    // At most 100 problems, then how many more.
    let many: Vec<Value> = (0..150).map(|_| json!({})).collect();
    let found = errors(&Value::Array(many), None);
    assert_eq!(found.len(), MAX_REPORTED_ERRORS + 1);
    assert!(found[MAX_REPORTED_ERRORS].message.starts_with('…'));
}

#[test]
fn unknown_role_guids_keep_the_guid_as_name() {
    let mut rows = az_rows();
    let custom = "11111111-aaaa-4bbb-8ccc-222222222222";
    rows[0]
        .as_object_mut()
        .expect("object")
        .remove("roleDefinitionName");
    rows[0]["roleDefinitionId"] = json!(format!(
        "/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{}",
        custom.to_uppercase()
    ));
    let s = import(
        &serde_json::to_vec(&rows).expect("json"),
        None,
        "2026-09-01T00:05:00Z",
    );
    assert_eq!(s.assignments[0].role_definition_id, custom);
    assert_eq!(s.assignments[0].role_name, custom);
    let roles = RoleTable::builtin();
    let a = &s.assignments[0];
    assert!(!roles.is_eligible(&a.role_definition_id, &a.role_name));
    let overrides = [(custom.to_string(), true)];
    let roles = RoleTable::builtin().with_overrides(overrides.iter().map(|(k, v)| (k, v)));
    assert!(roles.is_eligible(&a.role_definition_id, &a.role_name));
}

/// The SPEC examples (`snapshot-0` … `snapshot-4`) and the same access imported from
/// `az role assignment list` at the same times (the Lighthouse assignment listed in the
/// first two only) decide every resource-day of the example usage the same way.
#[test]
fn imported_snapshots_give_the_spec_examples_coverage() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/examples");
    let examples: Vec<Snapshot> = (0..5)
        .map(|i| {
            let body = std::fs::read(format!("{dir}/snapshot-{i}.json")).expect("example");
            parse_snapshot(&body, t("2030-01-01T00:00:00Z")).expect("valid example")
        })
        .collect();
    let rows = az_rows();
    let imported: Vec<Snapshot> = examples
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let listed: Vec<Value> = rows
                .iter()
                .filter(|r| i < 2 || r["principalId"] != json!(LH_USER))
                .cloned()
                .collect();
            let at = e.taken_at.to_rfc3339();
            import(
                &serde_json::to_vec(&listed).expect("json"),
                Some(ImportFormat::Az),
                &at,
            )
        })
        .collect();
    let access = |snaps: &[Snapshot]| {
        let mut b = AccessBuilder::new(Duration::hours(25));
        for s in snaps {
            b.push(s);
        }
        b.finish()
    };
    let (expected, got) = (access(&examples), access(&imported));
    let roles = RoleTable::builtin();
    let resources = [
        format!("/subscriptions/{SUB}/resourcegroups/rg-web/providers/microsoft.web/sites/shop"),
        format!("/subscriptions/{SUB}/resourcegroups/rg-data/providers/microsoft.sql/servers/sql1/databases/orders"),
        format!("/subscriptions/{SUB}/resourcegroups/rg-web/providers/microsoft.compute/virtualmachines/batch"),
        format!("/subscriptions/{SUB}"),
    ];
    let mut full = 0;
    for r in &resources {
        for day in [1, 2, 3] {
            let date = NaiveDate::from_ymd_opt(2026, 9, day).expect("date");
            let e = day_coverage(&expected, &roles, r, date, "4100001", "");
            let g = day_coverage(&got, &roles, r, date, "4100001", "");
            assert_eq!(g, e, "{r} on {date}");
            full += usize::from(g.reason.is_none());
        }
    }
    assert_eq!(
        full, 8,
        "both days FULL for every resource; the 3rd has no evidence yet"
    );
}

fn json_value() -> impl Strategy<Value = Value> {
    let key = prop::sample::select(vec![
        "id",
        "scope",
        "principalId",
        "principalType",
        "roleDefinitionId",
        "roleDefinitionName",
        "createdOn",
        "properties",
        "type",
        "data",
        "value",
        "columns",
        "rows",
        "name",
    ]);
    let text = prop::sample::select(vec![
        "",
        "User",
        "Unknown",
        "ForeignGroup",
        "/subscriptions/s",
        "/",
        "x/",
        "2026-09-01T00:00:00Z",
        "microsoft.authorization/roleassignments",
        "{\"principalId\": \"p\"}",
        "é",
        "/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/a",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        text.prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6).prop_map(|kv| {
                Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
        for format in [None, Some(ImportFormat::Az), Some(ImportFormat::ResourceGraph)] {
            let _ = snapshot_from_role_assignments(
                &bytes, format, PARTNER, CUSTOMER, t("2026-09-01T00:05:00Z"), "p",
                &partner_principals(),
            );
        }
        let _ = detect_import_format(&bytes);
    }

    #[test]
    fn arbitrary_json_never_panics_and_accepted_snapshots_post(value in json_value()) {
        let bytes = serde_json::to_vec(&value).expect("json");
        for format in [None, Some(ImportFormat::Az), Some(ImportFormat::ResourceGraph)] {
            for options in [ImportOptions::default(), partner_principals()] {
                let result = snapshot_from_role_assignments(
                    &bytes, format, PARTNER, CUSTOMER, t("2026-09-01T00:05:00Z"), "p", &options,
                );
                match result {
                    Ok(s) => {
                        // Whatever is imported is a valid snapshot.
                        let body = serde_json::to_vec(&s).expect("json");
                        prop_assert_eq!(parse_snapshot(&body, t("2026-09-01T00:05:00Z")), Ok(s));
                    }
                    Err(errors) => {
                        prop_assert!(!errors.is_empty());
                        prop_assert!(errors.len() <= MAX_REPORTED_ERRORS + 1);
                    }
                }
            }
        }
    }
}

/// Microsoft's REST listing (`properties` nested, no `principalType`): refused naming the field
/// and the flags until the principals' types are given — per principal, or for all (issue 16,
/// part 5). The snapshot is then the one the typed listing gives.
#[test]
fn a_listing_without_principal_types_takes_them_from_the_options() {
    let typed = import(
        ARG,
        Some(ImportFormat::ResourceGraph),
        "2026-09-01T00:05:00Z",
    );
    let mut rest: Value = serde_json::from_slice(ARG).expect("json");
    let rows: Vec<Value> = rest["data"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r["properties"]
                .as_object_mut()
                .expect("properties")
                .remove("principalType");
            r.as_object_mut().expect("row").remove("tenantId");
            r
        })
        .collect();
    rest = json!({ "value": rows });
    let bytes = serde_json::to_vec(&rest).expect("json");
    let run = |options: &ImportOptions| {
        snapshot_from_role_assignments(
            &bytes,
            Some(ImportFormat::Az),
            PARTNER,
            CUSTOMER,
            t("2026-09-01T00:05:00Z"),
            "test",
            options,
        )
    };
    let refused = run(&partner_principals()).expect_err("no principal types");
    assert_eq!(refused[0].path, "$.value[0].properties.principalType");
    assert!(
        refused[0].message.contains("--principal-id ID=TYPE")
            && refused[0].message.contains("--principal-type"),
        "{}",
        refused[0].message
    );
    // Per principal.
    let mut options = partner_principals();
    options.principals[0].principal_type = Some(PrincipalType::ForeignGroup);
    options.principals[1].principal_type = Some(PrincipalType::User);
    let given = run(&options).expect("typed per principal");
    assert_eq!(given.assignments, typed.assignments);
    // For all rows without one: every principal the same type.
    let mut options = partner_principals();
    options.principal_type = Some(PrincipalType::ForeignGroup);
    let all = run(&options).expect("typed for all");
    assert!(all
        .assignments
        .iter()
        .all(|a| a.principal_type == PrincipalType::ForeignGroup));
}

/// A Resource Graph row of another tenant is refused naming the row (issue 16, part 5).
#[test]
fn resource_graph_rows_of_another_tenant_are_refused() {
    let mut arg: Value = serde_json::from_slice(ARG).expect("json");
    arg["data"][1]["tenantId"] = json!("aaaaaaaa-0000-4000-8000-000000000009");
    let found = errors(&arg, Some(ImportFormat::ResourceGraph));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].path, "$.data[1].tenantId");
    assert!(
        found[0]
            .message
            .contains("aaaaaaaa-0000-4000-8000-000000000009"),
        "{}",
        found[0].message
    );
    // The customer's own tenant, in any case, is fine.
    let mut arg: Value = serde_json::from_slice(ARG).expect("json");
    arg["data"][0]["tenantId"] = json!(CUSTOMER.to_uppercase());
    let bytes = serde_json::to_vec(&arg).expect("json");
    assert!(snapshot_from_role_assignments(
        &bytes,
        Some(ImportFormat::ResourceGraph),
        PARTNER,
        CUSTOMER,
        t("2026-09-01T00:05:00Z"),
        "test",
        &ImportOptions::default(),
    )
    .is_ok());
}
