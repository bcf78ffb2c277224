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

/// The JSON Schema of a snapshot body (`docs/snapshot.schema.json`), served by the HTTP surface
/// and checked against [`parse_snapshot`] by the tests.
pub const SNAPSHOT_SCHEMA_JSON: &str = include_str!("../../docs/snapshot.schema.json");

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

/// The largest snapshot taken, in bytes, wherever it comes in (the webhook answers 413 above it,
/// `pec access post` and the AWS function reject it; SPEC 6.2).
pub const MAX_SNAPSHOT_BYTES: usize = 5 * 1024 * 1024;

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
mod tests;
