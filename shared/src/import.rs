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
//! | `principalType` | `principalType` (`Unknown`, a deleted principal, is left out); without one (Microsoft's REST listing), the principal's [`PrincipalRule::principal_type`], else [`ImportOptions::principal_type`] |
//! | `createdOn` | `createdOn`, if any |
//! | `accessType`, `assignmentType`, `partnerAdminLinkMpnId` | the options |
//!
//! Rows whose `type` is not `Microsoft.Authorization/roleAssignments` (any case) are skipped:
//! an unfiltered `authorizationresources` query also returns role definitions. A row with a
//! `tenantId` other than the customer's is an error naming it (a listing of another tenant).

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
    /// This principal's type, for a listing that has none (Microsoft's REST listing).
    pub principal_type: Option<PrincipalType>,
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
    /// The principal type of rows that have none and whose principal has no
    /// [`PrincipalRule::principal_type`].
    pub principal_type: Option<PrincipalType>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            access_type: AccessType::Aobo,
            assignment_type: AssignmentType::Permanent,
            partner_admin_link_mpn_id: None,
            principals: Vec::new(),
            principal_type: None,
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
        let Some(a) = assignment(&row, &path, &customer_id, options, &mut errors) else {
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
    customer_id: &str,
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
    // A Resource Graph row names its tenant: it must be the customer's.
    if let (Some(Value::String(tenant)), tenant_path) = row.field("tenantId") {
        let tenant = ids::normalize_guid(&tenant);
        if !tenant.is_empty() && !customer_id.is_empty() && tenant != customer_id {
            errors.error(
                || tenant_path,
                format!(
                    "this row is tenant {tenant}'s, not the customer {customer_id}'s \
                     (--customer): a listing of another tenant"
                ),
            );
            return None;
        }
    }
    let principal_id = row.string("principalId", errors);
    // Only the partner's principals.
    let mut access_type = options.access_type;
    let mut given_type = options.principal_type;
    if !options.principals.is_empty() {
        let principal = principal_id.as_deref()?;
        let rule = options
            .principals
            .iter()
            .find(|r| r.principal_id.trim().eq_ignore_ascii_case(principal))?;
        if let Some(t) = rule.access_type {
            access_type = t;
        }
        if let Some(t) = rule.principal_type {
            given_type = Some(t);
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
        // Microsoft's REST listing has no principalType: given with the principal.
        (None, _) if given_type.is_some() => given_type,
        (None, path) => {
            errors.error(
                || path,
                "missing required field (a listing without principal types: give them with \
                 --principal-id ID=TYPE or --principal-type TYPE)",
            );
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

/// The principal types a snapshot holds, by name.
pub const PRINCIPAL_TYPES: [(&str, PrincipalType); 4] = [
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
mod tests;
