//! Storage behind traits. The embedded store (`pec-embedded`: SQLite and object files in the
//! data directory) and the AWS adapters (`pec-aws`: DynamoDB, S3, SSM) implement them in their
//! own crates; the domain knows only these traits.

pub mod block;

use crate::alerts::{Alert, AlertEvent, SnapshotPosition, Watch};
use crate::config::Config;
use crate::ledger::{Entry, Head, ResourceDayKey};
use crate::products::with_overrides;
use crate::reasons::IneligibleReason;
use crate::snapshot::Snapshot;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A storage failure (I/O, corruption, a backend error). Input problems are not store errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store: {0}")]
    Backend(String),
    #[error("store data is corrupt: {0}")]
    Corrupt(String),
    /// A stored ledger entry that no longer reads as an entry (changed behind the ledger's
    /// back): where it is filed, so that `verify` can name it.
    #[error("ledger entry {seq} of {resource_day} cannot be read: {message}")]
    UnreadableEntry {
        resource_day: String,
        seq: u32,
        message: String,
    },
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Fixed-width, sortable UTC timestamp text (microseconds, `Z`), as both stores key by time.
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// The usage of one resource-day from one upload, for one (MpnId, Tier2MpnId): partial sums
/// (an upload may hold several rows of the same resource-day; they add up).
///
/// `eligible_amount` and `ineligible_by_reason` are R7 as decided with the configuration of the
/// upload. Settlement decides R7 again from `products` with the configuration of the day
/// ([`UsageAggregate::eligibility`]), so a configuration change reaches re-settled days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageAggregate {
    #[serde(flatten)]
    pub key: ResourceDayKey,
    pub mpn_id: String,
    pub tier2_mpn_id: String,
    #[serde(with = "crate::decimal::as_string")]
    pub list_amount: Decimal,
    #[serde(with = "crate::decimal::as_string")]
    pub eligible_amount: Decimal,
    #[serde(with = "crate::decimal::as_string")]
    pub microsoft_credit: Decimal,
    #[serde(with = "crate::ledger::amount_map")]
    pub ineligible_by_reason: BTreeMap<IneligibleReason, Decimal>,
    pub lines: u64,
    /// The list amount by product (meter ID, product name) and the rules' verdict on it. Empty in
    /// rows staged by releases before 2026-12 (they keep only the sums decided at upload).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub products: Vec<ProductAmount>,
}

/// The list amount of one product of a [`UsageAggregate`]: lines of the same meter ID and product
/// name that Microsoft's R7 rules judge alike (`rule`, before any configured override).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductAmount {
    pub meter_id: String,
    pub product_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<IneligibleReason>,
    #[serde(with = "crate::decimal::as_string")]
    pub amount: Decimal,
}

impl UsageAggregate {
    /// R7 under `config`: the eligible amount and the ineligible amounts by reason. From
    /// `products` with the configured overrides applied; a row without products (staged by an
    /// earlier release) keeps the sums decided at its upload.
    pub fn eligibility(&self, config: &Config) -> (Decimal, BTreeMap<IneligibleReason, Decimal>) {
        if self.products.is_empty() {
            return (self.eligible_amount, self.ineligible_by_reason.clone());
        }
        let mut eligible = Decimal::ZERO;
        let mut ineligible = BTreeMap::new();
        for p in &self.products {
            match with_overrides(&p.meter_id, &p.product_name, p.rule, config) {
                None => eligible += p.amount,
                Some(r) => *ineligible.entry(r).or_insert(Decimal::ZERO) += p.amount,
            }
        }
        (eligible, ineligible)
    }

    /// Adds `part` to [`UsageAggregate::products`].
    pub fn add_product(&mut self, part: ProductAmount) {
        add_product(
            &mut self.products,
            &part.meter_id,
            &part.product_name,
            part.rule,
            part.amount,
        );
    }
}

/// Adds `amount` to the entry of the same product and verdict, or as a new entry (the only
/// time the names are copied: ingestion calls this for every line).
pub fn add_product(
    products: &mut Vec<ProductAmount>,
    meter_id: &str,
    product_name: &str,
    rule: Option<IneligibleReason>,
    amount: Decimal,
) {
    match products
        .iter_mut()
        .find(|p| p.rule == rule && p.meter_id == meter_id && p.product_name == product_name)
    {
        Some(p) => p.amount += amount,
        None => products.push(ProductAmount {
            meter_id: meter_id.to_string(),
            product_name: product_name.to_string(),
            rule,
            amount,
        }),
    }
}

/// (SubscriptionId, UsageDate): the unit of supersession, with the customer it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UsageKey {
    pub subscription_id: String,
    pub usage_date: NaiveDate,
    pub customer_id: String,
}

/// An upload as recorded: its receipt fields and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadRecord {
    pub upload_id: String,
    pub partner_id: String,
    pub sha256: String,
    pub file_name: String,
    pub received_at: DateTime<Utc>,
    pub rows: u64,
    /// The names the file gives (kept with the upload's commit; the newest upload's win).
    #[serde(default, skip_serializing_if = "crate::names::Names::is_empty")]
    pub names: crate::names::Names,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitOutcome {
    Accepted,
    /// A byte-identical file was accepted before, as this upload id.
    Duplicate(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutSnapshotOutcome {
    Stored,
    Duplicate,
    /// The snapshot id was used before for other content.
    Conflict,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppendOutcome {
    Appended,
    /// Another writer appended to one of the resource-days first; nothing was written.
    Conflict,
}

/// A partner's webhook signing secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSecret {
    pub secret: String,
    pub added_at: DateTime<Utc>,
}

/// Usage files: staged rows, accepted uploads, current usage by supersession.
pub trait UsageStore {
    /// The accepted upload of this partner with this SHA-256, if any.
    fn accepted_upload_by_sha(&self, partner_id: &str, sha256: &str)
        -> StoreResult<Option<String>>;
    /// Stages rows of an upload; invisible until [`UsageStore::commit_upload`].
    fn stage_usage(&self, upload_id: &str, rows: &[UsageAggregate]) -> StoreResult<()>;
    /// Atomically records the upload as accepted and makes it the current source of each key.
    fn commit_upload(&self, upload: &UploadRecord, keys: &[UsageKey])
        -> StoreResult<CommitOutcome>;
    /// The names of a partner's ids, from the newest accepted upload that gives each.
    fn names(&self, partner_id: &str) -> StoreResult<crate::names::Names>;
    /// Removes an upload's staged rows (a rejected or duplicate file leaves no trace).
    fn discard_upload(&self, upload_id: &str) -> StoreResult<()>;
    /// (partner, customer) pairs with current usage or ledger entries on dates in the range.
    fn customers_in_range(
        &self,
        from: NaiveDate,
        through: NaiveDate,
    ) -> StoreResult<Vec<(String, String)>>;
    /// Current usage of a customer on a date.
    fn current_usage(
        &self,
        partner_id: &str,
        customer_id: &str,
        date: NaiveDate,
    ) -> StoreResult<Vec<UsageAggregate>>;
    /// Which upload each of a customer's current (subscription, date) keys in the range comes
    /// from, in date order. `None` from a store that does not track it: settlement then decides
    /// every date of its range again (as `pec settle --full` does).
    fn usage_sources(
        &self,
        _partner_id: &str,
        _customer_id: &str,
        _from: NaiveDate,
        _through: NaiveDate,
    ) -> StoreResult<Option<Vec<UsageSource>>> {
        Ok(None)
    }
}

/// Access snapshots, kept as received (normalised) and replayed in `takenAt` order.
pub trait SnapshotStore {
    fn put_snapshot(
        &self,
        snapshot: &Snapshot,
        digest: &str,
        raw: &[u8],
    ) -> StoreResult<PutSnapshotOutcome>;
    /// Every snapshot of (partner, customer), in `takenAt` order.
    fn for_each_snapshot(
        &self,
        partner_id: &str,
        customer_id: &str,
        visit: &mut dyn FnMut(Snapshot) -> StoreResult<()>,
    ) -> StoreResult<()>;
    /// The snapshots of (partner, customer) after `position` (`takenAt`, then `snapshotId`), in
    /// that order, provided exactly `before` of its snapshots are at or before `position`;
    /// otherwise (one arrived late, out of order) it visits none and returns false.
    fn for_each_snapshot_after(
        &self,
        partner_id: &str,
        customer_id: &str,
        position: (DateTime<Utc>, &str),
        before: u64,
        visit: &mut dyn FnMut(Snapshot) -> StoreResult<()>,
    ) -> StoreResult<bool> {
        let mut all = Vec::new();
        self.for_each_snapshot(partner_id, customer_id, &mut |s| {
            all.push(s);
            Ok(())
        })?;
        let at_or_before = |s: &Snapshot| (s.taken_at, s.snapshot_id.as_str()) <= position;
        if all.iter().filter(|s| at_or_before(s)).count() as u64 != before {
            return Ok(false);
        }
        for s in all.into_iter().filter(|s| !at_or_before(s)) {
            visit(s)?;
        }
        Ok(true)
    }
    /// The last [`AccessCheckpoint`] kept for (partner, customer), if any. A store that keeps
    /// none returns `None`, and access is built from every snapshot each time.
    fn access_checkpoint(
        &self,
        _partner_id: &str,
        _customer_id: &str,
    ) -> StoreResult<Option<AccessCheckpoint>> {
        Ok(None)
    }
    /// Keeps checkpoints (replacing the customers' earlier ones). They are a cache: losing one
    /// costs only a rebuild.
    fn put_access_checkpoints(&self, _checkpoints: &[AccessCheckpoint]) -> StoreResult<()> {
        Ok(())
    }
}

/// Access-lost alerts: each customer's [`Watch`], the alerts, and the events kept until they are
/// sent (an outbox: an event is stored with the snapshot that raised it, then sent, at least
/// once).
pub trait AlertStore {
    /// The customer's watch ([`Watch::default`] before its first snapshot was watched).
    fn watch(&self, partner_id: &str, customer_id: &str) -> StoreResult<Watch>;
    /// One stored snapshot of the customer, by its position.
    fn snapshot_at(
        &self,
        partner_id: &str,
        customer_id: &str,
        position: &SnapshotPosition,
    ) -> StoreResult<Option<Snapshot>>;
    /// [`SnapshotStore::put_snapshot`], and when the snapshot is stored, in the same transaction:
    /// the customer's watch becomes `next`, each event's alert is kept as the event has it, and
    /// the events are kept to be sent. Provided the watch's newest snapshot is still
    /// `expected.newest`; otherwise nothing is written and the result is `None` (work it out
    /// again).
    fn put_snapshot_watched(
        &self,
        snapshot: &Snapshot,
        digest: &str,
        raw: &[u8],
        expected: &Watch,
        next: &Watch,
        events: &[AlertEvent],
    ) -> StoreResult<Option<PutSnapshotOutcome>>;
    /// A partner's alerts, open and restored, newest first.
    fn alerts(&self, partner_id: &str) -> StoreResult<Vec<Alert>>;
    /// Events not sent yet, oldest first, at most `limit` (all partners, or one).
    fn pending_alert_events(
        &self,
        partner_id: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<AlertEvent>>;
    /// An event was sent (it leaves the outbox).
    fn alert_event_sent(&self, event_id: &str, at: DateTime<Utc>) -> StoreResult<()>;
}

/// Where replaying a customer's snapshots got to: the builder's state after its first
/// `snapshots` snapshots in order, the last of them at `position`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessCheckpoint {
    pub partner_id: String,
    pub customer_id: String,
    pub taken_at: DateTime<Utc>,
    pub snapshot_id: String,
    pub snapshots: u64,
    /// [`crate::access::AccessBuilder::to_state`].
    pub state: String,
}

/// An entry to append and its resource-day's head after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Append {
    pub entry: Entry,
    pub head: Head,
}

impl Append {
    /// `entry` appended after `previous`.
    pub fn after(previous: Option<&Head>, entry: Entry) -> Append {
        let head = Head::after(previous, &entry);
        Append { entry, head }
    }
}

/// What the last settlement of a customer-date saw, so that the next run can skip the date
/// when nothing it depends on has changed (incremental settlement).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayMark {
    pub usage_date: NaiveDate,
    /// Bumped by every write to the customer-date's ledger: a mark is replaced only by a writer
    /// that read this version (compare and set), so a mark always describes the heads as they
    /// are.
    pub version: u64,
    /// [`crate::settle`]'s fingerprint of the inputs the date was last settled from; empty when
    /// the date was written without one (it is then settled again by the next run).
    pub fingerprint: String,
}

/// A mark to set with an append: conditional on the version read before planning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkUpdate {
    pub partner_id: String,
    pub customer_id: String,
    pub usage_date: NaiveDate,
    /// The version read (`None`: the date had no mark).
    pub expected_version: Option<u64>,
    pub fingerprint: String,
}

/// Where a customer's current usage of a date comes from: one accepted upload per subscription.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct UsageSource {
    pub usage_date: NaiveDate,
    pub subscription_id: String,
    /// The accepted upload the usage comes from, or anything else that changes exactly when
    /// the content read changes (the AWS store names the content itself, so that an upload
    /// restating a key with the same content does not bring the date back).
    pub upload_id: String,
}

/// Which entries to read.
#[derive(Debug, Clone, Default)]
pub struct EntryFilter {
    pub partner_id: Option<String>,
    pub resource_id: Option<String>,
    pub usage_from: Option<NaiveDate>,
    pub usage_through: Option<NaiveDate>,
    pub posted_through: Option<DateTime<Utc>>,
}

/// The append-only ledger and its heads.
pub trait LedgerStore {
    /// Heads of a customer's resource-days on a date.
    fn heads(&self, partner_id: &str, customer_id: &str, date: NaiveDate)
        -> StoreResult<Vec<Head>>;
    /// Appends entries atomically with their resource-days' new heads, each conditional on the
    /// stored head being the one the entry chains to (no head for seq 0). On any mismatch
    /// nothing is written.
    fn append(&self, batch: &[Append]) -> StoreResult<AppendOutcome>;
    /// Entries matching the filter, each resource-day's together and in seq order (resource-days
    /// in an order of the store's choosing).
    fn for_each_entry(
        &self,
        filter: &EntryFilter,
        visit: &mut dyn FnMut(Entry) -> StoreResult<()>,
    ) -> StoreResult<()>;
    /// Prior-period entries of one partner: those posted in [from, to) whose usage date is
    /// before the first day of the month `from` falls in (for prior-period adjustments).
    fn for_each_entry_posted(
        &self,
        partner_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        visit: &mut dyn FnMut(Entry) -> StoreResult<()>,
    ) -> StoreResult<()>;
    /// Every head.
    fn for_each_head(&self, visit: &mut dyn FnMut(Head) -> StoreResult<()>) -> StoreResult<()>;
    /// Breaks a store finds in what it records beside the entries' own chains, for `verify`
    /// (e.g. a customer-date that holds fewer entries than were appended to it). A store whose
    /// heads are kept per resource-day has none to add.
    fn record_breaks(&self) -> StoreResult<Vec<crate::ledger::LedgerBreak>> {
        Ok(Vec::new())
    }
    /// The latest `postedAt` of any entry in the ledger (`None`: no entry yet, or a store that
    /// does not say). A run with an earlier clock is refused, so that a chain's postings never
    /// go backwards.
    fn latest_posting(&self) -> StoreResult<Option<DateTime<Utc>>> {
        Ok(None)
    }
    /// The marks of a customer's dates in the range, in date order. `None` from a store that
    /// keeps none: settlement then decides every date of its range again.
    fn day_marks(
        &self,
        _partner_id: &str,
        _customer_id: &str,
        _from: NaiveDate,
        _through: NaiveDate,
    ) -> StoreResult<Option<Vec<DayMark>>> {
        Ok(None)
    }
    /// [`LedgerStore::append`], and in the same transaction sets each mark if its version is
    /// still the one expected (else nothing is written: `Conflict`). A store that keeps no marks
    /// only appends.
    fn append_marked(&self, batch: &[Append], _marks: &[MarkUpdate]) -> StoreResult<AppendOutcome> {
        if batch.is_empty() {
            return Ok(AppendOutcome::Appended);
        }
        self.append(batch)
    }
}

/// Partners and their webhook secrets.
pub trait PartnerStore {
    fn add_secret(&self, partner_id: &str, secret: &WebhookSecret) -> StoreResult<()>;
    fn revoke_secret(&self, partner_id: &str, secret: &str) -> StoreResult<bool>;
    fn active_secrets(&self, partner_id: &str) -> StoreResult<Vec<WebhookSecret>>;
    /// Where alerts of the partner are posted (`pec partner set-alert-url`); `None` clears it.
    fn set_alert_url(&self, _partner_id: &str, _url: Option<&str>) -> StoreResult<()> {
        Err(StoreError::Backend(
            "this store sends alerts its own way (on AWS: the stack's SNS topic)".into(),
        ))
    }
    fn alert_url(&self, _partner_id: &str) -> StoreResult<Option<String>> {
        Ok(None)
    }
}

/// Everything the domain needs from storage.
pub trait Store:
    UsageStore + SnapshotStore + AlertStore + LedgerStore + PartnerStore + Send + Sync
{
}
impl<T: UsageStore + SnapshotStore + AlertStore + LedgerStore + PartnerStore + Send + Sync> Store
    for T
{
}

/// Objects kept as files: receipts, error reports, raw snapshots, statements. Keys are
/// `/`-separated paths such as `receipts/{partnerId}/{uploadId}.json` (SPEC 6.3).
pub trait ObjectStore: Send + Sync {
    fn put_object(&self, key: &str, body: &[u8], content_type: &str) -> StoreResult<()>;
    /// `None` when there is no such object.
    fn get_object(&self, key: &str) -> StoreResult<Option<Vec<u8>>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A usage row as a release before 2026-12 stored it (no `products`), and as this one does.
    const OLD_ROW: &str = r#"{"partnerId":"p","customerId":"c","subscriptionId":"s","resourceId":"/subscriptions/s","usageDate":"2026-09-01","currency":"USD","mpnId":"1","tier2MpnId":"","listAmount":"20","eligibleAmount":"16","microsoftCredit":"3","ineligibleByReason":{"SPOT":"4"},"lines":3}"#;

    #[test]
    fn eligibility_applies_todays_lists_to_products_and_keeps_old_rows_sums() {
        let old: UsageAggregate = serde_json::from_str(OLD_ROW).unwrap();
        assert!(old.products.is_empty());
        let mut config = Config {
            ineligible_product_names: vec![" CONTOSO appliance ".into()],
            ..Config::default()
        };
        // An old row: the sums of its upload, whatever the lists say now.
        let (eligible, ineligible) = old.eligibility(&config);
        assert_eq!(eligible, Decimal::new(16, 0));
        assert_eq!(
            ineligible,
            BTreeMap::from([(IneligibleReason::Spot, Decimal::new(4, 0))])
        );

        let mut row = old.clone();
        for (product, rule, amount) in [
            ("Azure plan", None, 10),
            ("Contoso Appliance", None, 6),
            ("Azure plan", Some(IneligibleReason::Spot), 4),
            ("Azure plan", None, 0),
        ] {
            row.add_product(ProductAmount {
                meter_id: "m1".into(),
                product_name: product.into(),
                rule,
                amount: Decimal::new(amount, 0),
            });
        }
        assert_eq!(row.products.len(), 3, "same product and verdict add up");
        let (eligible, ineligible) = row.eligibility(&config);
        assert_eq!(eligible, Decimal::new(10, 0));
        assert_eq!(
            ineligible,
            BTreeMap::from([
                (IneligibleReason::Configured, Decimal::new(6, 0)),
                (IneligibleReason::Spot, Decimal::new(4, 0)),
            ])
        );
        // Forced eligible wins over the product list and over the rules.
        config.eligible_meter_ids = vec!["M1".into()];
        assert_eq!(
            row.eligibility(&config),
            (Decimal::new(20, 0), BTreeMap::new())
        );
        // What a store keeps round-trips, products included.
        let text = serde_json::to_string(&row).unwrap();
        assert!(
            text.contains(
                r#""products":[{"meterId":"m1","productName":"Azure plan","amount":"10"}"#
            ),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<UsageAggregate>(&text).unwrap(), row);
    }
}
