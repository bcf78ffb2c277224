//! Access snapshots (SPEC 3.2) from what Azure tools already print: the JSON of
//! `az role assignment list --all -o json`, and Azure Resource Graph `authorizationresources`
//! rows (`az graph query`, the portal's Resource Graph Explorer, the REST API).
//!
//! Neither says how the partner holds its access (AOBO, Lighthouse, direct, GDAP), whether an
//! assignment is PIM, or which Partner Admin Link it carries: those come from
//! [`ImportOptions`]. Neither is limited to the partner's principals either: give their ids
//! ([`ImportOptions::principals`]) to keep only theirs. The snapshot made is validated and
//! stored like a posted one (`ingest::post_snapshot` on its JSON); its `snapshotId` is derived
//! from its content, so importing the same file for the same partner, customer and time again
//! is a duplicate.
//!
//! What is read from each row (keys matched case-insensitively, at the top level first, then in
//! `properties`, which may also be a JSON string):
//!
//! | snapshot field | from |
//! |---|---|
//! | `id` | `id` |
//! | `scope` | `scope`; without one, `id` up to `/providers/Microsoft.Authorization/roleAssignments/` |
//! | `roleDefinitionId` | the GUID at the end of `roleDefinitionId` (lower case) |
//! | `roleName` | `roleDefinitionName`; else the built-in role of that GUID (Owner, Contributor, Reader, User Access Administrator); else the GUID itself |
//! | `principalId` | `principalId` |
//! | `principalType` | `principalType` (`Unknown`, a deleted principal, is left out) |
//! | `createdOn` | `createdOn`, if any |
//! | `accessType`, `assignmentType`, `partnerAdminLinkMpnId` | the options |
//!
//! Rows whose `type` is not `Microsoft.Authorization/roleAssignments` (any case) are skipped:
//! an unfiltered `authorizationresources` query also returns role definitions.

use crate::ids;
use crate::roles::BUILT_IN_ROLE_IDS;
use crate::snapshot::{
    AccessType, Assignment, AssignmentType, PathError, PrincipalType, Snapshot, SCHEMA_VERSION,
};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// What the file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    /// `az role assignment list --all -o json`: an array of assignments (or the REST API's
    /// `{"value": [...]}`).
    Az,
    /// Azure Resource Graph `authorizationresources` rows: an array, `az graph query`'s
    /// `{"data": [...]}`, or the REST API's table `{"data": {"columns": [...], "rows": [...]}}`.
    ResourceGraph,
}

impl ImportFormat {
    /// A name for messages and the default `source`.
    pub fn describe(self) -> &'static str {
        match self {
            ImportFormat::Az => "az role assignment list",
            ImportFormat::ResourceGraph => "Azure Resource Graph authorizationresources",
        }
    }
}

/// Keep a principal's assignments, optionally with its own access type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalRule {
    /// Compared case-insensitively, trimmed.
    pub principal_id: String,
    /// Overrides [`ImportOptions::access_type`] for this principal.
    pub access_type: Option<AccessType>,
}

/// What the import cannot read from the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// How the partner's principals hold their access (default `AOBO`).
    pub access_type: AccessType,
    /// Default `permanent`: `az role assignment list` and `authorizationresources` list active
    /// assignments, and PIM-activated ones look the same there.
    pub assignment_type: AssignmentType,
    /// The Partner Admin Link on every assignment (needed for LIGHTHOUSE, DIRECT, GDAP).
    pub partner_admin_link_mpn_id: Option<String>,
    /// Only these principals' assignments are kept; empty keeps every assignment in the file.
    pub principals: Vec<PrincipalRule>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            access_type: AccessType::Aobo,
            assignment_type: AssignmentType::Permanent,
            partner_admin_link_mpn_id: None,
            principals: Vec::new(),
        }
    }
}

/// A snapshot from `az role assignment list --all -o json` output.
pub fn snapshot_from_az_role_assignments(
    json: &[u8],
    partner_id: &str,
    customer_id: &str,
    taken_at: DateTime<Utc>,
    source: &str,
    options: &ImportOptions,
) -> Result<Snapshot, Vec<PathError>> {
    snapshot_from_role_assignments(
        json,
        Some(ImportFormat::Az),
        partner_id,
        customer_id,
        taken_at,
        source,
        options,
    )
}

/// A snapshot from Azure Resource Graph `authorizationresources` rows
/// (`| where type == "microsoft.authorization/roleassignments"`).
pub fn snapshot_from_resource_graph(
    json: &[u8],
    partner_id: &str,
    customer_id: &str,
    taken_at: DateTime<Utc>,
    source: &str,
    options: &ImportOptions,
) -> Result<Snapshot, Vec<PathError>> {
    snapshot_from_role_assignments(
        json,
        Some(ImportFormat::ResourceGraph),
        partner_id,
        customer_id,
        taken_at,
        source,
        options,
    )
}

/// Which of the two a file is, from its shape; `None` if it is neither (or not JSON).
pub fn detect_import_format(json: &[u8]) -> Option<ImportFormat> {
    let json = json.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(json);
    let value: Value = serde_json::from_slice(json).ok()?;
    shape_of(&value)
}

fn shape_of(value: &Value) -> Option<ImportFormat> {
    match value {
        Value::Object(root) if root.contains_key("data") => Some(ImportFormat::ResourceGraph),
        Value::Object(root) if root.contains_key("value") => Some(ImportFormat::Az),
        Value::Array(rows) => {
            // ARG rows keep the assignment in `properties`; az prints it at the top level.
            let arg = rows.iter().find_map(Value::as_object).is_some_and(|row| {
                !has_key(row, "principalId")
                    && matches!(get(row, "properties"), Some(Value::Object(_)))
            });
            Some(if arg {
                ImportFormat::ResourceGraph
            } else {
                ImportFormat::Az
            })
        }
        _ => None,
    }
}

/// A snapshot of `partner_id`'s access in `customer_id` at `taken_at` from either format
/// (`None`: detected from the file's shape). Every problem is reported with its JSON path in the
/// file (`$[3].principalType`, `$.data[0].properties.scope`), at most
/// [`crate::snapshot::MAX_REPORTED_ERRORS`] and a final `… N more`.
pub fn snapshot_from_role_assignments(
    json: &[u8],
    format: Option<ImportFormat>,
    partner_id: &str,
    customer_id: &str,
    taken_at: DateTime<Utc>,
    source: &str,
    options: &ImportOptions,
) -> Result<Snapshot, Vec<PathError>> {
    let json = json.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(json);
    let value: Value = match serde_json::from_slice(json) {
        Ok(v) => v,
        Err(e) => {
            return Err(vec![PathError {
                path: "$".into(),
                message: format!("invalid JSON: {e}"),
            }])
        }
    };
    let mut errors = Errors::default();
    let partner_id = ids::normalize_guid(partner_id);
    let customer_id = ids::normalize_guid(customer_id);
    if partner_id.is_empty() {
        errors.error(|| "$.partnerId".into(), "the partner id must not be empty");
    }
    if customer_id.is_empty() {
        errors.error(
            || "$.customerId".into(),
            "the customer id must not be empty",
        );
    }
    let format = match format.or_else(|| shape_of(&value)) {
        Some(f) => f,
        None => {
            return Err(vec![PathError {
                path: "$".into(),
                message: format!(
                    "expected the JSON of `az role assignment list` (an array) or of an Azure \
                     Resource Graph query (an array, or an object with `data`), found {}",
                    kind(&value)
                ),
            }])
        }
    };
    let rows = match rows_of(&value, format) {
        Ok(rows) => rows,
        Err(e) => return Err(vec![e]),
    };

    let mut assignments: Vec<Assignment> = Vec::new();
    // Lower-cased id → (index in `assignments`, path of its row).
    let mut seen: HashMap<String, (usize, String)> = HashMap::new();
    for (path, row) in rows {
        let Some(a) = assignment(&row, &path, options, &mut errors) else {
            continue;
        };
        let key = a.id.trim().to_lowercase();
        match seen.get(&key) {
            Some((i, first)) => {
                if assignments.get(*i) != Some(&a) {
                    errors.error(
                        || format!("{path}.id"),
                        format!("the same assignment id with other content (first at {first})"),
                    );
                }
            }
            None => {
                seen.insert(key, (assignments.len(), path.clone()));
                assignments.push(a);
            }
        }
    }
    if errors.total > 0 {
        return Err(errors.into_errors());
    }
    let mut snapshot = Snapshot {
        schema_version: SCHEMA_VERSION,
        snapshot_id: String::new(),
        partner_id,
        customer_id,
        taken_at,
        source: source.to_string(),
        assignments,
    };
    snapshot.snapshot_id = derived_snapshot_id(&snapshot);
    Ok(snapshot)
}

/// A GUID-shaped id (RFC 9562 version 8) from SHA-256 of the snapshot's content — partner,
/// customer, `takenAt`, `source` and the assignments — so the same import is the same snapshot.
fn derived_snapshot_id(snapshot: &Snapshot) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"pec-ledger access import v1\n");
    // Serialising these plain structs into a hasher cannot fail (see Snapshot::content_digest).
    if let Err(e) = serde_json::to_writer(&mut hasher, snapshot) {
        hasher.update(format!("\u{0}serialisation error: {e}").as_bytes());
    }
    let digest = hasher.finalize();
    let mut bytes = [0u8; 16];
    for (b, d) in bytes.iter_mut().zip(digest.iter()) {
        *b = *d;
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    uuid::Uuid::from_bytes(bytes).to_string()
}

/// The rows of the file with the JSON path of each.
fn rows_of(value: &Value, format: ImportFormat) -> Result<Vec<(String, Value)>, PathError> {
    let array = |items: &Vec<Value>, at: &str| {
        items
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("{at}[{i}]"), v.clone()))
            .collect::<Vec<_>>()
    };
    let expected = |what: &str, found: &Value, path: &str| PathError {
        path: path.into(),
        message: format!("expected {what}, found {}", kind(found)),
    };
    match (format, value) {
        (_, Value::Array(items)) => Ok(array(items, "$")),
        (ImportFormat::Az, Value::Object(root)) => match root.get("value") {
            Some(Value::Array(items)) => Ok(array(items, "$.value")),
            Some(v) => Err(expected("an array", v, "$.value")),
            None => Err(PathError {
                path: "$".into(),
                message: "expected an array of role assignments (az role assignment list -o \
                          json)"
                    .into(),
            }),
        },
        (ImportFormat::ResourceGraph, Value::Object(root)) => match root.get("data") {
            Some(Value::Array(items)) => Ok(array(items, "$.data")),
            Some(Value::Object(table)) => table_rows(table),
            Some(v) => Err(expected("an array or a table", v, "$.data")),
            None => Err(PathError {
                path: "$".into(),
                message: "expected an array of rows or an object with `data` (az graph query)"
                    .into(),
            }),
        },
        (ImportFormat::Az, v) => Err(expected("an array", v, "$")),
        (ImportFormat::ResourceGraph, v) => Err(expected("an array or an object", v, "$")),
    }
}

/// The rows of a Resource Graph table (`{"columns": [{"name": …}], "rows": [[…]]}`) as objects.
fn table_rows(table: &Map<String, Value>) -> Result<Vec<(String, Value)>, PathError> {
    let names: Vec<String> = match table.get("columns") {
        Some(Value::Array(columns)) => columns
            .iter()
            .map(|c| match c {
                Value::String(s) => s.clone(),
                Value::Object(o) => o
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                _ => String::new(),
            })
            .collect(),
        _ => {
            return Err(PathError {
                path: "$.data.columns".into(),
                message: "expected the table's columns (an array)".into(),
            })
        }
    };
    let Some(Value::Array(rows)) = table.get("rows") else {
        return Err(PathError {
            path: "$.data.rows".into(),
            message: "expected the table's rows (an array)".into(),
        });
    };
    Ok(rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let path = format!("$.data.rows[{i}]");
            let value = match row {
                Value::Array(cells) => Value::Object(
                    names
                        .iter()
                        .zip(cells)
                        .filter(|(n, _)| !n.is_empty())
                        .map(|(n, c)| (n.clone(), c.clone()))
                        .collect(),
                ),
                other => other.clone(),
            };
            (path, value)
        })
        .collect())
}

/// Whether `key` is in `obj`, any case.
fn has_key(obj: &Map<String, Value>, key: &str) -> bool {
    get(obj, key).is_some()
}

/// `obj[key]`, any case; `null` is absent.
fn get<'v>(obj: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    obj.get(key)
        .or_else(|| {
            obj.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
        })
        .filter(|v| !v.is_null())
}

/// A row's fields: the top level, then `properties` (an object, or JSON text of one).
struct Row<'a> {
    top: &'a Map<String, Value>,
    properties: Option<Map<String, Value>>,
    path: &'a str,
    /// Where a missing field is expected: `properties` for Resource Graph rows.
    nested: bool,
}

impl<'a> Row<'a> {
    fn new(top: &'a Map<String, Value>, path: &'a str) -> Self {
        let properties = match get(top, "properties") {
            Some(Value::Object(p)) => Some(p.clone()),
            Some(Value::String(text)) => serde_json::from_str::<Map<String, Value>>(text).ok(),
            _ => None,
        };
        let nested = properties.is_some();
        Row {
            top,
            properties,
            path,
            nested,
        }
    }

    /// The value and its path.
    fn field(&self, key: &str) -> (Option<Value>, String) {
        if let Some(v) = get(self.top, key) {
            return (Some(v.clone()), format!("{}.{key}", self.path));
        }
        let nested_path = format!("{}.properties.{key}", self.path);
        if let Some(v) = self.properties.as_ref().and_then(|p| get(p, key)) {
            return (Some(v.clone()), nested_path);
        }
        let path = if self.nested {
            nested_path
        } else {
            format!("{}.{key}", self.path)
        };
        (None, path)
    }

    /// A non-empty string field (trimmed), or an error.
    fn string(&self, key: &str, errors: &mut Errors) -> Option<String> {
        match self.field(key) {
            (Some(Value::String(s)), path) => {
                if s.trim().is_empty() {
                    errors.error(|| path, "must not be empty");
                    None
                } else {
                    Some(s.trim().to_string())
                }
            }
            (Some(v), path) => {
                errors.error(|| path, format!("expected a string, found {}", kind(&v)));
                None
            }
            (None, path) => {
                errors.error(|| path, "missing required field");
                None
            }
        }
    }

    /// An optional string field (trimmed; empty is none).
    fn optional_string(&self, key: &str, errors: &mut Errors) -> Option<String> {
        match self.field(key) {
            (Some(Value::String(s)), _) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
            (Some(v), path) => {
                errors.error(|| path, format!("expected a string, found {}", kind(&v)));
                None
            }
            (None, _) => None,
        }
    }
}

/// One row as an assignment; `None` when it is skipped or has problems (reported).
fn assignment(
    value: &Value,
    path: &str,
    options: &ImportOptions,
    errors: &mut Errors,
) -> Option<Assignment> {
    let Value::Object(top) = value else {
        errors.error(
            || path.to_string(),
            format!("expected an object, found {}", kind(value)),
        );
        return None;
    };
    let row = Row::new(top, path);
    // Only role assignments (an unfiltered authorizationresources query has role definitions).
    if let Some(Value::String(t)) = get(top, "type") {
        if !t
            .trim()
            .eq_ignore_ascii_case("Microsoft.Authorization/roleAssignments")
        {
            return None;
        }
    }
    let principal_id = row.string("principalId", errors);
    // Only the partner's principals.
    let mut access_type = options.access_type;
    if !options.principals.is_empty() {
        let principal = principal_id.as_deref()?;
        let rule = options
            .principals
            .iter()
            .find(|r| r.principal_id.trim().eq_ignore_ascii_case(principal))?;
        if let Some(t) = rule.access_type {
            access_type = t;
        }
    }
    let principal_type = match row.field("principalType") {
        (Some(Value::String(s)), path) => {
            let t = s.trim();
            if t.eq_ignore_ascii_case("Unknown") {
                // A deleted principal: it holds nothing.
                return None;
            }
            match PRINCIPAL_TYPES
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(t))
            {
                Some((_, p)) => Some(*p),
                None => {
                    errors.error(
                        || path,
                        format!(
                            "principal type {s:?} is not one a snapshot can hold (ForeignGroup, \
                             Group, User, ServicePrincipal); leave it out with --principal-id"
                        ),
                    );
                    None
                }
            }
        }
        (Some(v), path) => {
            errors.error(|| path, format!("expected a string, found {}", kind(&v)));
            None
        }
        (None, path) => {
            errors.error(|| path, "missing required field");
            None
        }
    };
    let id = row.string("id", errors);
    // Without a scope (a projected Resource Graph row), the id says it.
    let scope = row.optional_string("scope", errors).or_else(|| {
        let derived = id.as_deref().and_then(scope_from_id);
        if derived.is_none() && id.is_some() {
            errors.error(|| row.field("scope").1, "missing required field");
        }
        derived
    });
    let scope = scope.and_then(|s| {
        let normalized = ids::normalize_resource_id(&s);
        if normalized == "/" {
            errors.error(|| row.field("scope").1, "scope is not a resource id");
            None
        } else {
            Some(normalized)
        }
    });
    let role_definition_id = row.string("roleDefinitionId", errors).and_then(|r| {
        let guid = r.rsplit('/').next().unwrap_or("").trim().to_lowercase();
        if guid.is_empty() {
            errors.error(
                || row.field("roleDefinitionId").1,
                "roleDefinitionId does not end in a role definition GUID",
            );
            None
        } else {
            Some(guid)
        }
    });
    let role_name = row.optional_string("roleDefinitionName", errors);
    let created_on = match row.field("createdOn") {
        (None, _) => Some(None),
        (Some(Value::String(s)), path) => match DateTime::parse_from_rfc3339(s.trim()) {
            Ok(t) => Some(Some(t.with_timezone(&Utc))),
            Err(e) => {
                errors.error(|| path, format!("{s:?} is not an RFC 3339 timestamp ({e})"));
                None
            }
        },
        (Some(v), path) => {
            errors.error(
                || path,
                format!("expected a timestamp string, found {}", kind(&v)),
            );
            None
        }
    };
    let role_definition_id = role_definition_id?;
    let role_name = role_name.unwrap_or_else(|| built_in_role_name(&role_definition_id));
    Some(Assignment {
        id: id?,
        scope: scope?,
        role_definition_id,
        role_name,
        principal_id: principal_id?,
        principal_type: principal_type?,
        access_type,
        partner_admin_link_mpn_id: options
            .partner_admin_link_mpn_id
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_string),
        assignment_type: options.assignment_type,
        created_on: created_on?,
    })
}

const PRINCIPAL_TYPES: [(&str, PrincipalType); 4] = [
    ("ForeignGroup", PrincipalType::ForeignGroup),
    ("Group", PrincipalType::Group),
    ("User", PrincipalType::User),
    ("ServicePrincipal", PrincipalType::ServicePrincipal),
];

/// The scope part of a role assignment id: `{scope}/providers/Microsoft.Authorization/
/// roleAssignments/{name}`.
fn scope_from_id(id: &str) -> Option<String> {
    const MARKER: &str = "/providers/microsoft.authorization/roleassignments/";
    let lower = id.to_ascii_lowercase();
    let at = lower.rfind(MARKER)?;
    let scope = id.get(..at)?;
    (!scope.trim_matches('/').is_empty()).then(|| scope.to_string())
}

/// Owner, Contributor, Reader or User Access Administrator for their GUIDs; else the GUID
/// (an unknown role is not eligible unless `roleOverrides` names it).
fn built_in_role_name(guid: &str) -> String {
    BUILT_IN_ROLE_IDS
        .iter()
        .find(|(id, _)| id.eq_ignore_ascii_case(guid))
        .map(|(_, name)| name.to_string())
        .unwrap_or_else(|| guid.to_string())
}

/// Problems found, the first `MAX_REPORTED_ERRORS` kept: the snapshot parser's collector.
type Errors = crate::snapshot::Validator;

/// The JSON type of a value, for messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
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

    const AZ: &[u8] = include_bytes!("../tests/fixtures/az-role-assignment-list.json");
    const ARG: &[u8] = include_bytes!("../tests/fixtures/arg-authorizationresources.json");

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("test time")
            .with_timezone(&Utc)
    }

    /// The SPEC example's principals: the admin agents (AOBO) and a Lighthouse user with the
    /// Partner Admin Link 4100001.
    fn partner_principals() -> ImportOptions {
        ImportOptions {
            partner_admin_link_mpn_id: Some(" 4100001 ".into()),
            principals: vec![
                PrincipalRule {
                    principal_id: AOBO_GROUP.to_uppercase(),
                    access_type: None,
                },
                PrincipalRule {
                    principal_id: LH_USER.into(),
                    access_type: Some(AccessType::Lighthouse),
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
            format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments/3f0c1d2e-aobo")
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
        assert_eq!(
            found[0],
            ("$[0].principalType".into(), "missing required field".into())
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
}
