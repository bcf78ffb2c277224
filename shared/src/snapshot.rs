//! Access snapshots (SPEC 3.2): parsing and schema validation with a JSON path per problem.
//!
//! INTERFACE STUB — the implementation replaces the bodies, keeping the signatures.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AccessType {
    Aobo,
    Lighthouse,
    Direct,
    Gdap,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AssignmentType {
    Permanent,
    Eligible,
    Activated,
}

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

/// Parses and validates a snapshot body. `now` is the clock for the 5-minute future check.
pub fn parse_snapshot(body: &[u8], now: DateTime<Utc>) -> Result<Snapshot, Vec<PathError>> {
    let _ = (body, now);
    unimplemented!("snapshot parser")
}

impl Snapshot {
    /// SHA-256 (hex) of the snapshot's normalised content, so that the same snapshot sent twice
    /// (whatever its whitespace or key order) is recognised as a duplicate.
    pub fn content_digest(&self) -> String {
        unimplemented!("digest")
    }
}
