//! Access snapshots (SPEC 3.2): parsing and schema validation with a JSON path per problem.
//!
//! [`parse_snapshot`] first parses the body into a [`serde_json::Value`] and then validates it
//! field by field, so that a rejected snapshot lists *every* problem (up to
//! [`MAX_REPORTED_ERRORS`]) with its JSON path, e.g. `$.assignments[3].accessType`.
//!
//! Normalisation on the way in: `snapshotId`, `partnerId` and `customerId` are trimmed and
//! lower-cased; `scope` goes through [`ids::normalize_resource_id`]; timestamps are converted to
//! UTC; enum values are matched case-insensitively; `partnerAdminLinkMpnId` is trimmed (an empty
//! one is the same as none). Every other identifier is kept as sent. Unknown fields are ignored.

use crate::ids;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// How a principal holds access in the customer tenant (SPEC R6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AccessType {
    Aobo,
    Lighthouse,
    Direct,
    Gdap,
}

/// Whether an assignment is standing (`permanent`) or PIM (`eligible`, `activated`) (SPEC R5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AssignmentType {
    Permanent,
    Eligible,
    Activated,
}

/// The kind of principal an assignment is granted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PrincipalType {
    ForeignGroup,
    Group,
    User,
    ServicePrincipal,
}

/// One role assignment as a snapshot lists it. Identifiers are kept as sent except `scope`,
/// which is normalised with `ids::normalize_resource_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Assignment {
    pub id: String,
    pub scope: String,
    pub role_definition_id: String,
    pub role_name: String,
    pub principal_id: String,
    pub principal_type: PrincipalType,
    pub access_type: AccessType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_admin_link_mpn_id: Option<String>,
    pub assignment_type: AssignmentType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_on: Option<DateTime<Utc>>,
}

/// A validated snapshot. `snapshot_id`, `partner_id`, `customer_id` are lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    pub schema_version: u32,
    pub snapshot_id: String,
    pub partner_id: String,
    pub customer_id: String,
    pub taken_at: DateTime<Utc>,
    pub source: String,
    pub assignments: Vec<Assignment>,
}

/// One schema problem: JSON path (`$.assignments[2].accessType`) and message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathError {
    pub path: String,
    pub message: String,
}

/// The only schema version this parser accepts.
pub const SCHEMA_VERSION: u32 = 1;

/// How far in the future (relative to the caller's clock) `takenAt` may be.
pub const MAX_CLOCK_SKEW_MINUTES: i64 = 5;

/// At most this many problems are reported; one more entry (path `$`, message `… N more`)
/// then says how many were left out.
pub const MAX_REPORTED_ERRORS: usize = 100;

/// Longest excerpt of an offending value quoted in a message.
const MAX_QUOTED_CHARS: usize = 64;

const ACCESS_TYPES: [(&str, AccessType); 4] = [
    ("AOBO", AccessType::Aobo),
    ("LIGHTHOUSE", AccessType::Lighthouse),
    ("DIRECT", AccessType::Direct),
    ("GDAP", AccessType::Gdap),
];

const ASSIGNMENT_TYPES: [(&str, AssignmentType); 3] = [
    ("permanent", AssignmentType::Permanent),
    ("eligible", AssignmentType::Eligible),
    ("activated", AssignmentType::Activated),
];

const PRINCIPAL_TYPES: [(&str, PrincipalType); 4] = [
    ("ForeignGroup", PrincipalType::ForeignGroup),
    ("Group", PrincipalType::Group),
    ("User", PrincipalType::User),
    ("ServicePrincipal", PrincipalType::ServicePrincipal),
];

/// Parses and validates a snapshot body. `now` is the clock for the 5-minute future check.
///
/// On failure returns every problem found (capped at [`MAX_REPORTED_ERRORS`] plus a final
/// `… N more` entry), each with its JSON path. A body that is not JSON, is nested deeper than
/// serde_json's recursion limit, or is not a JSON object gives a single error at path `$`.
/// A leading UTF-8 byte-order mark is tolerated.
pub fn parse_snapshot(body: &[u8], now: DateTime<Utc>) -> Result<Snapshot, Vec<PathError>> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return Err(vec![PathError {
                path: "$".into(),
                message: format!("invalid JSON: {e}"),
            }])
        }
    };
    let Value::Object(root) = &value else {
        return Err(vec![PathError {
            path: "$".into(),
            message: format!("expected a JSON object, found {}", kind(&value)),
        }]);
    };
    let mut v = Validator::default();
    let snapshot = v.snapshot(root, now);
    match snapshot {
        Some(s) if v.total == 0 => Ok(s),
        _ => Err(v.into_errors()),
    }
}

impl Snapshot {
    /// SHA-256 (hex) of the snapshot's normalised content, so that the same snapshot sent twice
    /// (whatever its whitespace or key order) is recognised as a duplicate.
    ///
    /// The hashed bytes are the compact JSON serialisation of this struct: fields in declaration
    /// order, assignments in the order sent, values as normalised by [`parse_snapshot`].
    pub fn content_digest(&self) -> String {
        let mut hasher = Sha256::new();
        // Serialising these plain structs into an in-memory hasher cannot fail: there are no
        // maps with non-string keys, no custom serialisers, and the writer never errors.
        if let Err(e) = serde_json::to_writer(&mut hasher, self) {
            // Unreachable in practice; keep the digest distinct from any real content.
            hasher.update(format!("\u{0}serialisation error: {e}").as_bytes());
        }
        hex::encode(hasher.finalize())
    }
}

/// Collects problems, keeping the first [`MAX_REPORTED_ERRORS`] and counting the rest.
#[derive(Default)]
pub(crate) struct Validator {
    errors: Vec<PathError>,
    pub(crate) total: usize,
}

impl Validator {
    pub(crate) fn error(&mut self, path: impl FnOnce() -> String, message: impl Into<String>) {
        self.total += 1;
        if self.errors.len() < MAX_REPORTED_ERRORS {
            self.errors.push(PathError {
                path: path(),
                message: message.into(),
            });
        }
    }

    pub(crate) fn into_errors(mut self) -> Vec<PathError> {
        if self.total > self.errors.len() {
            let more = self.total - self.errors.len();
            self.errors.push(PathError {
                path: "$".into(),
                message: format!("… {more} more"),
            });
        }
        self.errors
    }

    fn snapshot(&mut self, root: &Map<String, Value>, now: DateTime<Utc>) -> Option<Snapshot> {
        let schema_version = self.schema_version(root);
        let snapshot_id = self
            .string(root, "$", "snapshotId", Empty::Reject)
            .map(ids::normalize_guid);
        let partner_id = self
            .string(root, "$", "partnerId", Empty::Reject)
            .map(ids::normalize_guid);
        let customer_id = self
            .string(root, "$", "customerId", Empty::Reject)
            .map(ids::normalize_guid);
        let taken_at = self.timestamp(root, "$", "takenAt", true).flatten();
        if let Some(t) = taken_at {
            let limit = now.checked_add_signed(Duration::minutes(MAX_CLOCK_SKEW_MINUTES));
            if limit.is_some_and(|limit| t > limit) {
                self.error(
                    || "$.takenAt".into(),
                    format!(
                        "takenAt {} is more than {MAX_CLOCK_SKEW_MINUTES} minutes in the future (now {})",
                        t.to_rfc3339(),
                        now.to_rfc3339()
                    ),
                );
            }
        }
        let source = self
            .string(root, "$", "source", Empty::Allow)
            .map(str::to_owned);
        let assignments = self.assignments(root);
        Some(Snapshot {
            schema_version: schema_version?,
            snapshot_id: snapshot_id?,
            partner_id: partner_id?,
            customer_id: customer_id?,
            taken_at: taken_at?,
            source: source?,
            assignments: assignments?,
        })
    }

    fn schema_version(&mut self, root: &Map<String, Value>) -> Option<u32> {
        match root.get("schemaVersion") {
            None => {
                self.error(|| "$.schemaVersion".into(), "missing required field");
                None
            }
            // `1`, or `1.0`/`1e0`: the same number in JSON (and to JSON Schema).
            Some(v) if v.as_f64() == Some(f64::from(SCHEMA_VERSION)) => Some(SCHEMA_VERSION),
            Some(v @ Value::Number(_)) => {
                self.error(
                    || "$.schemaVersion".into(),
                    format!("unsupported schemaVersion {v}; expected {SCHEMA_VERSION}"),
                );
                None
            }
            Some(v) => {
                self.error(
                    || "$.schemaVersion".into(),
                    format!("expected the number {SCHEMA_VERSION}, found {}", kind(v)),
                );
                None
            }
        }
    }

    fn assignments(&mut self, root: &Map<String, Value>) -> Option<Vec<Assignment>> {
        let items = match root.get("assignments") {
            None => {
                self.error(|| "$.assignments".into(), "missing required field");
                return None;
            }
            Some(Value::Array(items)) => items,
            Some(v) => {
                self.error(
                    || "$.assignments".into(),
                    format!("expected an array, found {}", kind(v)),
                );
                return None;
            }
        };
        let mut out = Vec::with_capacity(items.len());
        let mut complete = true;
        // Lower-cased id → index of its first occurrence.
        let mut seen: HashMap<String, usize> = HashMap::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let path = format!("$.assignments[{i}]");
            let Value::Object(obj) = item else {
                self.error(
                    || path.clone(),
                    format!("expected an object, found {}", kind(item)),
                );
                complete = false;
                continue;
            };
            if let Some(id) = obj.get("id").and_then(Value::as_str) {
                let key = id.trim().to_lowercase();
                if !key.is_empty() {
                    if let Some(first) = seen.get(&key) {
                        self.error(
                            || format!("{path}.id"),
                            format!("duplicate assignment id (first at $.assignments[{first}].id)"),
                        );
                        complete = false;
                    } else {
                        seen.insert(key, i);
                    }
                }
            }
            match self.assignment(obj, &path) {
                Some(a) => out.push(a),
                None => complete = false,
            }
        }
        complete.then_some(out)
    }

    fn assignment(&mut self, obj: &Map<String, Value>, path: &str) -> Option<Assignment> {
        let id = self.string(obj, path, "id", Empty::Reject);
        let scope = self
            .string(obj, path, "scope", Empty::Reject)
            .and_then(|s| {
                let scope = ids::normalize_resource_id(s);
                if scope == "/" {
                    self.error(|| format!("{path}.scope"), "scope is not a resource id");
                    None
                } else {
                    Some(scope)
                }
            });
        let role_definition_id = self.string(obj, path, "roleDefinitionId", Empty::Reject);
        let role_name = self.string(obj, path, "roleName", Empty::Reject);
        let principal_id = self.string(obj, path, "principalId", Empty::Reject);
        let principal_type = self.enumeration(obj, path, "principalType", &PRINCIPAL_TYPES);
        let access_type = self.enumeration(obj, path, "accessType", &ACCESS_TYPES);
        let pal = self.partner_admin_link(obj, path);
        let assignment_type = self.enumeration(obj, path, "assignmentType", &ASSIGNMENT_TYPES);
        let created_on = self.timestamp(obj, path, "createdOn", false);
        Some(Assignment {
            id: id?.to_owned(),
            scope: scope?,
            role_definition_id: role_definition_id?.to_owned(),
            role_name: role_name?.to_owned(),
            principal_id: principal_id?.to_owned(),
            principal_type: principal_type?,
            access_type: access_type?,
            partner_admin_link_mpn_id: pal?,
            assignment_type: assignment_type?,
            created_on: created_on?,
        })
    }

    /// A string field. Missing, null, non-string and (with [`Empty::Reject`]) blank values are
    /// errors.
    fn string<'v>(
        &mut self,
        obj: &'v Map<String, Value>,
        path: &str,
        key: &str,
        empty: Empty,
    ) -> Option<&'v str> {
        match obj.get(key) {
            None => {
                self.error(|| format!("{path}.{key}"), "missing required field");
                None
            }
            Some(Value::String(s)) => {
                if empty == Empty::Reject && s.trim().is_empty() {
                    self.error(|| format!("{path}.{key}"), "must not be empty");
                    None
                } else {
                    Some(s)
                }
            }
            Some(v) => {
                self.error(
                    || format!("{path}.{key}"),
                    format!("expected a string, found {}", kind(v)),
                );
                None
            }
        }
    }

    /// An enum field: one of `variants` (names as the SPEC spells them), any case.
    fn enumeration<T: Copy>(
        &mut self,
        obj: &Map<String, Value>,
        path: &str,
        key: &str,
        variants: &[(&str, T)],
    ) -> Option<T> {
        let s = self.string(obj, path, key, Empty::Reject)?;
        let wanted = s.trim();
        if let Some((_, v)) = variants
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(wanted))
        {
            return Some(*v);
        }
        let names: Vec<&str> = variants.iter().map(|(n, _)| *n).collect();
        self.error(
            || format!("{path}.{key}"),
            format!(
                "unknown value {}; expected one of {}",
                quote(s),
                names.join(", ")
            ),
        );
        None
    }

    /// A timestamp field (RFC 3339, any offset, converted to UTC). `Some(None)` is an optional
    /// field that is absent or null; `None` is an error.
    fn timestamp(
        &mut self,
        obj: &Map<String, Value>,
        path: &str,
        key: &str,
        required: bool,
    ) -> Option<Option<DateTime<Utc>>> {
        let s = match obj.get(key) {
            None | Some(Value::Null) if !required => return Some(None),
            Some(Value::String(s)) if required && s.trim().is_empty() => {
                self.error(|| format!("{path}.{key}"), "must not be empty");
                return None;
            }
            None => {
                self.error(|| format!("{path}.{key}"), "missing required field");
                return None;
            }
            Some(Value::String(s)) => s,
            Some(v) => {
                let expected = if required {
                    "an RFC 3339 timestamp string"
                } else {
                    "an RFC 3339 timestamp string or null"
                };
                self.error(
                    || format!("{path}.{key}"),
                    format!("expected {expected}, found {}", kind(v)),
                );
                return None;
            }
        };
        match DateTime::parse_from_rfc3339(s.trim()) {
            Ok(t) => Some(Some(t.with_timezone(&Utc))),
            Err(e) => {
                self.error(
                    || format!("{path}.{key}"),
                    format!("{} is not an RFC 3339 timestamp ({e})", quote(s)),
                );
                None
            }
        }
    }

    /// `partnerAdminLinkMpnId`: optional string (trimmed; blank = none) or null. A non-negative
    /// integer below 2^64 is accepted too, as MPN ids are numeric and some tools send them as
    /// JSON numbers, also when written as a float (`4100001.0`: an integer to JSON Schema).
    fn partner_admin_link(
        &mut self,
        obj: &Map<String, Value>,
        path: &str,
    ) -> Option<Option<String>> {
        match obj.get("partnerAdminLinkMpnId") {
            None | Some(Value::Null) => Some(None),
            Some(Value::String(s)) => {
                let s = s.trim();
                Some((!s.is_empty()).then(|| s.to_owned()))
            }
            Some(Value::Number(n)) if n.is_u64() => Some(Some(n.to_string())),
            Some(Value::Number(n))
                if n.as_f64().is_some_and(|f| {
                    f >= 0.0 && f.fract() == 0.0 && f < 18_446_744_073_709_551_616.0
                }) =>
            {
                // Below 2^64, a whole float converts exactly.
                Some(Some((n.as_f64().unwrap_or_default() as u64).to_string()))
            }
            Some(v) => {
                self.error(
                    || format!("{path}.partnerAdminLinkMpnId"),
                    format!("expected a string or null, found {}", kind(v)),
                );
                None
            }
        }
    }
}

/// Whether a required string may be empty.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Empty {
    Allow,
    Reject,
}

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

/// A value quoted for a message, shortened if long.
fn quote(s: &str) -> String {
    if s.chars().count() <= MAX_QUOTED_CHARS {
        format!("{s:?}")
    } else {
        let head: String = s.chars().take(MAX_QUOTED_CHARS).collect();
        format!("{head:?}…")
    }
}

#[cfg(test)]
mod tests {
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
}
