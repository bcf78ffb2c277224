//! The world of one partner: its customers, subscriptions, billed resources and meters, and
//! the role assignments as they truly existed.

use crate::amounts::{div_round, MICRO};
use crate::catalogue::{Product, Region};
use crate::rng::Rng;
use chrono::{DateTime, Utc};
use pec_ledger::snapshot::Assignment;

/// How a partner's resources are billed on one meter.
#[derive(Debug, Clone)]
pub(crate) struct Meter {
    pub(crate) product: Product,
    pub(crate) meter_type: &'static str,
    pub(crate) category: &'static str,
    pub(crate) sub_category: String,
    pub(crate) name: String,
    pub(crate) id: String,
    pub(crate) unit: &'static str,
    pub(crate) consumed_service: &'static str,
    pub(crate) charge_type: &'static str,
    /// In the pricing currency, millionths.
    pub(crate) unit_price: i64,
    pub(crate) unit_price_text: String,
    pub(crate) quantity: Quantity,
    pub(crate) benefit: Benefit,
    /// First-party consumption that earns PEC with the right access.
    pub(crate) earns: bool,
    /// Only on this usage day (index), or every day.
    pub(crate) only_day: Option<u32>,
}

/// How much of a meter a day consumes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Quantity {
    /// Hours in a day (already multiplied by instances or vCores); some days run shorter.
    Hours { full: i64, short_percent: u64 },
    /// A monthly quantity spread over the days of the month, with a little jitter.
    PerMonth { amount: i64 },
    /// Uniform in `lo..=hi`.
    Range { lo: i64, hi: i64 },
    /// Always this.
    Fixed(i64),
    /// One month's share of a monthly charge: 1 / days in the month.
    MonthShare,
}

impl Quantity {
    pub(crate) fn sample(self, rng: &mut Rng, month_days: i64) -> i64 {
        match self {
            Quantity::Hours {
                full,
                short_percent,
            } => {
                if rng.chance(short_percent) {
                    div_round(i128::from(full) * i128::from(rng.between(200, 950)), 1000)
                } else {
                    full
                }
            }
            Quantity::PerMonth { amount } => {
                let jitter = i128::from(rng.between(980, 1030));
                div_round(i128::from(amount) * jitter, 1000 * i128::from(month_days))
            }
            Quantity::Range { lo, hi } => rng.between(lo, hi),
            Quantity::Fixed(q) => q,
            Quantity::MonthShare => div_round(i128::from(MICRO), i128::from(month_days)),
        }
    }
}

/// The benefit that covers a line (its last three columns).
#[derive(Debug, Clone)]
pub(crate) enum Benefit {
    None,
    Reservation {
        order_id: String,
        benefit_id: String,
    },
    SavingsPlan {
        order_id: String,
        benefit_id: String,
    },
}

/// The flavour of a VM, to mix in ineligible lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VmVariant {
    Standard,
    Reservation,
    SavingsPlan,
    Spot,
    ThirdParty,
}

/// A stretch `(from, to]` in which a customer's snapshots are missing.
pub(crate) type Gap = (DateTime<Utc>, DateTime<Utc>);

/// A true presence of eligible access: `[from, until)`, `None` = still held.
pub(crate) type Span = (DateTime<Utc>, Option<DateTime<Utc>>);

/// A billed resource.
#[derive(Debug, Clone)]
pub(crate) struct Resource {
    pub(crate) uri: String,
    pub(crate) resource_group: String,
    pub(crate) tags: &'static str,
    pub(crate) additional_info: String,
    pub(crate) meters: Vec<Meter>,
    /// Eligible access that truly covers it, sorted.
    pub(crate) spans: Vec<Span>,
}

#[derive(Debug, Clone)]
pub(crate) struct Subscription {
    pub(crate) id: String,
    pub(crate) resource_groups: Vec<String>,
    /// ARM ids of SQL servers (parents of billed databases).
    pub(crate) sql_servers: Vec<String>,
    pub(crate) resources: Vec<Resource>,
    /// Lines without a resource (support, reservation purchase and refund).
    pub(crate) extras: Vec<Meter>,
    /// Eligible access that truly covers the subscription itself (for the extras).
    pub(crate) spans: Vec<Span>,
}

/// The access scenario of a customer (see the crate documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scenario {
    Steady,
    RemovedAndRestored,
    ReaderOnly,
    PimOnly,
    LighthousePal,
    LighthouseNoPal,
    GdapReseller,
    Scoped,
    SnapshotGap,
}

pub(crate) const SPECIAL_SCENARIOS: [Scenario; 8] = [
    Scenario::RemovedAndRestored,
    Scenario::ReaderOnly,
    Scenario::PimOnly,
    Scenario::LighthousePal,
    Scenario::LighthouseNoPal,
    Scenario::GdapReseller,
    Scenario::Scoped,
    Scenario::SnapshotGap,
];

/// A role assignment as it truly existed.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub(crate) assignment: Assignment,
    pub(crate) scope_key: String,
    pub(crate) from: DateTime<Utc>,
    pub(crate) until: Option<DateTime<Utc>>,
    /// Whether Microsoft pays PEC for it (eligible role, permanent, AOBO or a matching PAL).
    pub(crate) earns: bool,
}

impl Grant {
    pub(crate) fn held_at(&self, t: DateTime<Utc>) -> bool {
        self.from <= t && self.until.is_none_or(|u| t < u)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Customer {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) domain: String,
    pub(crate) country: &'static str,
    pub(crate) currency: &'static str,
    /// Where its resources run.
    pub(crate) region: Region,
    pub(crate) tier2_mpn: String,
    pub(crate) subscriptions: Vec<Subscription>,
    pub(crate) grants: Vec<Grant>,
    pub(crate) snapshot_gap: Option<Gap>,
}

#[derive(Debug, Clone)]
pub(crate) struct Partner {
    pub(crate) index: u32,
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) mpn: String,
    pub(crate) source: &'static str,
    pub(crate) customers: Vec<Customer>,
}
