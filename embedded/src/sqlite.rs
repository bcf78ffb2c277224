//! The embedded store: one SQLite file (`pec.db`) in the data directory, in WAL mode with full
//! sync, so that a process killed at any point leaves a consistent database. Ledger entries are
//! protected by triggers that refuse UPDATE and DELETE.
//!
//! Open it with the `sqlite3` shell to look around: `ledger_entries.entry` holds each entry as
//! JSON (`json_extract(entry, '$.figures.earnedCredit')`).

use chrono::{DateTime, NaiveDate, Utc};
use pec_ledger::ledger::{Entry, Head};
use pec_ledger::snapshot::Snapshot;
use pec_ledger::store::*;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS uploads (
    upload_id   TEXT PRIMARY KEY,
    partner_id  TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    received_at TEXT NOT NULL,
    rows        INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS uploads_by_sha ON uploads (partner_id, sha256);

CREATE TABLE IF NOT EXISTS usage_staged (
    upload_id       TEXT NOT NULL,
    partner_id      TEXT NOT NULL,
    customer_id     TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    usage_date      TEXT NOT NULL,
    resource_id     TEXT NOT NULL,
    currency        TEXT NOT NULL,
    row_json        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS usage_staged_by_key ON usage_staged (upload_id, subscription_id, usage_date);

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
    raw         BLOB NOT NULL,
    PRIMARY KEY (partner_id, snapshot_id)
);
CREATE INDEX IF NOT EXISTS snapshots_by_customer ON snapshots (partner_id, customer_id, taken_at);

CREATE TABLE IF NOT EXISTS ledger_entries (
    partner_id      TEXT NOT NULL,
    customer_id     TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    resource_id     TEXT NOT NULL,
    usage_date      TEXT NOT NULL,
    currency        TEXT NOT NULL,
    seq             INTEGER NOT NULL,
    kind            TEXT NOT NULL,
    posted_at       TEXT NOT NULL,
    hash            TEXT NOT NULL,
    entry           TEXT NOT NULL,
    PRIMARY KEY (partner_id, customer_id, resource_id, usage_date, currency, seq)
);
CREATE INDEX IF NOT EXISTS ledger_entries_by_date ON ledger_entries (partner_id, usage_date);
CREATE INDEX IF NOT EXISTS ledger_entries_by_posting ON ledger_entries (partner_id, posted_at);
CREATE TRIGGER IF NOT EXISTS ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
CREATE TRIGGER IF NOT EXISTS ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;

CREATE TABLE IF NOT EXISTS ledger_heads (
    partner_id      TEXT NOT NULL,
    customer_id     TEXT NOT NULL,
    resource_id     TEXT NOT NULL,
    usage_date      TEXT NOT NULL,
    currency        TEXT NOT NULL,
    seq             INTEGER NOT NULL,
    hash            TEXT NOT NULL,
    head            TEXT NOT NULL,
    PRIMARY KEY (partner_id, customer_id, resource_id, usage_date, currency)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ledger_heads_by_date ON ledger_heads (usage_date, partner_id, customer_id);

CREATE TABLE IF NOT EXISTS webhook_secrets (
    partner_id TEXT NOT NULL,
    secret     TEXT NOT NULL,
    added_at   TEXT NOT NULL,
    revoked_at TEXT,
    PRIMARY KEY (partner_id, secret)
);
"#;

/// The embedded, on-disk store.
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

impl SqliteStore {
    /// Opens (creating if needed) `pec.db` in `dir`.
    pub fn open_dir(dir: &Path) -> StoreResult<SqliteStore> {
        std::fs::create_dir_all(dir)
            .map_err(|e| backend(format!("cannot create {}: {e}", dir.display())))?;
        Self::open(&dir.join("pec.db"))
    }

    pub fn open(path: &Path) -> StoreResult<SqliteStore> {
        let conn = Connection::open(path)
            .map_err(|e| backend(format!("cannot open {}: {e}", path.display())))?;
        conn.busy_timeout(Duration::from_secs(60))
            .map_err(backend)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(backend)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(backend)?;
        conn.pragma_update(None, "cache_size", -8192)
            .map_err(backend)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(backend)?;
        conn.execute_batch(SCHEMA).map_err(backend)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
        })
    }

    /// Sets SQLite's page cache. 8 MiB by default (ingestion streams in bounded memory);
    /// settlement, which reads indexes scattered over the file, runs faster with 32–64 MiB.
    pub fn set_cache_mib(&self, mib: u32) -> StoreResult<()> {
        self.conn()?
            .pragma_update(None, "cache_size", -i64::from(mib) * 1024)
            .map_err(backend)
    }

    fn conn(&self) -> StoreResult<MutexGuard<'_, Connection>> {
        self.conn.lock().map_err(|_| backend("store lock poisoned"))
    }
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(corrupt)
}

/// The columns of a stored entry: its canonical JSON, its hash, and where it is filed.
const ENTRY_COLUMNS: &str =
    "entry, hash, partner_id || ' ' || customer_id || ' ' || resource_id || ' ' || usage_date || ' ' || currency, seq";

type EntryRow = (String, String, String, u32);

fn entry_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<EntryRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

/// An entry as stored: its canonical JSON and, beside it, its hash.
fn entry_from_row((json, hash, resource_day, seq): EntryRow) -> StoreResult<Entry> {
    let mut e: Entry = serde_json::from_str(&json).map_err(|e| StoreError::UnreadableEntry {
        resource_day,
        seq,
        message: e.to_string(),
    })?;
    e.hash = hash;
    Ok(e)
}

fn to_json<T: Serialize>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(backend)
}

impl UsageStore for SqliteStore {
    fn accepted_upload_by_sha(
        &self,
        partner_id: &str,
        sha256: &str,
    ) -> StoreResult<Option<String>> {
        self.conn()?
            .query_row(
                "SELECT upload_id FROM uploads WHERE partner_id = ?1 AND sha256 = ?2",
                params![partner_id, sha256],
                |r| r.get(0),
            )
            .optional()
            .map_err(backend)
    }

    fn stage_usage(&self, upload_id: &str, rows: &[UsageAggregate]) -> StoreResult<()> {
        let mut conn = self.conn()?;
        let tx = conn.transaction().map_err(backend)?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO usage_staged (upload_id, partner_id, customer_id, subscription_id, usage_date, \
                     resource_id, currency, row_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .map_err(backend)?;
            for r in rows {
                stmt.execute(params![
                    upload_id,
                    r.key.partner_id,
                    r.key.customer_id,
                    r.key.subscription_id,
                    day(r.key.usage_date),
                    r.key.resource_id,
                    r.key.currency,
                    to_json(r)?,
                ])
                .map_err(backend)?;
            }
        }
        tx.commit().map_err(backend)
    }

    fn commit_upload(
        &self,
        upload: &UploadRecord,
        keys: &[UsageKey],
    ) -> StoreResult<CommitOutcome> {
        let mut conn = self.conn()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        let existing: Option<String> = tx
            .query_row(
                "SELECT upload_id FROM uploads WHERE partner_id = ?1 AND sha256 = ?2",
                params![upload.partner_id, upload.sha256],
                |r| r.get(0),
            )
            .optional()
            .map_err(backend)?;
        if let Some(id) = existing {
            return Ok(CommitOutcome::Duplicate(id));
        }
        tx.execute(
            "INSERT INTO uploads (upload_id, partner_id, sha256, file_name, received_at, rows) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![upload.upload_id, upload.partner_id, upload.sha256, upload.file_name, ts(upload.received_at), upload.rows as i64],
        )
        .map_err(backend)?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO usage_current (partner_id, subscription_id, usage_date, customer_id, upload_id) \
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (partner_id, subscription_id, usage_date) \
                     DO UPDATE SET customer_id = excluded.customer_id, upload_id = excluded.upload_id",
                )
                .map_err(backend)?;
            for k in keys {
                stmt.execute(params![
                    upload.partner_id,
                    k.subscription_id,
                    day(k.usage_date),
                    k.customer_id,
                    upload.upload_id
                ])
                .map_err(backend)?;
            }
        }
        tx.commit().map_err(backend)?;
        Ok(CommitOutcome::Accepted)
    }

    fn discard_upload(&self, upload_id: &str) -> StoreResult<()> {
        self.conn()?
            .execute(
                "DELETE FROM usage_staged WHERE upload_id = ?1",
                params![upload_id],
            )
            .map(|_| ())
            .map_err(backend)
    }

    fn customers_in_range(
        &self,
        from: NaiveDate,
        through: NaiveDate,
    ) -> StoreResult<Vec<(String, String)>> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare(
                "SELECT partner_id, customer_id FROM usage_current WHERE usage_date BETWEEN ?1 AND ?2 \
                 UNION SELECT partner_id, customer_id FROM ledger_heads WHERE usage_date BETWEEN ?1 AND ?2 \
                 ORDER BY 1, 2",
            )
            .map_err(backend)?;
        let rows = stmt
            .query_map(params![day(from), day(through)], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map_err(backend)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(backend)
    }

    fn current_usage(
        &self,
        partner_id: &str,
        customer_id: &str,
        date: NaiveDate,
    ) -> StoreResult<Vec<UsageAggregate>> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT s.row_json FROM usage_current c JOIN usage_staged s \
                 ON s.upload_id = c.upload_id AND s.subscription_id = c.subscription_id AND s.usage_date = c.usage_date \
                 WHERE c.partner_id = ?1 AND c.customer_id = ?2 AND c.usage_date = ?3 AND s.partner_id = ?1",
            )
            .map_err(backend)?;
        let rows = stmt
            .query_map(params![partner_id, customer_id, day(date)], |r| {
                r.get::<_, String>(0)
            })
            .map_err(backend)?;
        let mut out = Vec::new();
        for row in rows {
            out.push(from_json(&row.map_err(backend)?)?);
        }
        Ok(out)
    }
}

impl SnapshotStore for SqliteStore {
    fn put_snapshot(
        &self,
        snapshot: &Snapshot,
        digest: &str,
        raw: &[u8],
    ) -> StoreResult<PutSnapshotOutcome> {
        let mut conn = self.conn()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        let existing: Option<String> = tx
            .query_row(
                "SELECT digest FROM snapshots WHERE partner_id = ?1 AND snapshot_id = ?2",
                params![snapshot.partner_id, snapshot.snapshot_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(backend)?;
        let outcome = match existing {
            Some(d) if d == digest => PutSnapshotOutcome::Duplicate,
            Some(_) => PutSnapshotOutcome::Conflict,
            None => {
                tx.execute(
                    "INSERT INTO snapshots (partner_id, snapshot_id, customer_id, taken_at, digest, snapshot, raw) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        snapshot.partner_id,
                        snapshot.snapshot_id,
                        snapshot.customer_id,
                        ts(snapshot.taken_at),
                        digest,
                        to_json(snapshot)?,
                        raw
                    ],
                )
                .map_err(backend)?;
                PutSnapshotOutcome::Stored
            }
        };
        tx.commit().map_err(backend)?;
        Ok(outcome)
    }

    fn for_each_snapshot(
        &self,
        partner_id: &str,
        customer_id: &str,
        visit: &mut dyn FnMut(Snapshot) -> StoreResult<()>,
    ) -> StoreResult<()> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT snapshot FROM snapshots WHERE partner_id = ?1 AND customer_id = ?2 ORDER BY taken_at, snapshot_id",
            )
            .map_err(backend)?;
        let rows = stmt
            .query_map(params![partner_id, customer_id], |r| r.get::<_, String>(0))
            .map_err(backend)?;
        for row in rows {
            visit(from_json(&row.map_err(backend)?)?)?;
        }
        Ok(())
    }
}

impl LedgerStore for SqliteStore {
    fn heads(
        &self,
        partner_id: &str,
        customer_id: &str,
        date: NaiveDate,
    ) -> StoreResult<Vec<Head>> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare_cached("SELECT head FROM ledger_heads WHERE usage_date = ?3 AND partner_id = ?1 AND customer_id = ?2")
            .map_err(backend)?;
        let rows = stmt
            .query_map(params![partner_id, customer_id, day(date)], |r| {
                r.get::<_, String>(0)
            })
            .map_err(backend)?;
        let mut out = Vec::new();
        for row in rows {
            out.push(from_json(&row.map_err(backend)?)?);
        }
        Ok(out)
    }

    fn append(&self, batch: &[Append]) -> StoreResult<AppendOutcome> {
        let mut conn = self.conn()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        {
            let mut get_head = tx
                .prepare_cached(
                    "SELECT seq, hash FROM ledger_heads WHERE partner_id = ?1 AND customer_id = ?2 \
                     AND resource_id = ?3 AND usage_date = ?4 AND currency = ?5",
                )
                .map_err(backend)?;
            let mut put_entry = tx
                .prepare_cached(
                    "INSERT INTO ledger_entries (partner_id, customer_id, subscription_id, resource_id, usage_date, \
                     currency, seq, kind, posted_at, hash, entry) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                )
                .map_err(backend)?;
            let mut put_head = tx
                .prepare_cached(
                    "INSERT INTO ledger_heads (partner_id, customer_id, resource_id, usage_date, currency, seq, hash, head) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
                     ON CONFLICT (partner_id, customer_id, resource_id, usage_date, currency) \
                     DO UPDATE SET seq = excluded.seq, hash = excluded.hash, head = excluded.head",
                )
                .map_err(backend)?;
            for Append {
                entry: e,
                head: new_head,
            } in batch
            {
                let k = &e.key;
                let d = day(k.usage_date);
                let stored: Option<(u32, String)> = get_head
                    .query_row(
                        params![k.partner_id, k.customer_id, k.resource_id, d, k.currency],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()
                    .map_err(backend)?;
                let chains = match &stored {
                    None => e.seq == 0 && e.prev_hash.is_empty(),
                    Some((seq, hash)) => e.seq == seq + 1 && &e.prev_hash == hash,
                };
                if !chains || new_head.seq != e.seq || new_head.hash != e.hash || new_head.key != *k
                {
                    // Dropping the transaction rolls it back: nothing of this batch is written.
                    return Ok(AppendOutcome::Conflict);
                }
                put_entry
                    .execute(params![
                        k.partner_id,
                        k.customer_id,
                        k.subscription_id,
                        k.resource_id,
                        d,
                        k.currency,
                        e.seq,
                        e.kind.code(),
                        ts(e.posted_at),
                        e.hash,
                        e.canonical_json()
                    ])
                    .map_err(backend)?;
                put_head
                    .execute(params![
                        k.partner_id,
                        k.customer_id,
                        k.resource_id,
                        d,
                        k.currency,
                        e.seq,
                        e.hash,
                        to_json(new_head)?
                    ])
                    .map_err(backend)?;
            }
        }
        tx.commit().map_err(backend)?;
        Ok(AppendOutcome::Appended)
    }

    fn for_each_entry(
        &self,
        filter: &EntryFilter,
        visit: &mut dyn FnMut(Entry) -> StoreResult<()>,
    ) -> StoreResult<()> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare_cached(
                &format!("SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE (?1 IS NULL OR partner_id = ?1) AND (?2 IS NULL OR resource_id = ?2) \
                 AND (?3 IS NULL OR usage_date >= ?3) AND (?4 IS NULL OR usage_date <= ?4) AND (?5 IS NULL OR posted_at <= ?5) \
                 ORDER BY partner_id, customer_id, resource_id, usage_date, currency, seq"),
            )
            .map_err(backend)?;
        let rows = stmt
            .query_map(
                params![
                    filter.partner_id,
                    filter.resource_id,
                    filter.usage_from.map(day),
                    filter.usage_through.map(day),
                    filter.posted_through.map(ts)
                ],
                entry_row,
            )
            .map_err(backend)?;
        for row in rows {
            visit(entry_from_row(row.map_err(backend)?)?)?;
        }
        Ok(())
    }

    fn for_each_entry_posted(
        &self,
        partner_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        visit: &mut dyn FnMut(Entry) -> StoreResult<()>,
    ) -> StoreResult<()> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare_cached(
                &format!("SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE partner_id = ?1 AND posted_at >= ?2 AND posted_at < ?3 \
                 ORDER BY posted_at, customer_id, resource_id, usage_date, currency, seq"),
            )
            .map_err(backend)?;
        let rows = stmt
            .query_map(params![partner_id, ts(from), ts(to)], entry_row)
            .map_err(backend)?;
        for row in rows {
            visit(entry_from_row(row.map_err(backend)?)?)?;
        }
        Ok(())
    }

    fn for_each_head(&self, visit: &mut dyn FnMut(Head) -> StoreResult<()>) -> StoreResult<()> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare("SELECT head FROM ledger_heads ORDER BY partner_id, customer_id, resource_id, usage_date, currency")
            .map_err(backend)?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(backend)?;
        for row in rows {
            visit(from_json(&row.map_err(backend)?)?)?;
        }
        Ok(())
    }
}

impl PartnerStore for SqliteStore {
    fn add_secret(&self, partner_id: &str, secret: &WebhookSecret) -> StoreResult<()> {
        self.conn()?
            .execute(
                "INSERT INTO webhook_secrets (partner_id, secret, added_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (partner_id, secret) DO UPDATE SET revoked_at = NULL",
                params![partner_id, secret.secret, ts(secret.added_at)],
            )
            .map(|_| ())
            .map_err(backend)
    }

    fn revoke_secret(&self, partner_id: &str, secret: &str) -> StoreResult<bool> {
        let n = self
            .conn()?
            .execute(
                "UPDATE webhook_secrets SET revoked_at = ?3 WHERE partner_id = ?1 AND secret = ?2 AND revoked_at IS NULL",
                params![partner_id, secret, ts(Utc::now())],
            )
            .map_err(backend)?;
        Ok(n > 0)
    }

    fn active_secrets(&self, partner_id: &str) -> StoreResult<Vec<WebhookSecret>> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT secret, added_at FROM webhook_secrets WHERE partner_id = ?1 AND revoked_at IS NULL ORDER BY added_at",
            )
            .map_err(backend)?;
        let rows = stmt
            .query_map(params![partner_id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(backend)?;
        let mut out = Vec::new();
        for row in rows {
            let (secret, added) = row.map_err(backend)?;
            let added_at = DateTime::parse_from_rfc3339(&added)
                .map_err(corrupt)?
                .with_timezone(&Utc);
            out.push(WebhookSecret { secret, added_at });
        }
        Ok(out)
    }
}
