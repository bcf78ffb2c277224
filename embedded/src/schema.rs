//! `pec.db`'s tables (format 2, `PRAGMA user_version = 2`), and the upgrade of a database that
//! a release before 2026-12 wrote (format 1: one JSON row per staged resource-day, per entry and
//! per head).
//!
//! Format 2 keeps each thing once: a resource's ids in `resources`, an entry's figures as
//! columns of `entries` beside a reference to its run and to its evidence (stored once in
//! `evidence`, by SHA-256), the head of each resource-day in `resource_days`, and usage in
//! blocks of one (upload, subscription, usage date, customer). README's "Inside pec.db" shows
//! how to read it with `sqlite3`; the view `ledger` has every entry as one row of text columns.

use crate::rows;
use pec_ledger::ledger::{Entry, Head};
use pec_ledger::store::{StoreError, StoreResult, UsageAggregate};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

/// The format this release writes.
pub const FORMAT: i64 = 2;

pub const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS uploads (
    upload_id   TEXT PRIMARY KEY,
    partner_id  TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    received_at TEXT NOT NULL,
    rows        INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS uploads_by_sha ON uploads (partner_id, sha256);

-- The resource-days of one upload for one (subscription, usage date, customer): `body` is a JSON
-- array with one element per (resource, currency, MpnId, Tier2MpnId) (rows.rs, `StoredUsage`;
-- a resource ID under the subscription is kept relative to `/subscriptions/{subscription_id}`).
CREATE TABLE IF NOT EXISTS usage_blocks (
    upload_id       TEXT NOT NULL,
    partner_id      TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    usage_date      TEXT NOT NULL,
    customer_id     TEXT NOT NULL,
    resource_days   INTEGER NOT NULL,
    body            TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS usage_blocks_by_key ON usage_blocks (upload_id, subscription_id, usage_date);

CREATE TABLE IF NOT EXISTS usage_current (
    partner_id      TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    usage_date      TEXT NOT NULL,
    customer_id     TEXT NOT NULL,
    upload_id       TEXT NOT NULL,
    PRIMARY KEY (partner_id, subscription_id, usage_date)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS usage_current_by_date ON usage_current (usage_date, partner_id, customer_id);
CREATE INDEX IF NOT EXISTS usage_current_by_customer ON usage_current (partner_id, customer_id, usage_date);

CREATE TABLE IF NOT EXISTS snapshots (
    partner_id  TEXT NOT NULL,
    snapshot_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    taken_at    TEXT NOT NULL,
    digest      TEXT NOT NULL,
    snapshot    TEXT NOT NULL,
    -- The body as received, deflate-compressed (RFC 1951).
    raw         BLOB NOT NULL,
    PRIMARY KEY (partner_id, snapshot_id)
);
CREATE INDEX IF NOT EXISTS snapshots_by_customer ON snapshots (partner_id, customer_id, taken_at);

-- One row per (partner, customer, subscription, resource, currency) ever settled.
CREATE TABLE IF NOT EXISTS resources (
    resource_ref    INTEGER PRIMARY KEY,
    partner_id      TEXT NOT NULL,
    customer_id     TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    resource_id     TEXT NOT NULL,
    currency        TEXT NOT NULL,
    UNIQUE (partner_id, customer_id, subscription_id, resource_id, currency)
);
CREATE INDEX IF NOT EXISTS resources_by_id ON resources (resource_id);

-- Settlement runs: the run id and postedAt of their entries.
CREATE TABLE IF NOT EXISTS runs (
    run_ref   INTEGER PRIMARY KEY,
    run_id    TEXT NOT NULL,
    posted_at TEXT NOT NULL,
    UNIQUE (run_id, posted_at)
);
CREATE INDEX IF NOT EXISTS runs_by_posting ON runs (posted_at);

-- Evidence (the ids of the assignments that gave a resource-day its access), stored once:
-- `digest` is the SHA-256 of `ids`, a JSON array.
CREATE TABLE IF NOT EXISTS evidence (
    digest BLOB PRIMARY KEY,
    ids    TEXT NOT NULL
) WITHOUT ROWID;

-- Digests (input_digest, prev_hash, hash) are their 32 bytes when SHA-256 hex, else text.
-- The ledger, keyed by usage date first: a night's entries land together at the end of the
-- table, so pages stay full. Amounts are exact decimal text. `format` 2: the columns are the entry; format 1:
-- `legacy_json` is the entry exactly as a release before 2026-12 stored it (kept when it did not
-- read back to the same hash; never the case for an untouched ledger).
CREATE TABLE IF NOT EXISTS entries (
    resource_ref         INTEGER NOT NULL REFERENCES resources,
    usage_date           TEXT NOT NULL,
    seq                  INTEGER NOT NULL,
    format               INTEGER NOT NULL,
    kind                 TEXT,
    status               TEXT,
    reason               TEXT,
    list_amount          TEXT,
    eligible_amount      TEXT,
    ineligible_amount    TEXT,
    earned_credit        TEXT,
    lost_credit          TEXT,
    microsoft_credit     TEXT,
    variance             TEXT,
    lost_by_reason       TEXT,
    ineligible_by_reason TEXT,
    rate                 TEXT,
    tier2_mpn_id         TEXT,
    evidence             BLOB,
    input_digest         BLOB,
    run_ref              INTEGER NOT NULL REFERENCES runs,
    prev_hash            BLOB,
    hash                 BLOB NOT NULL,
    legacy_json          TEXT,
    PRIMARY KEY (usage_date, resource_ref, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entries_by_run ON entries (run_ref);
CREATE TRIGGER IF NOT EXISTS entries_no_update BEFORE UPDATE ON entries
BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
CREATE TRIGGER IF NOT EXISTS entries_no_delete BEFORE DELETE ON entries
BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;

-- The head of each resource-day: the sum of its entries and the last one's seq and hash.
CREATE TABLE IF NOT EXISTS resource_days (
    resource_ref         INTEGER NOT NULL REFERENCES resources,
    usage_date           TEXT NOT NULL,
    seq                  INTEGER NOT NULL,
    hash                 BLOB NOT NULL,
    status               TEXT NOT NULL,
    reason               TEXT,
    list_amount          TEXT NOT NULL,
    eligible_amount      TEXT NOT NULL,
    ineligible_amount    TEXT NOT NULL,
    earned_credit        TEXT NOT NULL,
    lost_credit          TEXT NOT NULL,
    microsoft_credit     TEXT NOT NULL,
    variance             TEXT NOT NULL,
    lost_by_reason       TEXT,
    ineligible_by_reason TEXT,
    tier2_mpn_id         TEXT NOT NULL,
    PRIMARY KEY (usage_date, resource_ref)
) WITHOUT ROWID;

-- What the last settlement of each customer-date saw (incremental settlement): `version` is
-- bumped by every write to the date's ledger, `fingerprint` is empty when a write did not say.
CREATE TABLE IF NOT EXISTS settled_days (
    partner_id  TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    usage_date  TEXT NOT NULL,
    version     INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    PRIMARY KEY (partner_id, customer_id, usage_date)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS settled_days_by_date ON settled_days (usage_date, partner_id, customer_id);

-- Where replaying each customer's snapshots got to (a cache: settlement carries on from it
-- instead of replaying every snapshot, and starts over when a snapshot arrived out of order).
CREATE TABLE IF NOT EXISTS access_checkpoints (
    partner_id  TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    taken_at    TEXT NOT NULL,
    snapshot_id TEXT NOT NULL,
    snapshots   INTEGER NOT NULL,
    state       TEXT NOT NULL,
    PRIMARY KEY (partner_id, customer_id)
);

-- The names usage files give ids (kind: partner, customer, domain, subscription, reseller); the
-- newest upload's (by received_at) wins.
CREATE TABLE IF NOT EXISTS names (
    partner_id TEXT NOT NULL,
    kind       TEXT NOT NULL,
    id         TEXT NOT NULL,
    name       TEXT NOT NULL,
    named_at   TEXT NOT NULL,
    PRIMARY KEY (partner_id, kind, id)
) WITHOUT ROWID;

-- Access-lost alerts: each customer's watch (its newest snapshot and open alert, JSON), every
-- alert as its latest event has it, and the events kept until they are sent (an outbox).
CREATE TABLE IF NOT EXISTS alert_watches (
    partner_id         TEXT NOT NULL,
    customer_id        TEXT NOT NULL,
    newest_taken_at    TEXT NOT NULL,
    newest_snapshot_id TEXT NOT NULL,
    watch              TEXT NOT NULL,
    PRIMARY KEY (partner_id, customer_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS alerts (
    alert_id    TEXT PRIMARY KEY,
    partner_id  TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    taken_at    TEXT NOT NULL,
    alert       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_by_partner ON alerts (partner_id, taken_at);

CREATE TABLE IF NOT EXISTS alert_outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id   TEXT NOT NULL UNIQUE,
    partner_id TEXT NOT NULL,
    event      TEXT NOT NULL,
    sent_at    TEXT
);

CREATE TABLE IF NOT EXISTS alert_urls (
    partner_id TEXT PRIMARY KEY,
    url        TEXT NOT NULL,
    set_at     TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS webhook_secrets (
    partner_id TEXT NOT NULL,
    secret     TEXT NOT NULL,
    added_at   TEXT NOT NULL,
    revoked_at TEXT,
    PRIMARY KEY (partner_id, secret)
);

-- Releases before format 2 kept entries in a table `ledger_entries`, and create it when it is
-- missing: this view of the same name makes such a release fail when it opens the database
-- ("views may not be indexed") instead of taking it for an empty ledger.
CREATE VIEW IF NOT EXISTS ledger_entries AS
SELECT 'pec.db is format 2; entries are in the view ledger; this pec is older than the database' AS note;

CREATE VIEW IF NOT EXISTS ledger AS
SELECT r.partner_id, r.customer_id, r.subscription_id, r.resource_id, e.usage_date, r.currency,
       e.seq, e.kind, e.status, e.reason, e.list_amount, e.eligible_amount, e.ineligible_amount,
       e.earned_credit, e.lost_credit, e.microsoft_credit, e.variance, e.lost_by_reason,
       e.ineligible_by_reason, e.rate, e.tier2_mpn_id, v.ids AS evidence,
       CASE typeof(e.input_digest) WHEN 'blob' THEN lower(hex(e.input_digest)) ELSE e.input_digest END AS input_digest,
       u.run_id, u.posted_at,
       CASE typeof(e.prev_hash) WHEN 'blob' THEN lower(hex(e.prev_hash)) ELSE e.prev_hash END AS prev_hash,
       CASE typeof(e.hash) WHEN 'blob' THEN lower(hex(e.hash)) ELSE e.hash END AS hash, e.format
FROM entries e
JOIN resources r ON r.resource_ref = e.resource_ref
JOIN runs u ON u.run_ref = e.run_ref
LEFT JOIN evidence v ON v.digest = e.evidence;
"#;

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Creates the tables of a new database, or upgrades one of format 1 in place (one
/// transaction: killed half way, the database is as it was).
/// For a read-only opening: the database must already be this release's format (an upgrade
/// writes). Nothing is written.
pub fn check(conn: &Connection, path: &std::path::Path) -> StoreResult<()> {
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(backend)?;
    match version {
        v if v == FORMAT => Ok(()),
        v if v > FORMAT => Err(StoreError::Backend(format!(
            "{} is format {v}, written by a newer release of pec; this one reads format {FORMAT} and older",
            path.display()
        ))),
        v => Err(StoreError::Backend(format!(
            "{} is format {v} and cannot be written here: this release upgrades it to format \
             {FORMAT} when it opens it with write access (run `pec verify` once where the data \
             directory is writable, or on a writable copy)",
            path.display()
        ))),
    }
}

pub fn prepare(conn: &mut Connection) -> StoreResult<()> {
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(backend)?;
    if version > FORMAT {
        return Err(StoreError::Backend(format!(
            "pec.db is format {version}, written by a newer release of pec; this one reads format {FORMAT} and older"
        )));
    }
    if version == FORMAT {
        // Tables added within format 2 (all `IF NOT EXISTS`).
        return conn.execute_batch(SCHEMA).map_err(backend);
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(backend)?;
    let legacy: bool = tx
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'ledger_entries'",
            [],
            |_| Ok(true),
        )
        .optional()
        .map_err(backend)?
        .unwrap_or(false);
    tx.execute_batch(SCHEMA).map_err(backend)?;
    if legacy {
        upgrade_from_format_1(&tx)?;
    }
    tx.pragma_update(None, "user_version", FORMAT)
        .map_err(backend)?;
    tx.commit().map_err(backend)?;
    if legacy {
        // The old tables' pages are free now: give them back to the file system once. A
        // VACUUM that fails (no room for its copy) leaves the database as it is, upgraded.
        if let Err(e) = conn.execute_batch("VACUUM") {
            tracing::warn!(error = %e, "pec.db upgraded; VACUUM failed, its free pages stay in the file");
        }
    }
    Ok(())
}

/// Moves format 1's JSON rows into format 2's tables, then drops the old tables.
fn upgrade_from_format_1(tx: &rusqlite::Transaction<'_>) -> StoreResult<()> {
    tracing::info!("upgrading pec.db from format 1 to format 2");
    let mut writer = rows::Writer::new(tx)?;
    {
        let mut stmt = tx
            .prepare(
                "SELECT entry, hash, partner_id, customer_id, subscription_id, resource_id, usage_date, currency, seq \
                 FROM ledger_entries ORDER BY partner_id, customer_id, resource_id, usage_date, currency, seq",
            )
            .map_err(backend)?;
        let mut found = stmt.query([]).map_err(backend)?;
        while let Some(r) = found.next().map_err(backend)? {
            let json: String = r.get(0).map_err(backend)?;
            let hash: String = r.get(1).map_err(backend)?;
            let filed = rows::Filed {
                partner_id: r.get(2).map_err(backend)?,
                customer_id: r.get(3).map_err(backend)?,
                subscription_id: r.get(4).map_err(backend)?,
                resource_id: r.get(5).map_err(backend)?,
                usage_date: r.get(6).map_err(backend)?,
                currency: r.get(7).map_err(backend)?,
                seq: r.get(8).map_err(backend)?,
            };
            // An entry moves into columns only if it reads back to exactly its hash; otherwise
            // (changed behind the ledger's back) it is kept verbatim for `verify` to report.
            let parsed: Option<Entry> = serde_json::from_str::<Entry>(&json).ok().map(|mut e| {
                e.hash = hash.clone();
                e
            });
            match parsed {
                Some(e) if rows::fits_columns(&e, &json) && rows::is_filed_as(&e, &filed) => {
                    writer.put_entry(&e)?;
                }
                _ => writer.put_legacy_entry(&filed, &json, &hash)?,
            }
        }
    }
    {
        let mut stmt = tx
            .prepare("SELECT head FROM ledger_heads")
            .map_err(backend)?;
        let mut found = stmt.query([]).map_err(backend)?;
        while let Some(r) = found.next().map_err(backend)? {
            let json: String = r.get(0).map_err(backend)?;
            let head: Head = serde_json::from_str(&json)
                .map_err(|e| StoreError::Corrupt(format!("a format 1 head does not read: {e}")))?;
            writer.put_head(&head)?;
            writer.touch_day(
                &head.key.partner_id,
                &head.key.customer_id,
                head.key.usage_date,
            )?;
        }
    }
    {
        // Staged usage: grouped into blocks of (upload, subscription, date, customer).
        let mut stmt = tx
            .prepare("SELECT upload_id, row_json FROM usage_staged ORDER BY upload_id, subscription_id, usage_date, customer_id, rowid")
            .map_err(backend)?;
        let mut found = stmt.query([]).map_err(backend)?;
        let mut pending: Vec<UsageAggregate> = Vec::new();
        let mut current_upload = String::new();
        while let Some(r) = found.next().map_err(backend)? {
            let upload: String = r.get(0).map_err(backend)?;
            let json: String = r.get(1).map_err(backend)?;
            let row: UsageAggregate = serde_json::from_str(&json).map_err(|e| {
                StoreError::Corrupt(format!("a format 1 usage row does not read: {e}"))
            })?;
            if upload != current_upload || pending.len() >= 10_000 {
                rows::put_usage(tx, &current_upload, &std::mem::take(&mut pending))?;
                current_upload = upload;
            }
            pending.push(row);
        }
        rows::put_usage(tx, &current_upload, &pending)?;
    }
    {
        // Raw snapshot bodies are kept compressed.
        let mut stmt = tx
            .prepare("SELECT rowid, raw FROM snapshots")
            .map_err(backend)?;
        let mut found = stmt.query([]).map_err(backend)?;
        let mut update = tx
            .prepare("UPDATE snapshots SET raw = ?2 WHERE rowid = ?1")
            .map_err(backend)?;
        while let Some(r) = found.next().map_err(backend)? {
            let rowid: i64 = r.get(0).map_err(backend)?;
            let raw: Vec<u8> = r.get(1).map_err(backend)?;
            update
                .execute(rusqlite::params![rowid, rows::deflate(&raw)?])
                .map_err(backend)?;
        }
    }
    tx.execute_batch(
        "DROP TABLE ledger_entries; DROP TABLE ledger_heads; DROP TABLE usage_staged;",
    )
    .map_err(backend)?;
    // The guard view of SCHEMA could not be made while the old table had its name.
    tx.execute_batch(SCHEMA).map_err(backend)?;
    Ok(())
}
