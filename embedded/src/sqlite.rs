//! The embedded store: one SQLite file (`pec.db`) in the data directory, in WAL mode with full
//! sync, so that a process killed at any point leaves a consistent database. Ledger entries are
//! protected by triggers that refuse UPDATE and DELETE.
//!
//! The tables are in `schema.rs` (format 2), the row layouts in `rows.rs`. Open it with the
//! `sqlite3` shell to look around: the view `ledger` has one row per entry with its figures as
//! columns (`SELECT usage_date, earned_credit FROM ledger WHERE resource_id LIKE '%vm1'`).

use crate::rows::{self, day, entry_from_row, head_from_row, parse_day, Writer};
use crate::schema;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use pec_ledger::alerts::{Alert, AlertEvent, SnapshotPosition, Watch};
use pec_ledger::ledger::{Entry, Head};
use pec_ledger::names::{NameKind, Names};
use pec_ledger::snapshot::Snapshot;
use pec_ledger::store::*;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;
use std::collections::HashSet;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

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
        let mut conn = conn;
        schema::prepare(&mut conn)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
        })
    }

    /// Opens `DIR/pec.db` without writing anything, for the read commands on a data directory
    /// that cannot be written (an auditor's read-only copy): SQLite's read-only mode, or, where
    /// even its shared-memory file cannot be made, the file as immutable. The database must be
    /// this release's format.
    pub fn open_read_only(dir: &Path) -> StoreResult<SqliteStore> {
        use rusqlite::OpenFlags;
        let path = dir.join("pec.db");
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let uri = |query: &str| {
            let mut p = String::from("file:");
            for c in path.to_string_lossy().chars() {
                match c {
                    '?' => p.push_str("%3f"),
                    '#' => p.push_str("%23"),
                    '%' => p.push_str("%25"),
                    c => p.push(c),
                }
            }
            format!("{p}?{query}")
        };
        let usable = |conn: Connection| -> StoreResult<Connection> {
            schema::check(&conn, &path)?;
            Ok(conn)
        };
        let conn = match Connection::open_with_flags(uri("mode=ro"), flags)
            .map_err(backend)
            .and_then(usable)
        {
            Ok(c) => c,
            Err(first) => Connection::open_with_flags(uri("mode=ro&immutable=1"), flags)
                .map_err(backend)
                .and_then(usable)
                .map_err(|_| {
                    backend(format!("cannot open {} read-only: {first}", path.display()))
                })?,
        };
        conn.busy_timeout(Duration::from_secs(60))
            .map_err(backend)?;
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
        rows::put_usage(&tx, upload_id, rows)?;
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
        if !upload.names.is_empty() {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO names (partner_id, kind, id, name, named_at) VALUES (?1, ?2, ?3, ?4, ?5) \
                     ON CONFLICT (partner_id, kind, id) DO UPDATE SET name = excluded.name, \
                     named_at = excluded.named_at WHERE excluded.named_at >= names.named_at",
                )
                .map_err(backend)?;
            let at = ts(upload.received_at);
            for (kind, id, name) in upload.names.rows() {
                stmt.execute(params![upload.partner_id, kind.code(), id, name, at])
                    .map_err(backend)?;
            }
        }
        tx.commit().map_err(backend)?;
        Ok(CommitOutcome::Accepted)
    }

    fn names(&self, partner_id: &str) -> StoreResult<Names> {
        let conn = self.conn()?;
        let mut names = Names::default();
        if !has_table(&conn, "names")? {
            return Ok(names);
        }
        let mut stmt = conn
            .prepare_cached("SELECT kind, id, name FROM names WHERE partner_id = ?1")
            .map_err(backend)?;
        let mut rows = stmt.query(params![partner_id]).map_err(backend)?;
        while let Some(r) = rows.next().map_err(backend)? {
            let kind: String = r.get(0).map_err(backend)?;
            let id: String = r.get(1).map_err(backend)?;
            let name: String = r.get(2).map_err(backend)?;
            if let Some(kind) = NameKind::from_code(&kind) {
                names.set(kind, &id, &name);
            }
        }
        Ok(names)
    }

    fn discard_upload(&self, upload_id: &str) -> StoreResult<()> {
        self.conn()?
            .execute(
                "DELETE FROM usage_blocks WHERE upload_id = ?1",
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
                 UNION SELECT partner_id, customer_id FROM settled_days WHERE usage_date BETWEEN ?1 AND ?2 \
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
                "SELECT b.subscription_id, b.customer_id, b.body \
                 FROM usage_current c INDEXED BY usage_current_by_customer JOIN usage_blocks b \
                 ON b.upload_id = c.upload_id AND b.subscription_id = c.subscription_id AND b.usage_date = c.usage_date \
                 WHERE c.partner_id = ?1 AND c.customer_id = ?2 AND c.usage_date = ?3 AND b.partner_id = ?1",
            )
            .map_err(backend)?;
        let mut found = stmt
            .query(params![partner_id, customer_id, day(date)])
            .map_err(backend)?;
        let mut out = Vec::new();
        while let Some(r) = found.next().map_err(backend)? {
            let subscription: String = r.get(0).map_err(backend)?;
            let customer: String = r.get(1).map_err(backend)?;
            let body: String = r.get(2).map_err(backend)?;
            out.extend(rows::usage_from_block(
                partner_id,
                &subscription,
                date,
                &customer,
                &body,
            )?);
        }
        Ok(out)
    }

    fn usage_sources(
        &self,
        partner_id: &str,
        customer_id: &str,
        from: NaiveDate,
        through: NaiveDate,
    ) -> StoreResult<Option<Vec<UsageSource>>> {
        self.customer_dates(
            "SELECT usage_date, subscription_id, upload_id FROM usage_current \
             WHERE partner_id = ?1 AND customer_id = ?2 AND usage_date BETWEEN ?3 AND ?4 ORDER BY usage_date",
            (partner_id, customer_id, from, through),
            |r, usage_date| {
                Ok(UsageSource {
                    usage_date,
                    subscription_id: r.get(1).map_err(backend)?,
                    upload_id: r.get(2).map_err(backend)?,
                })
            },
        )
        .map(Some)
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
        let outcome = insert_snapshot(&tx, snapshot, digest, raw)?;
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

    fn for_each_snapshot_after(
        &self,
        partner_id: &str,
        customer_id: &str,
        (taken_at, snapshot_id): (DateTime<Utc>, &str),
        before: u64,
        visit: &mut dyn FnMut(Snapshot) -> StoreResult<()>,
    ) -> StoreResult<bool> {
        let conn = self.conn()?;
        let at = ts(taken_at);
        let counted: i64 = conn
            .prepare_cached(
                "SELECT count(*) FROM snapshots WHERE partner_id = ?1 AND customer_id = ?2 \
                 AND (taken_at < ?3 OR (taken_at = ?3 AND snapshot_id <= ?4))",
            )
            .map_err(backend)?
            .query_row(params![partner_id, customer_id, at, snapshot_id], |r| {
                r.get(0)
            })
            .map_err(backend)?;
        if counted as u64 != before {
            return Ok(false);
        }
        let mut stmt = conn
            .prepare_cached(
                "SELECT snapshot FROM snapshots WHERE partner_id = ?1 AND customer_id = ?2 \
                 AND (taken_at > ?3 OR (taken_at = ?3 AND snapshot_id > ?4)) ORDER BY taken_at, snapshot_id",
            )
            .map_err(backend)?;
        let rows = stmt
            .query_map(params![partner_id, customer_id, at, snapshot_id], |r| {
                r.get::<_, String>(0)
            })
            .map_err(backend)?;
        for row in rows {
            visit(from_json(&row.map_err(backend)?)?)?;
        }
        Ok(true)
    }

    fn access_checkpoint(
        &self,
        partner_id: &str,
        customer_id: &str,
    ) -> StoreResult<Option<AccessCheckpoint>> {
        let conn = self.conn()?;
        let found: Option<(String, String, i64, String)> = conn
            .prepare_cached(
                "SELECT taken_at, snapshot_id, snapshots, state FROM access_checkpoints \
                 WHERE partner_id = ?1 AND customer_id = ?2",
            )
            .map_err(backend)?
            .query_row(params![partner_id, customer_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()
            .map_err(backend)?;
        let Some((taken_at, snapshot_id, snapshots, state)) = found else {
            return Ok(None);
        };
        Ok(Some(AccessCheckpoint {
            partner_id: partner_id.to_string(),
            customer_id: customer_id.to_string(),
            taken_at: rows::parse_ts(&taken_at)?,
            snapshot_id,
            snapshots: snapshots as u64,
            state,
        }))
    }

    fn put_access_checkpoints(&self, checkpoints: &[AccessCheckpoint]) -> StoreResult<()> {
        let mut conn = self.conn()?;
        let tx = conn.transaction().map_err(backend)?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO access_checkpoints (partner_id, customer_id, taken_at, snapshot_id, snapshots, state) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (partner_id, customer_id) DO UPDATE SET \
                     taken_at = excluded.taken_at, snapshot_id = excluded.snapshot_id, \
                     snapshots = excluded.snapshots, state = excluded.state",
                )
                .map_err(backend)?;
            for c in checkpoints {
                stmt.execute(params![
                    c.partner_id,
                    c.customer_id,
                    rows::exact_ts(c.taken_at),
                    c.snapshot_id,
                    c.snapshots as i64,
                    c.state
                ])
                .map_err(backend)?;
            }
        }
        tx.commit().map_err(backend)
    }
}

impl SqliteStore {
    /// The rows of `sql` (parameters: partner, customer, first and last date; the date first
    /// among its columns) for one customer's dates.
    fn customer_dates<T>(
        &self,
        sql: &str,
        (partner, customer, from, through): (&str, &str, NaiveDate, NaiveDate),
        row: impl Fn(&rusqlite::Row<'_>, NaiveDate) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(sql).map_err(backend)?;
        let mut found = stmt
            .query(params![partner, customer, day(from), day(through)])
            .map_err(backend)?;
        let mut out = Vec::new();
        while let Some(r) = found.next().map_err(backend)? {
            let date = parse_day(&r.get::<_, String>(0).map_err(backend)?)?;
            out.push(row(r, date)?);
        }
        Ok(out)
    }

    /// Appends `batch` and sets `marks` in one transaction (see [`LedgerStore::append_marked`]).
    fn write_ledger(&self, batch: &[Append], marks: &[MarkUpdate]) -> StoreResult<AppendOutcome> {
        let mut conn = self.conn()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        {
            let mut w = Writer::new(&tx)?;
            let mut marked = HashSet::new();
            for m in marks {
                if !w.set_mark(
                    &m.partner_id,
                    &m.customer_id,
                    m.usage_date,
                    m.expected_version,
                    &m.fingerprint,
                )? {
                    // Dropping the transaction rolls it back: nothing of this batch is written.
                    return Ok(AppendOutcome::Conflict);
                }
                marked.insert((m.partner_id.as_str(), m.customer_id.as_str(), m.usage_date));
            }
            let mut touched = HashSet::new();
            for Append {
                entry: e,
                head: new_head,
            } in batch
            {
                let k = &e.key;
                let stored = w.head_of(k)?;
                let chains = match &stored {
                    None => e.seq == 0 && e.prev_hash.is_empty(),
                    Some((seq, hash)) => e.seq == seq + 1 && &e.prev_hash == hash,
                };
                if !chains || new_head.seq != e.seq || new_head.hash != e.hash || new_head.key != *k
                {
                    return Ok(AppendOutcome::Conflict);
                }
                let previous = match e.seq.checked_sub(1) {
                    Some(seq) => w.posted_at_of(k, seq)?,
                    None => None,
                };
                if let Some(previous) = previous {
                    if e.posted_at < previous {
                        return Err(StoreError::Backend(format!(
                            "entry {} of {k} would be posted at {} before entry {} (posted at {}): a \
                             chain's postings never go backwards; settle with a later --now",
                            e.seq,
                            rows::exact_ts(e.posted_at),
                            e.seq - 1,
                            rows::exact_ts(previous)
                        )));
                    }
                }
                w.put_entry(e)?;
                w.put_head(new_head)?;
                let day_key = (k.partner_id.as_str(), k.customer_id.as_str(), k.usage_date);
                if !marked.contains(&day_key) && touched.insert(day_key) {
                    w.touch_day(&k.partner_id, &k.customer_id, k.usage_date)?;
                }
            }
        }
        tx.commit().map_err(backend)?;
        Ok(AppendOutcome::Appended)
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
            .prepare_cached(&format!(
                "{} WHERE r.partner_id = ?1 AND r.customer_id = ?2 AND h.usage_date = ?3",
                rows::HEAD_SELECT
            ))
            .map_err(backend)?;
        let mut found = stmt
            .query(params![partner_id, customer_id, day(date)])
            .map_err(backend)?;
        let mut out = Vec::new();
        while let Some(r) = found.next().map_err(backend)? {
            out.push(head_from_row(r)?);
        }
        Ok(out)
    }

    fn append(&self, batch: &[Append]) -> StoreResult<AppendOutcome> {
        self.write_ledger(batch, &[])
    }

    fn latest_posting(&self) -> StoreResult<Option<DateTime<Utc>>> {
        let latest: Option<String> = self
            .conn()?
            .query_row(
                "SELECT max(u.posted_at) FROM runs u WHERE EXISTS (SELECT 1 FROM entries e WHERE e.run_ref = u.run_ref)",
                [],
                |r| r.get(0),
            )
            .map_err(backend)?;
        latest.map(|t| rows::parse_ts(&t)).transpose()
    }

    fn append_marked(&self, batch: &[Append], marks: &[MarkUpdate]) -> StoreResult<AppendOutcome> {
        if batch.is_empty() && marks.is_empty() {
            return Ok(AppendOutcome::Appended);
        }
        self.write_ledger(batch, marks)
    }

    fn day_marks(
        &self,
        partner_id: &str,
        customer_id: &str,
        from: NaiveDate,
        through: NaiveDate,
    ) -> StoreResult<Option<Vec<DayMark>>> {
        self.customer_dates(
            "SELECT usage_date, version, fingerprint FROM settled_days \
             WHERE partner_id = ?1 AND customer_id = ?2 AND usage_date BETWEEN ?3 AND ?4 ORDER BY usage_date",
            (partner_id, customer_id, from, through),
            |r, usage_date| {
                Ok(DayMark {
                    usage_date,
                    version: r.get::<_, i64>(1).map_err(backend)? as u64,
                    fingerprint: r.get(2).map_err(backend)?,
                })
            },
        )
        .map(Some)
    }

    fn for_each_entry(
        &self,
        filter: &EntryFilter,
        visit: &mut dyn FnMut(Entry) -> StoreResult<()>,
    ) -> StoreResult<()> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare_cached(&format!(
                "{} WHERE (?1 IS NULL OR r.partner_id = ?1) AND (?2 IS NULL OR r.resource_id = ?2) \
                 AND (?3 IS NULL OR e.usage_date >= ?3) AND (?4 IS NULL OR e.usage_date <= ?4) \
                 AND (?5 IS NULL OR u.posted_at <= ?5) \
                 ORDER BY e.usage_date, e.resource_ref, e.seq",
                rows::ENTRY_SELECT
            ))
            .map_err(backend)?;
        let mut found = stmt
            .query(params![
                filter.partner_id,
                filter.resource_id,
                filter.usage_from.map(day),
                filter.usage_through.map(day),
                filter.posted_through.map(rows::exact_ts)
            ])
            .map_err(backend)?;
        while let Some(r) = found.next().map_err(backend)? {
            visit(entry_from_row(r)?)?;
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
            .prepare_cached(&format!(
                "{} WHERE r.partner_id = ?1 AND u.posted_at >= ?2 AND u.posted_at < ?3 \
                 AND e.usage_date < ?4 ORDER BY u.posted_at, r.customer_id, r.resource_id, e.usage_date, r.currency, e.seq",
                rows::ENTRY_SELECT
            ))
            .map_err(backend)?;
        let mut found = stmt
            .query(params![
                partner_id,
                rows::exact_ts(from),
                rows::exact_ts(to),
                rows::day(from.date_naive().with_day(1).unwrap_or(from.date_naive()))
            ])
            .map_err(backend)?;
        while let Some(r) = found.next().map_err(backend)? {
            visit(entry_from_row(r)?)?;
        }
        Ok(())
    }

    fn for_each_head(&self, visit: &mut dyn FnMut(Head) -> StoreResult<()>) -> StoreResult<()> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare(&format!(
                "{} ORDER BY h.usage_date, h.resource_ref",
                rows::HEAD_SELECT
            ))
            .map_err(backend)?;
        let mut found = stmt.query([]).map_err(backend)?;
        while let Some(r) = found.next().map_err(backend)? {
            visit(head_from_row(r)?)?;
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

    fn set_alert_url(&self, partner_id: &str, url: Option<&str>) -> StoreResult<()> {
        let conn = self.conn()?;
        match url {
            Some(url) => conn.execute(
                "INSERT INTO alert_urls (partner_id, url, set_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (partner_id) DO UPDATE SET url = excluded.url, set_at = excluded.set_at",
                params![partner_id, url, ts(Utc::now())],
            ),
            None => conn.execute(
                "DELETE FROM alert_urls WHERE partner_id = ?1",
                params![partner_id],
            ),
        }
        .map(|_| ())
        .map_err(backend)
    }

    fn alert_url(&self, partner_id: &str) -> StoreResult<Option<String>> {
        let conn = self.conn()?;
        if !has_table(&conn, "alert_urls")? {
            return Ok(None);
        }
        conn.query_row(
            "SELECT url FROM alert_urls WHERE partner_id = ?1",
            params![partner_id],
            |r| r.get(0),
        )
        .optional()
        .map_err(backend)
    }
}

/// Stores a snapshot unless its id was used before (the same content: `Duplicate`; other
/// content: `Conflict`).
fn insert_snapshot(
    tx: &rusqlite::Transaction<'_>,
    snapshot: &Snapshot,
    digest: &str,
    raw: &[u8],
) -> StoreResult<PutSnapshotOutcome> {
    let existing: Option<String> = tx
        .query_row(
            "SELECT digest FROM snapshots WHERE partner_id = ?1 AND snapshot_id = ?2",
            params![snapshot.partner_id, snapshot.snapshot_id],
            |r| r.get(0),
        )
        .optional()
        .map_err(backend)?;
    Ok(match existing {
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
                    rows::deflate(raw)?
                ],
            )
            .map_err(backend)?;
            PutSnapshotOutcome::Stored
        }
    })
}

/// Whether the database has a table (a read-only database of an earlier release may lack the
/// newer ones: read as empty).
fn has_table(conn: &Connection, name: &str) -> StoreResult<bool> {
    conn.query_row(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
        params![name],
        |_| Ok(true),
    )
    .optional()
    .map_err(backend)
    .map(|found| found.unwrap_or(false))
}

impl AlertStore for SqliteStore {
    fn watch(&self, partner_id: &str, customer_id: &str) -> StoreResult<Watch> {
        let conn = self.conn()?;
        if !has_table(&conn, "alert_watches")? {
            return Ok(Watch::default());
        }
        let watch: Option<String> = conn
            .prepare_cached(
                "SELECT watch FROM alert_watches WHERE partner_id = ?1 AND customer_id = ?2",
            )
            .map_err(backend)?
            .query_row(params![partner_id, customer_id], |r| r.get(0))
            .optional()
            .map_err(backend)?;
        watch
            .map(|w| from_json(&w))
            .transpose()
            .map(Option::unwrap_or_default)
    }

    fn snapshot_at(
        &self,
        partner_id: &str,
        customer_id: &str,
        position: &SnapshotPosition,
    ) -> StoreResult<Option<Snapshot>> {
        let conn = self.conn()?;
        let snapshot: Option<String> = conn
            .prepare_cached(
                "SELECT snapshot FROM snapshots WHERE partner_id = ?1 AND snapshot_id = ?2 \
                 AND customer_id = ?3 AND taken_at = ?4",
            )
            .map_err(backend)?
            .query_row(
                params![
                    partner_id,
                    position.snapshot_id,
                    customer_id,
                    ts(position.taken_at)
                ],
                |r| r.get(0),
            )
            .optional()
            .map_err(backend)?;
        snapshot.map(|s| from_json(&s)).transpose()
    }

    fn put_snapshot_watched(
        &self,
        snapshot: &Snapshot,
        digest: &str,
        raw: &[u8],
        expected: &Watch,
        next: &Watch,
        events: &[AlertEvent],
    ) -> StoreResult<Option<PutSnapshotOutcome>> {
        let mut conn = self.conn()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        let kept: Option<(String, String)> = tx
            .query_row(
                "SELECT newest_taken_at, newest_snapshot_id FROM alert_watches \
                 WHERE partner_id = ?1 AND customer_id = ?2",
                params![snapshot.partner_id, snapshot.customer_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(backend)?;
        let expected_newest = expected
            .newest
            .as_ref()
            .map(|n| (ts(n.taken_at), n.snapshot_id.clone()));
        if kept != expected_newest {
            return Ok(None);
        }
        let outcome = insert_snapshot(&tx, snapshot, digest, raw)?;
        if outcome == PutSnapshotOutcome::Stored {
            if let Some(newest) = &next.newest {
                tx.execute(
                    "INSERT INTO alert_watches (partner_id, customer_id, newest_taken_at, newest_snapshot_id, watch) \
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (partner_id, customer_id) DO UPDATE SET \
                     newest_taken_at = excluded.newest_taken_at, newest_snapshot_id = excluded.newest_snapshot_id, \
                     watch = excluded.watch",
                    params![
                        snapshot.partner_id,
                        snapshot.customer_id,
                        ts(newest.taken_at),
                        newest.snapshot_id,
                        to_json(next)?
                    ],
                )
                .map_err(backend)?;
            }
            for e in events {
                let a = &e.alert;
                tx.execute(
                    "INSERT INTO alerts (alert_id, partner_id, customer_id, taken_at, alert) VALUES (?1, ?2, ?3, ?4, ?5) \
                     ON CONFLICT (alert_id) DO UPDATE SET alert = excluded.alert",
                    params![a.alert_id, a.partner_id, a.customer_id, ts(a.taken_at), to_json(a)?],
                )
                .map_err(backend)?;
                tx.execute(
                    "INSERT INTO alert_outbox (event_id, partner_id, event) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (event_id) DO NOTHING",
                    params![e.event_id, e.partner_id, to_json(e)?],
                )
                .map_err(backend)?;
            }
        }
        tx.commit().map_err(backend)?;
        Ok(Some(outcome))
    }

    fn alerts(&self, partner_id: &str) -> StoreResult<Vec<Alert>> {
        let conn = self.conn()?;
        if !has_table(&conn, "alerts")? {
            return Ok(Vec::new());
        }
        let mut stmt = conn
            .prepare_cached(
                "SELECT alert FROM alerts WHERE partner_id = ?1 ORDER BY taken_at DESC, alert_id",
            )
            .map_err(backend)?;
        let rows = stmt
            .query_map(params![partner_id], |r| r.get::<_, String>(0))
            .map_err(backend)?;
        let mut out = Vec::new();
        for row in rows {
            out.push(from_json(&row.map_err(backend)?)?);
        }
        Ok(out)
    }

    fn pending_alert_events(
        &self,
        partner_id: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<AlertEvent>> {
        let conn = self.conn()?;
        if !has_table(&conn, "alert_outbox")? {
            return Ok(Vec::new());
        }
        let mut stmt = conn
            .prepare_cached(
                "SELECT event FROM alert_outbox WHERE sent_at IS NULL \
                 AND (?1 IS NULL OR partner_id = ?1) ORDER BY seq LIMIT ?2",
            )
            .map_err(backend)?;
        let rows = stmt
            .query_map(params![partner_id, limit as i64], |r| r.get::<_, String>(0))
            .map_err(backend)?;
        let mut out = Vec::new();
        for row in rows {
            out.push(from_json(&row.map_err(backend)?)?);
        }
        Ok(out)
    }

    fn alert_event_sent(&self, event_id: &str, at: DateTime<Utc>) -> StoreResult<()> {
        self.conn()?
            .execute(
                "UPDATE alert_outbox SET sent_at = ?2 WHERE event_id = ?1 AND sent_at IS NULL",
                params![event_id, ts(at)],
            )
            .map(|_| ())
            .map_err(backend)
    }
}
