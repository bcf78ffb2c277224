//! A deterministic generator of realistic example data: daily rated usage files (SPEC 3.1) and
//! access snapshots (SPEC 3.2) for a set of CSP partners, their customers and Azure resources.
//!
//! # What it writes
//!
//! Under `out_dir`:
//! - `usage/{partnerId}/{YYYY-MM-DD}.csv` (or `.csv.gz`): one file per partner per usage day,
//!   UTF-8 with BOM, CRLF, the 55 SPEC columns in the SPEC's order; one row per resource, day
//!   and meter (1–2 meters per resource) plus a few subscription-level lines.
//! - `snapshots/{partnerId}/{customerId}/{NNNNNN}.json`: one snapshot per customer every
//!   `snapshot_interval_hours` from `start` 00:05Z until the first snapshot at or after the day
//!   after the last usage day (so no usage day is `UNKNOWN`).
//! - `manifest.json`: the [`GeneratedSet`] with paths relative to `out_dir`.
//!
//! # Partners and customers
//!
//! Partner `p` is an indirect provider when `p % 3 == 1` (about a third): it has 2–4 Tier-2
//! resellers and each of its customers comes through one of them (`Tier2MpnId`). Customers are
//! numbered across all partners (`g = 0, 1, 2, …`); customer `g = 0` prices in USD, `g = 1` in EUR,
//! the others in EUR about one time in four.
//!
//! # Access scenarios
//!
//! Three customers in five (`g % 5` is 0, 2 or 4) are **steady**: the partner's admin agents
//! (AOBO) hold Owner on every subscription, permanently, with `createdOn`; some also carry noise
//! that earns nothing (a PIM-eligible Owner on a resource group, a Lighthouse Reader). The other
//! two in five take the next of these special scenarios in turn:
//!
//! 1. **removed and restored** — the AOBO Owner is removed mid-day and recreated (new id, new
//!    `createdOn`) one to two and a half days later;
//! 2. **reader only** — AOBO Reader on the subscriptions (`ROLE_NOT_ELIGIBLE`);
//! 3. **PIM only** — a GDAP Owner that is only `eligible`, with a few hours of `activated` Owner
//!    on some days (`NOT_PERMANENT`);
//! 4. **Lighthouse with PAL** — Lighthouse Contributor, no `createdOn`, Partner Admin Link equal
//!    to the partner's MPN or (indirect) mostly the reseller's MPN;
//! 5. **Lighthouse without PAL** — the same without a link, or linked to an unrelated MPN
//!    (`PAL_MISSING`);
//! 6. **GDAP via reseller** — GDAP Contributor with `createdOn`, linked to the reseller's MPN
//!    (the partner's for direct partners);
//! 7. **scoped** — AOBO Contributor on one resource group only, and an Owner on one resource
//!    (a SQL server when there is one, covering its databases); other resources have no access;
//! 8. **snapshot gap** — AOBO Owner without `createdOn`, and no snapshot for more than 26 h.
//!
//! # Microsoft's figure
//!
//! `PartnerEarnedCreditPercentage` is what Microsoft would apply from the *true* access (the
//! assignments as they really existed, not as sampled by snapshots): 15 on first-party
//! consumption lines whose resource had eligible access over the whole day, else 0. On about 2 %
//! of resource-days it is flipped, and the evidence differs from the truth where the snapshots
//! cannot see everything (first day of assignments without `createdOn`, the snapshot gap), so
//! reconciliation shows variance.
//!
//! # Usage lines
//!
//! Resources are virtual machines, App Service sites, SQL databases (children of SQL servers)
//! and storage accounts. Ineligible lines: VMs covered by a reservation (`BenefitType`
//! `Reservation`) or a savings plan (`SavingsPlan`), Spot VMs (`MeterName` `… Spot`),
//! marketplace software on VMs (a third-party `PublisherName`), reservation `purchase` and
//! `refund` lines, and a daily support line with an empty `ResourceURI`. Each partner has at
//! least one reservation, savings plan, Spot and third-party VM when it has four resources.
//!
//! # Determinism
//!
//! Every random choice comes from a hand-rolled SplitMix64 stream derived from `seed` and labels
//! (partner, customer, day), so output is byte-identical for the same options on any platform
//! and the gzip flag changes nothing but the compression. Rows are streamed to the files; only
//! the partner's resources are held in memory, never its rows.

use crate::ids::{normalize_resource_id, scope_covers};
use crate::snapshot::{AccessType, Assignment, AssignmentType, PrincipalType, Snapshot};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use flate2::write::GzEncoder;
use flate2::Compression;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// What to generate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateOptions {
    /// Seed of every random choice: the same options give byte-identical files.
    pub seed: u64,
    /// Number of partners.
    pub partners: u32,
    /// Customers of each partner.
    pub customers_per_partner: u32,
    /// Azure subscriptions of each customer.
    pub subscriptions_per_customer: u32,
    /// Billed resources (VMs, sites, SQL databases, storage accounts) per subscription.
    pub resources_per_subscription: u32,
    /// First usage day.
    pub start: NaiveDate,
    /// Number of usage days.
    pub days: u32,
    /// Hours between two snapshots of a customer (0 is taken as 1).
    pub snapshot_interval_hours: u32,
    /// Write `.csv.gz` instead of `.csv`.
    pub gzip: bool,
}

/// One generated partner and its files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GeneratedPartner {
    pub partner_id: String,
    pub partner_name: String,
    pub mpn_id: String,
    /// Usage files in the order to upload them.
    pub usage_files: Vec<PathBuf>,
    /// Snapshot files in the order to post them.
    pub snapshot_files: Vec<PathBuf>,
}

/// Everything generated. Paths are joined to `out_dir`; `manifest.json` holds the same with
/// paths relative to `out_dir`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GeneratedSet {
    pub partners: Vec<GeneratedPartner>,
    pub usage_rows: u64,
    pub snapshots: u64,
}

/// Writes usage files, snapshots and `manifest.json` under `out_dir` (see the module
/// documentation) and returns what it wrote, in upload/post order: usage files by date,
/// snapshot files by `takenAt` (customers in order within one instant).
pub fn generate(options: &GenerateOptions, out_dir: &Path) -> std::io::Result<GeneratedSet> {
    fs::create_dir_all(out_dir)?;
    let dates: Vec<NaiveDate> = (0..options.days)
        .map(|d| options.start + Duration::days(i64::from(d)))
        .collect();
    let times = snapshot_times(options);
    let mut names = NameState {
        partner_offset: Rng::derive(options.seed, &[STREAM_NAMES, 0])
            .below(PARTNER_NAMES.len() as u64) as usize,
        customer_offset: Rng::derive(options.seed, &[STREAM_NAMES, 1])
            .below(CUSTOMER_NAMES.len() as u64) as usize,
        next_customer: 0,
        next_special: 0,
        used_mpns: BTreeSet::new(),
    };

    let mut relative = GeneratedSet {
        partners: Vec::new(),
        usage_rows: 0,
        snapshots: 0,
    };
    for p in 0..options.partners {
        let partner = build_partner(options, p, &times, &mut names);
        let usage_files =
            write_usage(options, out_dir, &partner, &dates, &mut relative.usage_rows)?;
        let snapshot_files = write_snapshots(options, out_dir, &partner, &times)?;
        relative.snapshots += snapshot_files.len() as u64;
        relative.partners.push(GeneratedPartner {
            partner_id: partner.id.clone(),
            partner_name: partner.name.clone(),
            mpn_id: partner.mpn.clone(),
            usage_files,
            snapshot_files,
        });
    }

    let mut manifest = serde_json::to_vec_pretty(&relative).map_err(io::Error::other)?;
    manifest.push(b'\n');
    fs::write(out_dir.join("manifest.json"), manifest)?;

    for partner in &mut relative.partners {
        for path in partner
            .usage_files
            .iter_mut()
            .chain(partner.snapshot_files.iter_mut())
        {
            *path = out_dir.join(&*path);
        }
    }
    Ok(relative)
}

// ---------------------------------------------------------------------------------------------
// Random numbers
// ---------------------------------------------------------------------------------------------

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;
const STREAM_NAMES: u64 = 1;
const STREAM_PARTNER: u64 = 2;
const STREAM_CUSTOMER: u64 = 3;
const STREAM_USAGE: u64 = 4;
const STREAM_SNAPSHOT: u64 = 5;

/// The SplitMix64 finaliser.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a of a string, for stable identifiers that do not depend on the seed (meter IDs).
fn hash_str(text: &str) -> u64 {
    text.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3)
    })
}

/// A SplitMix64 stream: tiny, portable and good enough for test data.
#[derive(Debug, Clone)]
struct Rng {
    state: u64,
}

impl Rng {
    /// An independent stream for `seed` and a path of labels.
    fn derive(seed: u64, labels: &[u64]) -> Rng {
        let mut state = mix64(seed ^ GOLDEN);
        for &label in labels {
            state = mix64(state.wrapping_add(GOLDEN) ^ mix64(label.wrapping_add(GOLDEN)));
        }
        Rng { state }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN);
        mix64(self.state)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    fn between(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// True with probability `percent` / 100.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn pick_copy<T: Copy>(&mut self, items: &[T]) -> T {
        *self.pick(items)
    }

    /// A random (version 4) GUID, lower case.
    fn guid(&mut self) -> String {
        let (hi, lo) = (self.next_u64(), self.next_u64());
        guid_from(hi, lo)
    }

    /// A seven-digit MPN id.
    fn mpn(&mut self) -> u64 {
        self.between(1_000_000, 9_999_999) as u64
    }
}

fn guid_from(hi: u64, lo: u64) -> String {
    let hi = (hi & !0xF000) | 0x4000;
    let lo = (lo & !(0b11 << 62)) | (0b10 << 62);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xFFFF,
        hi & 0xFFFF,
        lo >> 48,
        lo & 0xFFFF_FFFF_FFFF
    )
}

/// A GUID that depends only on `name` (meter IDs are global in Azure).
fn stable_guid(name: &str) -> String {
    let h = hash_str(name);
    guid_from(mix64(h), mix64(h ^ GOLDEN))
}

// ---------------------------------------------------------------------------------------------
// Amounts: integers in millionths, so output has at most six decimals and no float noise
// ---------------------------------------------------------------------------------------------

const MICRO: i64 = 1_000_000;

/// Appends `v` millionths as a plain decimal without trailing zeros (`24`, `0.288`, `-1`).
fn push_micro(out: &mut String, v: i64) {
    if v < 0 {
        out.push('-');
    }
    let a = v.unsigned_abs();
    let (int, mut frac) = (a / MICRO as u64, a % MICRO as u64);
    let _ = write!(out, "{int}");
    if frac != 0 {
        let mut width = 6;
        while frac % 10 == 0 {
            frac /= 10;
            width -= 1;
        }
        let _ = write!(out, ".{frac:0width$}");
    }
}

fn micro_text(v: i64) -> String {
    let mut s = String::new();
    push_micro(&mut s, v);
    s
}

/// `a × b` in millionths, rounded half away from zero.
fn mul_micro(a: i64, b: i64) -> i64 {
    div_round(i128::from(a) * i128::from(b), i128::from(MICRO))
}

fn div_round(n: i128, d: i128) -> i64 {
    let q = (n.abs() + d / 2) / d;
    (if n < 0 { -q } else { q }) as i64
}

/// A USD list price in the customer's pricing currency.
fn local_price(usd: i64, currency: &str) -> i64 {
    if currency == "EUR" {
        div_round(i128::from(usd) * 92, 100)
    } else {
        usd
    }
}

// ---------------------------------------------------------------------------------------------
// Time
// ---------------------------------------------------------------------------------------------

fn day_start(date: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&date.and_time(NaiveTime::MIN))
}

fn days_in_month(date: NaiveDate) -> i64 {
    let first = date.with_day(1).expect("day 1 exists");
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
    }
    .expect("valid month");
    (next - first).num_days()
}

/// `M/D/YYYY`, as Partner Center writes charge dates.
fn us_date(date: NaiveDate) -> String {
    format!("{}/{}/{}", date.month(), date.day(), date.year())
}

/// Snapshot instants: `start` 00:05Z every interval, through the first one at or after the day
/// after the last usage day. Empty when there are no usage days.
fn snapshot_times(options: &GenerateOptions) -> Vec<DateTime<Utc>> {
    let mut times = Vec::new();
    if options.days == 0 {
        return times;
    }
    let step = Duration::hours(i64::from(options.snapshot_interval_hours.max(1)));
    let end = day_start(options.start + Duration::days(i64::from(options.days)));
    let mut t = day_start(options.start) + Duration::minutes(5);
    loop {
        times.push(t);
        if t >= end {
            return times;
        }
        t += step;
    }
}

// ---------------------------------------------------------------------------------------------
// Catalogue
// ---------------------------------------------------------------------------------------------

const PARTNER_NAMES: &[&str] = &[
    "Northwind Cloud Partner",
    "Contoso Cloud Services",
    "Fabrikam Managed IT",
    "Adventure Works Consulting",
    "Tailspin Technologies",
    "Litware Solutions",
    "Proseware Systems",
    "Wide World IT Services",
];

const CUSTOMER_NAMES: &[&str] = &[
    "Alpine Ski House",
    "Coho Winery",
    "Woodgrove Bank",
    "Trey Research",
    "Lucerne Publishing",
    "Margie's Travel",
    "Blue Yonder Airlines",
    "Humongous Insurance",
    "Graphic Design Institute",
    "Relecloud",
    "VanArsdel",
    "Wingtip Toys",
    "Southridge Video",
    "Fourth Coffee",
    "A. Datum Corporation",
    "Bellows College",
    "First Up Consultants",
    "Lamna Healthcare",
    "Munson's Pickle Jar",
    "Nod Publishers",
    "Olympia Sports",
    "Consolidated Messenger",
    "City Power & Light",
    "Contoso, Ltd.",
];

const USD_COUNTRIES: &[&str] = &["US", "US", "US", "CA", "SE", "NO", "CH", "AU", "SG"];
const EUR_COUNTRIES: &[&str] = &["DE", "FR", "NL", "IE", "FI", "AT", "ES", "IT", "BE"];

/// (ResourceLocation, MeterRegion)
type Region = (&'static str, &'static str);
const USD_REGIONS: &[Region] = &[
    ("eastus", "US East"),
    ("eastus2", "US East 2"),
    ("westus2", "US West 2"),
    ("centralus", "US Central"),
    ("swedencentral", "SE Central"),
];
const EUR_REGIONS: &[Region] = &[
    ("westeurope", "EU West"),
    ("northeurope", "EU North"),
    ("germanywestcentral", "DE West Central"),
    ("francecentral", "FR Central"),
];

const SOURCES: &[&str] = &[
    "Lighthouse Access Inventory 2.4",
    "CSP Access Sync 1.9",
    "partner-access-exporter/0.7",
];

const TAGS: &[&str] = &[
    "",
    "",
    r#"{"env":"prod"}"#,
    r#"{"env":"dev","owner":"data-team"}"#,
    r#"{"costCenter":"CC-1042","env":"prod"}"#,
];

/// The product columns of a line.
#[derive(Debug, Clone, Copy)]
struct Product {
    product_id: &'static str,
    sku_id: &'static str,
    availability_id: &'static str,
    sku_name: &'static str,
    product_name: &'static str,
    publisher_name: &'static str,
    publisher_id: &'static str,
}

const AZURE_PLAN: Product = Product {
    product_id: "DZH318Z0BQPS",
    sku_id: "0001",
    availability_id: "DZH318Z0BQ3Q",
    sku_name: "Azure plan",
    product_name: "Azure plan",
    publisher_name: "Microsoft",
    publisher_id: "",
};

const RESERVED_VM: Product = Product {
    product_id: "DZH318Z0BQ5F",
    sku_id: "02RV",
    availability_id: "DZH318Z0BQ6K",
    sku_name: "Reserved VM Instance, 1 Year",
    product_name: "Reserved VM Instances",
    publisher_name: "Microsoft",
    publisher_id: "",
};

/// Marketplace software billed per VM hour, with the USD price per hour.
const MARKETPLACE: &[(Product, i64)] = &[
    (
        Product {
            product_id: "DZH318Z0BNVX",
            sku_id: "0003",
            availability_id: "DZH318Z0BNW2",
            sku_name: "FortiGate PAYG 2 vCPU",
            product_name: "FortiGate Next-Generation Firewall",
            publisher_name: "Fortinet",
            publisher_id: "fortinet",
        },
        300_000,
    ),
    (
        Product {
            product_id: "DZH318Z0BP4T",
            sku_id: "0001",
            availability_id: "DZH318Z0BP4V",
            sku_name: "Ubuntu Pro 22.04 LTS",
            product_name: "Ubuntu Pro",
            publisher_name: "Canonical",
            publisher_id: "canonical",
        },
        12_000,
    ),
    (
        Product {
            product_id: "DZH318Z0BPKM",
            sku_id: "0002",
            availability_id: "DZH318Z0BPKN",
            sku_name: "WordPress packaged by Bitnami",
            product_name: "WordPress with NGINX and SSL",
            publisher_name: "Bitnami by VMware",
            publisher_id: "bitnami",
        },
        20_000,
    ),
];

/// (MeterName, MeterSubCategory, ServiceType, vCPUs, USD per hour in millionths)
const VM_SIZES: &[(&str, &str, &str, u32, i64)] = &[
    ("D2s v5", "Dsv5 Series", "Standard_D2s_v5", 2, 96_000),
    ("D4s v5", "Dsv5 Series", "Standard_D4s_v5", 4, 192_000),
    ("D8s v5", "Dsv5 Series", "Standard_D8s_v5", 8, 384_000),
    ("B2ms", "BS Series", "Standard_B2ms", 2, 83_200),
    ("E4s v5", "Esv5 Series", "Standard_E4s_v5", 4, 252_000),
];

/// (MeterName, USD per hour in millionths)
const APP_SERVICE_PLANS: &[(&str, i64)] = &[
    ("P0 v3 App", 84_000),
    ("P1 v3 App", 288_000),
    ("P2 v3 App", 576_000),
];

const VM_ROLES: &[&str] = &["web", "app", "batch", "build", "jump", "api", "etl"];
const SITE_NAMES: &[&str] = &["shop", "portal", "api", "crm", "intranet", "booking"];
const SQL_NAMES: &[&str] = &["core", "sales", "ops", "erp"];
const DB_NAMES: &[&str] = &[
    "orders",
    "customers",
    "inventory",
    "billing",
    "reporting",
    "audit",
];
const RG_BASES: &[&str] = &["rg-web", "rg-data", "rg-app", "rg-shared"];
const ENVIRONMENTS: &[&str] = &["", "-dev", "-test", "-stage", "-dr"];

const OWNER: (&str, &str) = ("Owner", "8e3af657-a8ff-443c-a75c-2fe8c4bcb635");
const CONTRIBUTOR: (&str, &str) = ("Contributor", "b24988ac-6180-42a0-ab88-20f7382dd24c");
const READER: (&str, &str) = ("Reader", "acdd72a7-3385-48ef-bd42-f606fba81ae7");

// ---------------------------------------------------------------------------------------------
// The world of one partner
// ---------------------------------------------------------------------------------------------

/// How a partner's resources are billed on one meter.
#[derive(Debug, Clone)]
struct Meter {
    product: Product,
    meter_type: &'static str,
    category: &'static str,
    sub_category: String,
    name: String,
    id: String,
    unit: &'static str,
    consumed_service: &'static str,
    charge_type: &'static str,
    /// In the pricing currency, millionths.
    unit_price: i64,
    unit_price_text: String,
    quantity: Quantity,
    benefit: Benefit,
    /// First-party consumption that earns PEC with the right access.
    earns: bool,
    /// Only on this usage day (index), or every day.
    only_day: Option<u32>,
}

/// How much of a meter a day consumes.
#[derive(Debug, Clone, Copy)]
enum Quantity {
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
    fn sample(self, rng: &mut Rng, month_days: i64) -> i64 {
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
enum Benefit {
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
enum VmVariant {
    Standard,
    Reservation,
    SavingsPlan,
    Spot,
    ThirdParty,
}

/// A stretch `(from, to]` in which a customer's snapshots are missing.
type Gap = (DateTime<Utc>, DateTime<Utc>);

/// A true presence of eligible access: `[from, until)`, `None` = still held.
type Span = (DateTime<Utc>, Option<DateTime<Utc>>);

/// A billed resource.
#[derive(Debug, Clone)]
struct Resource {
    uri: String,
    resource_group: String,
    tags: &'static str,
    additional_info: String,
    meters: Vec<Meter>,
    /// Eligible access that truly covers it, sorted.
    spans: Vec<Span>,
}

#[derive(Debug, Clone)]
struct Subscription {
    id: String,
    resource_groups: Vec<String>,
    /// ARM ids of SQL servers (parents of billed databases).
    sql_servers: Vec<String>,
    resources: Vec<Resource>,
    /// Lines without a resource (support, reservation purchase and refund).
    extras: Vec<Meter>,
    /// Eligible access that truly covers the subscription itself (for the extras).
    spans: Vec<Span>,
}

/// The access scenario of a customer (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
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

const SPECIAL_SCENARIOS: [Scenario; 8] = [
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
struct Grant {
    assignment: Assignment,
    scope_key: String,
    from: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
    /// Whether Microsoft pays PEC for it (eligible role, permanent, AOBO or a matching PAL).
    earns: bool,
}

impl Grant {
    fn held_at(&self, t: DateTime<Utc>) -> bool {
        self.from <= t && self.until.is_none_or(|u| t < u)
    }
}

#[derive(Debug, Clone)]
struct Customer {
    id: String,
    name: String,
    domain: String,
    country: &'static str,
    currency: &'static str,
    /// Where its resources run.
    region: Region,
    tier2_mpn: String,
    subscriptions: Vec<Subscription>,
    grants: Vec<Grant>,
    snapshot_gap: Option<Gap>,
}

#[derive(Debug, Clone)]
struct Partner {
    index: u32,
    id: String,
    name: String,
    mpn: String,
    source: &'static str,
    customers: Vec<Customer>,
}

/// Naming and numbering shared across partners.
struct NameState {
    partner_offset: usize,
    customer_offset: usize,
    next_customer: u64,
    next_special: usize,
    used_mpns: BTreeSet<u64>,
}

impl NameState {
    fn unique_mpn(&mut self, rng: &mut Rng) -> String {
        loop {
            let mpn = rng.mpn();
            if self.used_mpns.insert(mpn) {
                return mpn.to_string();
            }
        }
    }
}

/// Per-partner facts the customer builder needs.
struct PartnerCtx<'a> {
    options: &'a GenerateOptions,
    mpn: &'a str,
    admin_agents: &'a str,
    gdap_group: &'a str,
    lighthouse_principals: &'a [(String, PrincipalType)],
    times: &'a [DateTime<Utc>],
    /// (partner-wide resource ordinal, VM variant) placed whatever the dice say.
    forced: &'a [(u64, VmVariant)],
}

fn build_partner(
    options: &GenerateOptions,
    p: u32,
    times: &[DateTime<Utc>],
    names: &mut NameState,
) -> Partner {
    let mut rng = Rng::derive(options.seed, &[STREAM_PARTNER, u64::from(p)]);
    let id = rng.guid();
    let base = PARTNER_NAMES[(names.partner_offset + p as usize) % PARTNER_NAMES.len()];
    let round = p as usize / PARTNER_NAMES.len();
    let name = if round == 0 {
        base.to_string()
    } else {
        format!("{base} {}", round + 1)
    };
    let mpn = names.unique_mpn(&mut rng);
    let indirect = p % 3 == 1;
    let resellers: Vec<String> = if indirect {
        (0..rng.between(2, 4))
            .map(|_| names.unique_mpn(&mut rng))
            .collect()
    } else {
        Vec::new()
    };
    let admin_agents = rng.guid();
    let gdap_group = rng.guid();
    let lighthouse_principals = vec![
        (rng.guid(), PrincipalType::Group),
        (rng.guid(), PrincipalType::User),
        (rng.guid(), PrincipalType::ServicePrincipal),
    ];
    let source = *rng.pick(SOURCES);

    // One reservation, savings plan, Spot and third-party VM per partner at random places.
    let total = u64::from(options.customers_per_partner)
        * u64::from(options.subscriptions_per_customer)
        * u64::from(options.resources_per_subscription);
    let mut forced: Vec<(u64, VmVariant)> = Vec::new();
    let variants = [
        VmVariant::Reservation,
        VmVariant::SavingsPlan,
        VmVariant::Spot,
        VmVariant::ThirdParty,
    ];
    for variant in variants.into_iter().take(total.min(4) as usize) {
        loop {
            let ordinal = rng.below(total);
            if forced.iter().all(|(o, _)| *o != ordinal) {
                forced.push((ordinal, variant));
                break;
            }
        }
    }

    let ctx = PartnerCtx {
        options,
        mpn: &mpn,
        admin_agents: &admin_agents,
        gdap_group: &gdap_group,
        lighthouse_principals: &lighthouse_principals,
        times,
        forced: &forced,
    };
    let mut customers = Vec::with_capacity(options.customers_per_partner as usize);
    for c in 0..options.customers_per_partner {
        let g = names.next_customer;
        names.next_customer += 1;
        let scenario = if matches!(g % 5, 1 | 3) {
            names.next_special += 1;
            SPECIAL_SCENARIOS[(names.next_special - 1) % SPECIAL_SCENARIOS.len()]
        } else {
            Scenario::Steady
        };
        let mut crng = Rng::derive(options.seed, &[STREAM_CUSTOMER, u64::from(p), u64::from(c)]);
        let tier2 = if resellers.is_empty() {
            String::new()
        } else {
            crng.pick(&resellers).clone()
        };
        let base = CUSTOMER_NAMES[(names.customer_offset + g as usize) % CUSTOMER_NAMES.len()];
        customers.push(build_customer(&ctx, c, g, base, scenario, tier2, &mut crng));
    }
    Partner {
        index: p,
        id,
        name,
        mpn,
        source,
        customers,
    }
}

fn build_customer(
    ctx: &PartnerCtx,
    c: u32,
    g: u64,
    base_name: &str,
    scenario: Scenario,
    tier2_mpn: String,
    rng: &mut Rng,
) -> Customer {
    let options = ctx.options;
    let round = g as usize / CUSTOMER_NAMES.len();
    let name = if round == 0 {
        base_name.to_string()
    } else {
        format!("{base_name} {}", round + 1)
    };
    let slug: String = base_name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_lowercase();
    let domain = if round == 0 {
        format!("{slug}.onmicrosoft.com")
    } else {
        format!("{slug}{}.onmicrosoft.com", round + 1)
    };
    let eur = match g {
        0 => false,
        1 => true,
        _ => rng.chance(25),
    };
    let (currency, country, regions) = if eur {
        ("EUR", *rng.pick(EUR_COUNTRIES), EUR_REGIONS)
    } else {
        ("USD", *rng.pick(USD_COUNTRIES), USD_REGIONS)
    };
    let region = *rng.pick(regions);
    let id = rng.guid();

    let mut subscriptions = Vec::new();
    for s in 0..options.subscriptions_per_customer {
        let first_ordinal = (u64::from(c) * u64::from(options.subscriptions_per_customer)
            + u64::from(s))
            * u64::from(options.resources_per_subscription);
        subscriptions.push(build_subscription(
            ctx,
            s,
            first_ordinal,
            currency,
            region,
            rng,
        ));
    }
    add_extras(ctx, &mut subscriptions, currency, region, rng);

    let mut customer = Customer {
        id,
        name,
        domain,
        country,
        currency,
        region,
        tier2_mpn,
        subscriptions,
        grants: Vec::new(),
        snapshot_gap: None,
    };
    let (grants, snapshot_gap) = build_grants(ctx, &customer, scenario, rng);
    customer.grants = grants;
    customer.snapshot_gap = snapshot_gap;
    // Pre-compute, per resource and subscription, the true eligible access over it.
    for sub in &mut customer.subscriptions {
        sub.spans = spans_over(
            &customer.grants,
            &normalize_resource_id(&format!("/subscriptions/{}", sub.id)),
        );
        for res in &mut sub.resources {
            res.spans = spans_over(&customer.grants, &normalize_resource_id(&res.uri));
        }
    }
    customer
}

fn spans_over(grants: &[Grant], key: &str) -> Vec<Span> {
    let mut spans: Vec<Span> = grants
        .iter()
        .filter(|g| g.earns && scope_covers(&g.scope_key, key))
        .map(|g| (g.from, g.until))
        .collect();
    spans.sort();
    spans
}

/// Whether `spans` (sorted by start) cover `[from, to]`.
fn spans_cover(spans: &[Span], from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
    let mut reached = from;
    for &(start, until) in spans {
        if start > reached {
            return false;
        }
        match until {
            None => return true,
            Some(u) if u > reached => reached = u,
            Some(_) => {}
        }
        if reached >= to {
            return true;
        }
    }
    false
}

fn build_subscription(
    ctx: &PartnerCtx,
    s: u32,
    first_ordinal: u64,
    currency: &'static str,
    region: Region,
    rng: &mut Rng,
) -> Subscription {
    let rps = ctx.options.resources_per_subscription;
    let id = rng.guid();
    let env = ENVIRONMENTS[s as usize % ENVIRONMENTS.len()];
    let rg_count = (rps / 4 + 1).clamp(1, RG_BASES.len() as u32) as usize;
    let resource_groups: Vec<String> = RG_BASES[..rg_count]
        .iter()
        .map(|b| format!("{b}{env}"))
        .collect();
    // Preferred resource group per kind: web sites rg-web, SQL rg-data, VMs rg-app, storage rg-shared.
    let rg_for = |preferred: usize| resource_groups[preferred % rg_count].clone();
    let mut sub = Subscription {
        id: id.clone(),
        resource_groups: resource_groups.clone(),
        sql_servers: Vec::new(),
        resources: Vec::new(),
        extras: Vec::new(),
        spans: Vec::new(),
    };
    // An open SQL server: (rg, server id, databases still to add).
    let mut open_server: Option<(String, String, u32)> = None;
    for r in 0..rps {
        let ordinal = first_ordinal + u64::from(r);
        let name_no = r + 1;
        if let Some(&(_, variant)) = ctx.forced.iter().find(|(o, _)| *o == ordinal) {
            let rg = rg_for(2);
            sub.resources
                .push(vm(&id, &rg, name_no, variant, currency, region, rng));
            continue;
        }
        if let Some((rg, server, left)) = open_server.as_mut() {
            if *left > 0 {
                *left -= 1;
                let db = sql_database(server, rg, name_no, currency, region, rng);
                sub.resources.push(db);
                continue;
            }
        }
        let roll = rng.below(100);
        let resource = if roll < 35 {
            let variant = match rng.below(100) {
                0..=7 => VmVariant::Reservation,
                8..=13 => VmVariant::SavingsPlan,
                14..=19 => VmVariant::Spot,
                20..=25 => VmVariant::ThirdParty,
                _ => VmVariant::Standard,
            };
            vm(&id, &rg_for(2), name_no, variant, currency, region, rng)
        } else if roll < 60 {
            site(&id, &rg_for(0), name_no, currency, region, rng)
        } else if roll < 80 {
            let rg = rg_for(1);
            let server = format!(
                "/subscriptions/{id}/resourceGroups/{rg}/providers/Microsoft.Sql/servers/sql-{}-{name_no:02}",
                rng.pick(SQL_NAMES)
            );
            sub.sql_servers.push(server.clone());
            let db = sql_database(&server, &rg, name_no, currency, region, rng);
            open_server = Some((rg, server, rng.between(0, 2) as u32));
            db
        } else {
            storage_account(&id, &rg_for(3), name_no, currency, region, rng)
        };
        sub.resources.push(resource);
    }
    sub
}

#[allow(clippy::too_many_arguments)]
fn meter(
    product: Product,
    category: &'static str,
    sub_category: &str,
    name: &str,
    region: Region,
    unit: &'static str,
    consumed_service: &'static str,
    unit_price: i64,
    quantity: Quantity,
) -> Meter {
    Meter {
        product,
        meter_type: unit_meter_type(unit),
        category,
        sub_category: sub_category.to_string(),
        name: name.to_string(),
        id: stable_guid(&format!("{category}|{sub_category}|{name}|{}", region.1)),
        unit,
        consumed_service,
        charge_type: "new",
        unit_price,
        unit_price_text: micro_text(unit_price),
        quantity,
        benefit: Benefit::None,
        earns: product.publisher_name == "Microsoft",
        only_day: None,
    }
}

fn unit_meter_type(unit: &str) -> &'static str {
    match unit {
        "1 Hour" => "1 Compute Hour",
        "1 GB" => "1 GB",
        "1 GB/Month" => "1 GB/Month",
        "10K" => "10K Operations",
        _ => "1/Month",
    }
}

fn bandwidth(region: Region, currency: &str, service: &'static str) -> Meter {
    meter(
        AZURE_PLAN,
        "Bandwidth",
        "Rtn Preference: MGN",
        "Standard Data Transfer Out",
        region,
        "1 GB",
        service,
        local_price(87_000, currency),
        Quantity::Range {
            lo: 10_000,
            hi: 60 * MICRO,
        },
    )
}

fn vm(
    sub: &str,
    rg: &str,
    no: u32,
    variant: VmVariant,
    currency: &str,
    region: Region,
    rng: &mut Rng,
) -> Resource {
    let role = rng.pick(VM_ROLES);
    let uri = format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/vm-{role}-{no:02}");
    let &(size, series, service_type, vcpus, usd) = rng.pick(VM_SIZES);
    let spot = variant == VmVariant::Spot;
    let (name, price) = if spot {
        (format!("{size} Spot"), usd / 5)
    } else {
        (size.to_string(), usd)
    };
    let short = if spot { 30 } else { 10 };
    let mut compute = meter(
        AZURE_PLAN,
        "Virtual Machines",
        series,
        &name,
        region,
        "1 Hour",
        "Microsoft.Compute",
        local_price(price, currency),
        Quantity::Hours {
            full: 24 * MICRO,
            short_percent: short,
        },
    );
    compute.earns = !spot;
    match variant {
        VmVariant::Reservation => {
            compute.benefit = Benefit::Reservation {
                order_id: rng.guid(),
                benefit_id: rng.guid(),
            };
            compute.earns = false;
        }
        VmVariant::SavingsPlan => {
            compute.benefit = Benefit::SavingsPlan {
                order_id: rng.guid(),
                benefit_id: rng.guid(),
            };
            compute.earns = false;
        }
        _ => {}
    }
    let mut meters = vec![compute];
    if variant == VmVariant::ThirdParty {
        let &(product, usd_hour) = rng.pick(MARKETPLACE);
        meters.push(meter(
            product,
            "Virtual Machine Licenses",
            product.product_name,
            product.sku_name,
            region,
            "1 Hour",
            "Microsoft.Compute",
            local_price(usd_hour * i64::from(vcpus) / 2, currency),
            Quantity::Hours {
                full: 24 * MICRO,
                short_percent: 10,
            },
        ));
    } else if rng.chance(50) {
        meters.push(bandwidth(region, currency, "Microsoft.Compute"));
    }
    Resource {
        uri,
        resource_group: rg.to_string(),
        tags: rng.pick_copy(TAGS),
        additional_info: format!(r#"{{"ServiceType":"{service_type}","VCPUs":{vcpus}}}"#),
        meters,
        spans: Vec::new(),
    }
}

fn site(sub: &str, rg: &str, no: u32, currency: &str, region: Region, rng: &mut Rng) -> Resource {
    let uri = format!(
        "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Web/sites/app-{}-{no:02}",
        rng.pick(SITE_NAMES)
    );
    let &(plan, usd) = rng.pick(APP_SERVICE_PLANS);
    let instances = rng.between(1, 3);
    let mut meters = vec![meter(
        AZURE_PLAN,
        "Azure App Service",
        "Premium v3 Plan",
        plan,
        region,
        "1 Hour",
        "Microsoft.Web",
        local_price(usd, currency),
        Quantity::Hours {
            full: instances * 24 * MICRO,
            short_percent: 0,
        },
    )];
    if rng.chance(40) {
        meters.push(bandwidth(region, currency, "Microsoft.Web"));
    }
    Resource {
        uri,
        resource_group: rg.to_string(),
        tags: rng.pick_copy(TAGS),
        additional_info: String::new(),
        meters,
        spans: Vec::new(),
    }
}

fn sql_database(
    server: &str,
    rg: &str,
    no: u32,
    currency: &str,
    region: Region,
    rng: &mut Rng,
) -> Resource {
    let uri = format!("{server}/databases/{}-{no:02}", rng.pick(DB_NAMES));
    let vcores = *rng.pick(&[2, 4, 8]);
    let mut meters = vec![meter(
        AZURE_PLAN,
        "SQL Database",
        "General Purpose - Compute Gen5",
        "vCore",
        region,
        "1 Hour",
        "Microsoft.Sql",
        local_price(252_200, currency),
        Quantity::Hours {
            full: vcores * 24 * MICRO,
            short_percent: 0,
        },
    )];
    if rng.chance(70) {
        meters.push(meter(
            AZURE_PLAN,
            "SQL Database",
            "General Purpose - Storage",
            "Data Stored",
            region,
            "1 GB/Month",
            "Microsoft.Sql",
            local_price(115_000, currency),
            Quantity::PerMonth {
                amount: rng.between(32, 1024) * MICRO,
            },
        ));
    }
    Resource {
        uri,
        resource_group: rg.to_string(),
        tags: rng.pick_copy(TAGS),
        additional_info: String::new(),
        meters,
        spans: Vec::new(),
    }
}

fn storage_account(
    sub: &str,
    rg: &str,
    no: u32,
    currency: &str,
    region: Region,
    rng: &mut Rng,
) -> Resource {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let suffix: String = (0..8).map(|_| char::from(*rng.pick(ALPHABET))).collect();
    let uri =
        format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/st{suffix}{no:02}");
    let mut meters = vec![meter(
        AZURE_PLAN,
        "Storage",
        "Tiered Block Blob",
        "Hot LRS Data Stored",
        region,
        "1 GB/Month",
        "Microsoft.Storage",
        local_price(18_400, currency),
        Quantity::PerMonth {
            amount: rng.between(20, 8000) * MICRO,
        },
    )];
    if rng.chance(60) {
        meters.push(meter(
            AZURE_PLAN,
            "Storage",
            "Tiered Block Blob",
            "Hot LRS Write Operations",
            region,
            "10K",
            "Microsoft.Storage",
            local_price(55_000, currency),
            Quantity::Range {
                lo: 50_000,
                hi: 80 * MICRO,
            },
        ));
    }
    Resource {
        uri,
        resource_group: rg.to_string(),
        tags: rng.pick_copy(TAGS),
        additional_info: String::new(),
        meters,
        spans: Vec::new(),
    }
}

/// Lines without a resource: a daily support charge on the first subscription of some
/// customers; a reservation `purchase` on the first day and a `refund` on the last day (when
/// there are two days or more) where a VM runs on a reservation.
fn add_extras(
    ctx: &PartnerCtx,
    subs: &mut [Subscription],
    currency: &str,
    region: Region,
    rng: &mut Rng,
) {
    let days = ctx.options.days;
    let support = rng.chance(35);
    if let Some(first) = subs.first_mut() {
        if support || first.resources.is_empty() {
            first.extras.push(meter(
                AZURE_PLAN,
                "Support",
                "Developer Support",
                "Developer Support",
                region,
                "1/Month",
                "",
                local_price(29 * MICRO, currency),
                Quantity::MonthShare,
            ));
        }
    }
    for sub in subs.iter_mut() {
        let reserved: Vec<(String, i64)> = sub
            .resources
            .iter()
            .flat_map(|r| &r.meters)
            .filter(|m| matches!(m.benefit, Benefit::Reservation { .. }))
            .map(|m| (m.name.clone(), m.unit_price))
            .collect();
        let Some((size, hourly)) = reserved.first().cloned() else {
            continue;
        };
        // A one-year reservation billed monthly: 730 hours at about 60 % of the hourly price.
        let monthly = div_round(i128::from(hourly) * 730 * 60, 100);
        let make = |charge_type: &'static str, quantity: i64, day: u32, order_id: String| {
            let mut line = meter(
                RESERVED_VM,
                "Virtual Machines",
                "Reservation-Base VM",
                &format!("{size} Reservation"),
                region,
                "1/Month",
                "Microsoft.Capacity",
                monthly,
                Quantity::Fixed(quantity),
            );
            line.charge_type = charge_type;
            line.earns = false;
            line.only_day = Some(day);
            line.benefit = Benefit::Reservation {
                order_id,
                benefit_id: String::new(),
            };
            line
        };
        if days >= 1 {
            let order = rng.guid();
            sub.extras.push(make("purchase", MICRO, 0, order));
        }
        if days >= 2 {
            let order = rng.guid();
            sub.extras.push(make("refund", -MICRO, days - 1, order));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Access: what really existed, by scenario
// ---------------------------------------------------------------------------------------------

/// An assignment to create: who holds which role where, and when it truly existed.
struct Access<'a> {
    scope: String,
    role: (&'static str, &'static str),
    principal: (&'a str, PrincipalType),
    access_type: AccessType,
    pal: Option<String>,
    assignment_type: AssignmentType,
    created_on: Option<DateTime<Utc>>,
    /// Held since; `MIN_UTC` = since long before the period.
    from: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
}

impl<'a> Access<'a> {
    /// Permanent, without Partner Admin Link or `createdOn`, held since long before the period.
    fn new(
        scope: impl Into<String>,
        role: (&'static str, &'static str),
        principal: (&'a str, PrincipalType),
        access_type: AccessType,
    ) -> Self {
        Access {
            scope: scope.into(),
            role,
            principal,
            access_type,
            pal: None,
            assignment_type: AssignmentType::Permanent,
            created_on: None,
            from: DateTime::<Utc>::MIN_UTC,
            until: None,
        }
    }

    fn pal(mut self, pal: Option<String>) -> Self {
        self.pal = pal;
        self
    }

    fn kind(mut self, assignment_type: AssignmentType) -> Self {
        self.assignment_type = assignment_type;
        self
    }

    /// Created (and held from) `at`, which the snapshots report as `createdOn`.
    fn created(mut self, at: DateTime<Utc>) -> Self {
        self.created_on = Some(at);
        self.from = at;
        self
    }

    /// Deleted at `at`.
    fn until(mut self, at: DateTime<Utc>) -> Self {
        self.until = Some(at);
        self
    }
}

/// Turns [`Access`] into grants for one customer, knowing which MPNs a link must name.
struct GrantMaker<'a> {
    mpn: &'a str,
    tier2: &'a str,
}

impl GrantMaker<'_> {
    fn grant(&self, rng: &mut Rng, access: Access) -> Grant {
        let pal_matches = access
            .pal
            .as_deref()
            .is_some_and(|p| p == self.mpn || (!self.tier2.is_empty() && p == self.tier2));
        let earns = matches!(access.role.0, "Owner" | "Contributor")
            && access.assignment_type == AssignmentType::Permanent
            && (access.access_type == AccessType::Aobo || pal_matches);
        let id = format!(
            "{}/providers/Microsoft.Authorization/roleAssignments/{}",
            access.scope,
            rng.guid()
        );
        Grant {
            scope_key: normalize_resource_id(&access.scope),
            assignment: Assignment {
                id,
                scope: access.scope,
                role_definition_id: access.role.1.to_string(),
                role_name: access.role.0.to_string(),
                principal_id: access.principal.0.to_string(),
                principal_type: access.principal.1,
                access_type: access.access_type,
                partner_admin_link_mpn_id: access.pal,
                assignment_type: access.assignment_type,
                created_on: access.created_on,
            },
            from: access.from,
            until: access.until,
            earns,
        }
    }

    /// The reseller's MPN most of the time when there is a reseller, else the partner's.
    fn pal(&self, rng: &mut Rng) -> Option<String> {
        if !self.tier2.is_empty() && rng.chance(70) {
            Some(self.tier2.to_string())
        } else {
            Some(self.mpn.to_string())
        }
    }
}

/// A random second-precision instant `lo_hours..hi_hours` after `base`.
fn instant(rng: &mut Rng, base: DateTime<Utc>, lo_hours: i64, hi_hours: i64) -> DateTime<Utc> {
    base + Duration::seconds(rng.between(lo_hours * 3600, hi_hours * 3600))
}

/// The customer's true assignments for its scenario, and the snapshot gap if it has one.
fn build_grants(
    ctx: &PartnerCtx,
    customer: &Customer,
    scenario: Scenario,
    rng: &mut Rng,
) -> (Vec<Grant>, Option<Gap>) {
    use AccessType::{Aobo, Gdap, Lighthouse};
    use AssignmentType::{Activated, Eligible};
    let options = ctx.options;
    let t0 = day_start(options.start);
    let days = i64::from(options.days.max(1));
    let make = GrantMaker {
        mpn: ctx.mpn,
        tier2: &customer.tier2_mpn,
    };
    let aobo = (ctx.admin_agents, PrincipalType::ForeignGroup);
    let gdap = (ctx.gdap_group, PrincipalType::ForeignGroup);
    let lighthouse = |i: usize| {
        (
            ctx.lighthouse_principals[i].0.as_str(),
            ctx.lighthouse_principals[i].1,
        )
    };
    // Some time in the 900 to 30 days before the period.
    let long_ago = |rng: &mut Rng| instant(rng, t0 - Duration::days(900), 0, 870 * 24);
    let sub_scope = |s: &Subscription| format!("/subscriptions/{}", s.id);
    let rg_scope = |s: &Subscription| {
        format!(
            "/subscriptions/{}/resourceGroups/{}",
            s.id, s.resource_groups[0]
        )
    };
    let mut grants = Vec::new();
    let mut snapshot_gap = None;

    match scenario {
        Scenario::Steady => {
            for sub in &customer.subscriptions {
                let created = long_ago(rng);
                grants.push(make.grant(
                    rng,
                    Access::new(sub_scope(sub), OWNER, aobo, Aobo).created(created),
                ));
            }
            if let Some(sub) = customer.subscriptions.first() {
                if rng.chance(30) {
                    let pal = Some(ctx.mpn.to_string());
                    let access = Access::new(rg_scope(sub), OWNER, gdap, Gdap)
                        .pal(pal)
                        .kind(Eligible);
                    grants.push(make.grant(rng, access));
                }
                if rng.chance(20) {
                    let pal = make.pal(rng);
                    grants.push(make.grant(
                        rng,
                        Access::new(sub_scope(sub), READER, lighthouse(1), Lighthouse).pal(pal),
                    ));
                }
            }
        }
        Scenario::RemovedAndRestored => {
            // Removed on a day that leaves room to see the restore when the period allows.
            let day = t0 + Duration::days(rng.below((days - 2).max(1) as u64) as i64);
            let removed = instant(rng, day, 6, 18);
            let restored = instant(rng, removed, 24, 60);
            for sub in &customer.subscriptions {
                let created = long_ago(rng);
                let before = Access::new(sub_scope(sub), OWNER, aobo, Aobo)
                    .created(created)
                    .until(removed);
                grants.push(make.grant(rng, before));
                grants.push(make.grant(
                    rng,
                    Access::new(sub_scope(sub), OWNER, aobo, Aobo).created(restored),
                ));
            }
        }
        Scenario::ReaderOnly => {
            for sub in &customer.subscriptions {
                let created = long_ago(rng);
                grants.push(make.grant(
                    rng,
                    Access::new(sub_scope(sub), READER, aobo, Aobo).created(created),
                ));
            }
        }
        Scenario::PimOnly => {
            for (i, sub) in customer.subscriptions.iter().enumerate() {
                let (created, pal) = (long_ago(rng), make.pal(rng));
                let access = Access::new(sub_scope(sub), OWNER, gdap, Gdap)
                    .pal(pal)
                    .kind(Eligible)
                    .created(created);
                grants.push(make.grant(rng, access));
                if i > 0 {
                    continue;
                }
                // Just-in-time activations of about eight hours on some days.
                for d in 0..days {
                    if rng.chance(50) {
                        let (on, pal) =
                            (instant(rng, t0 + Duration::days(d), 7, 12), make.pal(rng));
                        let access = Access::new(sub_scope(sub), OWNER, gdap, Gdap)
                            .pal(pal)
                            .kind(Activated);
                        grants.push(
                            make.grant(rng, access.created(on).until(on + Duration::hours(8))),
                        );
                    }
                }
            }
        }
        Scenario::LighthousePal | Scenario::LighthouseNoPal => {
            for sub in &customer.subscriptions {
                let principal =
                    lighthouse(rng.below(ctx.lighthouse_principals.len() as u64) as usize);
                let pal = if scenario == Scenario::LighthousePal {
                    make.pal(rng)
                } else if rng.chance(40) {
                    // Linked to some other partner: does not match.
                    Some(rng.between(1_000_000, 1_099_999).to_string())
                } else {
                    None
                };
                grants.push(make.grant(
                    rng,
                    Access::new(sub_scope(sub), CONTRIBUTOR, principal, Lighthouse).pal(pal),
                ));
                if rng.chance(50) {
                    // A monitoring tool's read access alongside.
                    let pal = Some(ctx.mpn.to_string());
                    grants.push(make.grant(
                        rng,
                        Access::new(sub_scope(sub), READER, lighthouse(2), Lighthouse).pal(pal),
                    ));
                }
            }
        }
        Scenario::GdapReseller => {
            let pal = if customer.tier2_mpn.is_empty() {
                ctx.mpn
            } else {
                customer.tier2_mpn.as_str()
            };
            for sub in &customer.subscriptions {
                let created = long_ago(rng);
                let access =
                    Access::new(sub_scope(sub), CONTRIBUTOR, gdap, Gdap).pal(Some(pal.to_string()));
                grants.push(make.grant(rng, access.created(created)));
            }
        }
        Scenario::Scoped => {
            for sub in &customer.subscriptions {
                let created = long_ago(rng);
                grants.push(make.grant(
                    rng,
                    Access::new(rg_scope(sub), CONTRIBUTOR, aobo, Aobo).created(created),
                ));
                // A SQL server (covering its databases), else a resource outside that group.
                let target = sub
                    .sql_servers
                    .first()
                    .or_else(|| {
                        sub.resources
                            .iter()
                            .find(|r| r.resource_group != sub.resource_groups[0])
                            .map(|r| &r.uri)
                    })
                    .or_else(|| sub.resources.first().map(|r| &r.uri));
                if let Some(scope) = target {
                    grants.push(make.grant(rng, Access::new(scope.as_str(), OWNER, aobo, Aobo)));
                }
            }
        }
        Scenario::SnapshotGap => {
            for sub in &customer.subscriptions {
                grants.push(make.grant(rng, Access::new(sub_scope(sub), OWNER, aobo, Aobo)));
            }
            // Skip every snapshot for 26–36 h after a retained one, keeping the last.
            if let Some(&last) = ctx.times.last() {
                let candidates: Vec<DateTime<Utc>> = ctx
                    .times
                    .iter()
                    .copied()
                    .filter(|&t| t + Duration::hours(26) < last)
                    .collect();
                if !candidates.is_empty() {
                    let from = *rng.pick(&candidates);
                    let to = instant(rng, from, 26, 36).min(last - Duration::seconds(1));
                    snapshot_gap = Some((from, to));
                }
            }
        }
    }
    (grants, snapshot_gap)
}

// ---------------------------------------------------------------------------------------------
// Writing usage files
// ---------------------------------------------------------------------------------------------

/// A usage file being written, plain or gzip.
/// One per open file: the size of the gzip state (larger with flate2's zlib-rs backend, which
/// the XLSX writer's zip dependency selects) does not matter.
#[allow(clippy::large_enum_variant)]
enum Sink {
    Plain(BufWriter<File>),
    Gzip(GzEncoder<BufWriter<File>>),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Plain(w) => w.write(buf),
            Sink::Gzip(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Plain(w) => w.flush(),
            Sink::Gzip(w) => w.flush(),
        }
    }
}

impl Sink {
    fn finish(self) -> io::Result<()> {
        match self {
            Sink::Plain(mut w) => w.flush(),
            Sink::Gzip(w) => w.finish()?.flush(),
        }
    }
}

/// The per-day values shared by every row of a file.
struct Day {
    date: String,
    charge_start: String,
    charge_end: String,
    invoice: String,
    month_days: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

/// Reused text buffers for a row's computed columns.
#[derive(Default)]
struct RowText {
    quantity: String,
    total: String,
    effective: String,
}

fn write_usage(
    options: &GenerateOptions,
    out_dir: &Path,
    partner: &Partner,
    dates: &[NaiveDate],
    rows: &mut u64,
) -> io::Result<Vec<PathBuf>> {
    let dir = Path::new("usage").join(&partner.id);
    fs::create_dir_all(out_dir.join(&dir))?;
    let mut files = Vec::with_capacity(dates.len());
    let mut text = RowText::default();
    for (d, &date) in dates.iter().enumerate() {
        let extension = if options.gzip { "csv.gz" } else { "csv" };
        let relative = dir.join(format!("{date}.{extension}"));
        let file = BufWriter::with_capacity(1 << 20, File::create(out_dir.join(&relative))?);
        let mut sink = if options.gzip {
            Sink::Gzip(GzEncoder::new(file, Compression::fast()))
        } else {
            Sink::Plain(file)
        };
        sink.write_all("\u{feff}".as_bytes())?;
        let mut csv = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .buffer_capacity(1 << 16)
            .from_writer(sink);
        csv.write_record(crate::usage::usage_header())?;

        let first = date.with_day(1).expect("day 1 exists");
        let month_days = days_in_month(date);
        let month_key = (first.year() as u64) * 12 + u64::from(first.month());
        let day = Day {
            date: date.format("%Y-%m-%d").to_string(),
            charge_start: us_date(first),
            charge_end: us_date(first + Duration::days(month_days - 1)),
            invoice: format!(
                "G{:09}",
                mix64(options.seed ^ hash_str(&partner.id) ^ month_key) % 1_000_000_000
            ),
            month_days,
            from: day_start(date),
            to: day_start(date + Duration::days(1)),
        };
        let mut rng = Rng::derive(
            options.seed,
            &[STREAM_USAGE, u64::from(partner.index), d as u64],
        );
        for customer in &partner.customers {
            for sub in &customer.subscriptions {
                for res in &sub.resources {
                    // Microsoft's view: whole-day eligible access, sometimes wrong.
                    let paid = spans_cover(&res.spans, day.from, day.to) != rng.chance(2);
                    for m in &res.meters {
                        write_row(
                            &mut csv,
                            &mut text,
                            partner,
                            customer,
                            sub,
                            Some(res),
                            m,
                            &day,
                            paid,
                            &mut rng,
                        )?;
                        *rows += 1;
                    }
                }
                let paid = spans_cover(&sub.spans, day.from, day.to) != rng.chance(2);
                for m in sub
                    .extras
                    .iter()
                    .filter(|m| m.only_day.is_none_or(|x| x as usize == d))
                {
                    write_row(
                        &mut csv, &mut text, partner, customer, sub, None, m, &day, paid, &mut rng,
                    )?;
                    *rows += 1;
                }
            }
        }
        csv.into_inner()
            .map_err(|e| io::Error::other(e.to_string()))?
            .finish()?;
        files.push(relative);
    }
    Ok(files)
}

#[allow(clippy::too_many_arguments)]
fn write_row<W: Write>(
    csv: &mut csv::Writer<W>,
    text: &mut RowText,
    partner: &Partner,
    customer: &Customer,
    sub: &Subscription,
    resource: Option<&Resource>,
    m: &Meter,
    day: &Day,
    paid: bool,
    rng: &mut Rng,
) -> io::Result<()> {
    let quantity = m.quantity.sample(rng, day.month_days);
    let pec: i64 = if m.earns && paid { 15 } else { 0 };
    let effective = match m.benefit {
        Benefit::Reservation { .. } if m.charge_type == "new" => 0,
        Benefit::SavingsPlan { .. } => div_round(i128::from(m.unit_price) * 65, 100),
        _ => div_round(i128::from(m.unit_price) * i128::from(100 - pec), 100),
    };
    text.quantity.clear();
    push_micro(&mut text.quantity, quantity);
    text.effective.clear();
    push_micro(&mut text.effective, effective);
    text.total.clear();
    push_micro(&mut text.total, mul_micro(quantity, effective));
    let (order_id, benefit_id, benefit_type) = match &m.benefit {
        Benefit::None => ("", "", ""),
        Benefit::Reservation {
            order_id,
            benefit_id,
        } => (order_id.as_str(), benefit_id.as_str(), "Reservation"),
        Benefit::SavingsPlan {
            order_id,
            benefit_id,
        } => (order_id.as_str(), benefit_id.as_str(), "SavingsPlan"),
    };
    let (location, meter_region) = customer.region;
    let record: [&str; 55] = [
        &partner.id,
        &partner.name,
        &customer.id,
        &customer.name,
        &customer.domain,
        customer.country,
        &partner.mpn,
        &customer.tier2_mpn,
        &day.invoice,
        m.product.product_id,
        m.product.sku_id,
        m.product.availability_id,
        m.product.sku_name,
        m.product.product_name,
        m.product.publisher_name,
        m.product.publisher_id,
        "Azure plan",
        &sub.id,
        &day.charge_start,
        &day.charge_end,
        &day.date,
        m.meter_type,
        m.category,
        &m.id,
        &m.sub_category,
        &m.name,
        meter_region,
        m.unit,
        location,
        m.consumed_service,
        resource.map_or("", |r| r.resource_group.as_str()),
        resource.map_or("", |r| r.uri.as_str()),
        m.charge_type,
        &m.unit_price_text,
        &text.quantity,
        m.unit,
        &text.total,
        customer.currency,
        &text.total,
        customer.currency,
        "",
        "",
        resource.map_or("", |r| r.tags),
        resource.map_or("", |r| r.additional_info.as_str()),
        &text.effective,
        "1",
        &day.charge_start,
        &sub.id,
        "Azure plan",
        if pec == 15 { "15" } else { "0" },
        "0",
        "",
        order_id,
        benefit_id,
        benefit_type,
    ];
    csv.write_record(record)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Writing snapshots
// ---------------------------------------------------------------------------------------------

/// Writes every customer's snapshots, instant by instant, and returns their paths in that
/// (posting) order.
fn write_snapshots(
    options: &GenerateOptions,
    out_dir: &Path,
    partner: &Partner,
    times: &[DateTime<Utc>],
) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut rngs: Vec<Rng> = (0..partner.customers.len())
        .map(|c| {
            Rng::derive(
                options.seed,
                &[STREAM_SNAPSHOT, u64::from(partner.index), c as u64],
            )
        })
        .collect();
    let mut next_number = vec![0u32; partner.customers.len()];
    let dirs: Vec<PathBuf> = partner
        .customers
        .iter()
        .map(|c| Path::new("snapshots").join(&partner.id).join(&c.id))
        .collect();
    if !times.is_empty() {
        for dir in &dirs {
            fs::create_dir_all(out_dir.join(dir))?;
        }
    }
    for &t in times {
        for (c, customer) in partner.customers.iter().enumerate() {
            if customer
                .snapshot_gap
                .is_some_and(|(from, to)| from < t && t <= to)
            {
                continue;
            }
            let snapshot = Snapshot {
                schema_version: 1,
                snapshot_id: rngs[c].guid(),
                partner_id: partner.id.clone(),
                customer_id: customer.id.clone(),
                taken_at: t,
                source: partner.source.to_string(),
                assignments: customer
                    .grants
                    .iter()
                    .filter(|g| g.held_at(t))
                    .map(|g| g.assignment.clone())
                    .collect(),
            };
            let relative = dirs[c].join(format!("{:06}.json", next_number[c]));
            next_number[c] += 1;
            let mut file = BufWriter::new(File::create(out_dir.join(&relative))?);
            serde_json::to_writer_pretty(&mut file, &snapshot).map_err(io::Error::other)?;
            file.flush()?;
            files.push(relative);
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};
    use std::io::Read;

    /// The header of SPEC 3.1, as written there.
    const SPEC_COLUMNS: &str = "PartnerId, PartnerName, CustomerId, CustomerName, CustomerDomainName, CustomerCountry, \
        MpnId, Tier2MpnId, InvoiceNumber, ProductId, SkuId, AvailabilityId, SkuName, ProductName, PublisherName, \
        PublisherId, SubscriptionDescription, SubscriptionId, ChargeStartDate, ChargeEndDate, UsageDate, MeterType, \
        MeterCategory, MeterId, MeterSubCategory, MeterName, MeterRegion, Unit, ResourceLocation, ConsumedService, \
        ResourceGroup, ResourceURI, ChargeType, UnitPrice, Quantity, UnitType, BillingPreTaxTotal, BillingCurrency, \
        PricingPreTaxTotal, PricingCurrency, ServiceInfo1, ServiceInfo2, Tags, AdditionalInfo, EffectiveUnitPrice, \
        PCToBCExchangeRate, PCToBCExchangeRateDate, EntitlementId, EntitlementDescription, \
        PartnerEarnedCreditPercentage, CreditPercentage, CreditType, BenefitOrderId, BenefitId, BenefitType";

    fn options(seed: u64) -> GenerateOptions {
        GenerateOptions {
            seed,
            partners: 3,
            customers_per_partner: 8,
            subscriptions_per_customer: 2,
            resources_per_subscription: 6,
            start: NaiveDate::from_ymd_opt(2026, 9, 29).unwrap(),
            days: 4,
            snapshot_interval_hours: 12,
            gzip: false,
        }
    }

    /// Every file under `dir`, relative path → bytes.
    fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
        fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
            for entry in fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(root, &path, out);
                } else {
                    out.insert(
                        path.strip_prefix(root).unwrap().to_path_buf(),
                        fs::read(&path).unwrap(),
                    );
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(dir, dir, &mut out);
        out
    }

    /// Header and records of a plain or gzip usage file, checking the BOM.
    fn read_usage(path: &Path) -> (Vec<String>, Vec<csv::StringRecord>) {
        let mut bytes = fs::read(path).unwrap();
        if path.extension().is_some_and(|e| e == "gz") {
            let mut plain = Vec::new();
            flate2::read::GzDecoder::new(&bytes[..])
                .read_to_end(&mut plain)
                .unwrap();
            bytes = plain;
        }
        let body = bytes.strip_prefix("\u{feff}".as_bytes()).expect("BOM");
        let mut reader = csv::Reader::from_reader(body);
        let header = reader.headers().unwrap().iter().map(String::from).collect();
        let records = reader.records().map(Result::unwrap).collect();
        (header, records)
    }

    fn all_rows(set: &GeneratedSet) -> Vec<BTreeMap<String, String>> {
        let mut rows = Vec::new();
        for partner in &set.partners {
            for file in &partner.usage_files {
                let (header, records) = read_usage(file);
                for record in records {
                    rows.push(
                        header
                            .iter()
                            .cloned()
                            .zip(record.iter().map(String::from))
                            .collect(),
                    );
                }
            }
        }
        rows
    }

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        let (a, b, c) = (
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
        );
        generate(&options(7), a.path()).unwrap();
        generate(&options(7), b.path()).unwrap();
        generate(&options(8), c.path()).unwrap();
        let (ta, tb, tc) = (tree(a.path()), tree(b.path()), tree(c.path()));
        assert!(ta.len() > 100);
        assert_eq!(ta, tb);
        assert_ne!(
            ta.get(Path::new("manifest.json")),
            tc.get(Path::new("manifest.json"))
        );
        let first_usage = |t: &BTreeMap<PathBuf, Vec<u8>>| {
            t.iter()
                .find(|(p, _)| p.starts_with("usage"))
                .map(|(_, b)| b.clone())
                .unwrap()
        };
        assert_ne!(first_usage(&ta), first_usage(&tc));
    }

    #[test]
    fn files_rows_and_manifest_add_up() {
        let dir = tempfile::tempdir().unwrap();
        let opts = options(42);
        let set = generate(&opts, dir.path()).unwrap();
        assert_eq!(set.partners.len(), 3);
        let per_day_resources =
            u64::from(opts.customers_per_partner * opts.subscriptions_per_customer)
                * u64::from(opts.resources_per_subscription);
        let mut rows = 0;
        let mut mpns = BTreeSet::new();
        for partner in &set.partners {
            assert_eq!(partner.mpn_id.len(), 7);
            assert!(partner.mpn_id.bytes().all(|b| b.is_ascii_digit()));
            assert!(mpns.insert(partner.mpn_id.clone()));
            assert_eq!(partner.usage_files.len(), opts.days as usize);
            let names: Vec<String> = partner
                .usage_files
                .iter()
                .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect();
            assert_eq!(
                names,
                [
                    "2026-09-29.csv",
                    "2026-09-30.csv",
                    "2026-10-01.csv",
                    "2026-10-02.csv"
                ]
            );
            for file in &partner.usage_files {
                assert!(file.starts_with(dir.path().join("usage").join(&partner.partner_id)));
                let (_, records) = read_usage(file);
                rows += records.len() as u64;
                let with_resource: Vec<&csv::StringRecord> =
                    records.iter().filter(|r| !r[31].is_empty()).collect();
                let distinct: BTreeSet<&str> = with_resource.iter().map(|r| &r[31]).collect();
                // One to two meters per resource, every resource every day.
                assert_eq!(distinct.len() as u64, per_day_resources);
                assert!(with_resource.len() as u64 >= per_day_resources);
                assert!(with_resource.len() as u64 <= 2 * per_day_resources);
                let date = file
                    .file_stem()
                    .unwrap()
                    .to_string_lossy()
                    .replace(".csv", "");
                assert!(records
                    .iter()
                    .all(|r| r[20] == *date && r[0] == *partner.partner_id));
                assert!(records.iter().all(|r| r[6] == *partner.mpn_id));
            }
        }
        assert_eq!(rows, set.usage_rows);
        let snapshots: usize = set.partners.iter().map(|p| p.snapshot_files.len()).sum();
        assert_eq!(snapshots as u64, set.snapshots);

        let manifest: GeneratedSet =
            serde_json::from_slice(&fs::read(dir.path().join("manifest.json")).unwrap()).unwrap();
        assert_eq!(manifest.usage_rows, set.usage_rows);
        assert_eq!(
            dir.path().join(&manifest.partners[1].snapshot_files[3]),
            set.partners[1].snapshot_files[3]
        );
    }

    #[test]
    fn header_is_the_55_spec_columns_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let set = generate(&options(1), dir.path()).unwrap();
        let spec: Vec<&str> = SPEC_COLUMNS.split(',').map(str::trim).collect();
        assert_eq!(spec.len(), 55);
        let (header, records) = read_usage(&set.partners[0].usage_files[0]);
        assert_eq!(header, spec);
        assert!(records.iter().all(|r| r.len() == 55));
        let raw = fs::read(&set.partners[0].usage_files[0]).unwrap();
        assert!(raw.starts_with("\u{feff}PartnerId,PartnerName,".as_bytes()));
        assert!(raw.windows(2).any(|w| w == b"\r\n"));
    }

    #[test]
    fn usage_has_both_currencies_every_ineligible_kind_and_sane_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let set = generate(&options(3), dir.path()).unwrap();
        let rows = all_rows(&set);
        let has = |f: &dyn Fn(&BTreeMap<String, String>) -> bool| rows.iter().any(f);
        assert!(has(&|r| r["PricingCurrency"] == "USD"));
        assert!(has(&|r| r["PricingCurrency"] == "EUR"));
        assert!(rows
            .iter()
            .all(|r| r["PricingCurrency"] == "USD" || r["PricingCurrency"] == "EUR"));
        assert!(has(
            &|r| r["BenefitType"] == "Reservation" && r["ChargeType"] == "new"
        ));
        assert!(has(&|r| r["BenefitType"] == "SavingsPlan"));
        assert!(has(&|r| r["MeterName"].contains(" Spot")));
        assert!(has(&|r| !r["PublisherName"].starts_with("Microsoft")));
        assert!(has(&|r| r["ChargeType"] == "purchase"));
        assert!(has(&|r| r["ChargeType"] == "refund"));
        assert!(has(
            &|r| r["MeterCategory"] == "Support" && r["ResourceURI"].is_empty()
        ));
        assert!(has(&|r| r["PartnerEarnedCreditPercentage"] == "15"));
        assert!(has(
            &|r| r["PartnerEarnedCreditPercentage"] == "0" && r["ChargeType"] == "new"
        ));
        assert!(has(&|r| !r["Tier2MpnId"].is_empty()));
        assert!(has(&|r| r["ResourceURI"]
            .contains("/providers/Microsoft.Sql/servers/")
            && r["ResourceURI"].contains("/databases/")));
        for r in &rows {
            for column in [
                "UnitPrice",
                "Quantity",
                "PricingPreTaxTotal",
                "EffectiveUnitPrice",
            ] {
                let value = &r[column];
                let decimals = value.split_once('.').map_or(0, |(_, f)| f.len());
                assert!(decimals <= 6, "{column} {value}");
                assert!(
                    crate::decimal::parse_decimal(value).is_ok(),
                    "{column} {value}"
                );
            }
            assert!(["15", "0"].contains(&r["PartnerEarnedCreditPercentage"].as_str()));
            // Ineligible products never get Microsoft's credit.
            if !r["BenefitType"].is_empty()
                || r["MeterName"].contains("Spot")
                || r["PublisherName"] != "Microsoft"
            {
                assert_eq!(r["PartnerEarnedCreditPercentage"], "0");
            }
            for column in [
                "PartnerId",
                "CustomerId",
                "MpnId",
                "SubscriptionId",
                "UsageDate",
                "MeterId",
                "MeterName",
            ] {
                assert!(!r[column].is_empty(), "{column}");
            }
        }
    }

    #[test]
    fn snapshots_are_valid_ordered_and_cover_the_scenarios() {
        let dir = tempfile::tempdir().unwrap();
        let opts = options(5);
        let set = generate(&opts, dir.path()).unwrap();
        let end = day_start(opts.start + Duration::days(i64::from(opts.days)));
        let mut values = BTreeSet::new();
        let mut gap_seen = false;
        for partner in &set.partners {
            let mut last_global: Option<DateTime<Utc>> = None;
            let mut per_customer: BTreeMap<String, Vec<DateTime<Utc>>> = BTreeMap::new();
            for file in &partner.snapshot_files {
                let text = fs::read_to_string(file).unwrap();
                let value: serde_json::Value = serde_json::from_str(&text).unwrap();
                for field in [
                    "schemaVersion",
                    "snapshotId",
                    "partnerId",
                    "customerId",
                    "takenAt",
                    "source",
                ] {
                    assert!(value.get(field).is_some(), "{field} in {}", file.display());
                }
                assert_eq!(value["schemaVersion"], 1);
                assert!(value["takenAt"].as_str().unwrap().ends_with('Z'));
                let snapshot: Snapshot = serde_json::from_str(&text).unwrap();
                assert_eq!(snapshot.partner_id, partner.partner_id);
                assert!(file.starts_with(
                    dir.path()
                        .join("snapshots")
                        .join(&partner.partner_id)
                        .join(&snapshot.customer_id)
                ));
                assert!(last_global.is_none_or(|t| t <= snapshot.taken_at));
                last_global = Some(snapshot.taken_at);
                per_customer
                    .entry(snapshot.customer_id.clone())
                    .or_default()
                    .push(snapshot.taken_at);
                let mut ids = BTreeSet::new();
                for (a, raw) in snapshot
                    .assignments
                    .iter()
                    .zip(value["assignments"].as_array().unwrap())
                {
                    for field in [
                        "id",
                        "scope",
                        "roleDefinitionId",
                        "roleName",
                        "principalId",
                        "principalType",
                        "accessType",
                        "assignmentType",
                    ] {
                        assert!(raw.get(field).is_some(), "{field}");
                    }
                    assert!(ids.insert(a.id.clone()), "duplicate assignment id");
                    assert!(a.id.starts_with(&a.scope));
                    let depth = a.scope.split('/').count();
                    values.insert(format!("{:?}", a.access_type));
                    values.insert(format!("{:?}", a.assignment_type));
                    values.insert(a.role_name.clone());
                    values.insert(format!("created:{}", a.created_on.is_some()));
                    values.insert(format!("pal:{}", a.partner_admin_link_mpn_id.is_some()));
                    values.insert(format!("depth:{}", depth.min(6)));
                }
            }
            assert_eq!(per_customer.len(), opts.customers_per_partner as usize);
            for times in per_customer.values() {
                assert!(times.windows(2).all(|w| w[0] < w[1]));
                assert_eq!(times[0], day_start(opts.start) + Duration::minutes(5));
                assert!(*times.last().unwrap() >= end);
                gap_seen |= times.windows(2).any(|w| w[1] - w[0] > Duration::hours(25));
            }
        }
        assert!(gap_seen, "a gap over 25 h");
        for expected in [
            "Aobo",
            "Lighthouse",
            "Gdap",
            "Permanent",
            "Eligible",
            "Activated",
            "Owner",
            "Contributor",
            "Reader",
            "created:true",
            "created:false",
            "pal:true",
            "pal:false",
            "depth:3",
            "depth:5",
            "depth:6",
        ] {
            assert!(
                values.contains(expected),
                "{expected} missing from {values:?}"
            );
        }
        // Some access carries a reseller's MPN as its Partner Admin Link.
        let rows = all_rows(&set);
        let tier2: BTreeSet<String> = rows
            .iter()
            .map(|r| r["Tier2MpnId"].clone())
            .filter(|t| !t.is_empty())
            .collect();
        let pal_is_reseller = set
            .partners
            .iter()
            .flat_map(|p| &p.snapshot_files)
            .any(|f| {
                let s: Snapshot = serde_json::from_slice(&fs::read(f).unwrap()).unwrap();
                s.assignments.iter().any(|a| {
                    a.partner_admin_link_mpn_id
                        .as_ref()
                        .is_some_and(|m| tier2.contains(m))
                })
            });
        assert!(pal_is_reseller);
    }

    #[test]
    fn gzip_is_the_same_csv_compressed() {
        let (plain, zipped) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let a = generate(&options(9), plain.path()).unwrap();
        let b = generate(
            &GenerateOptions {
                gzip: true,
                ..options(9)
            },
            zipped.path(),
        )
        .unwrap();
        assert_eq!(a.usage_rows, b.usage_rows);
        for (pa, pb) in a.partners.iter().zip(&b.partners) {
            for (fa, fb) in pa.usage_files.iter().zip(&pb.usage_files) {
                assert!(fb.to_string_lossy().ends_with(".csv.gz"));
                let mut unzipped = Vec::new();
                flate2::read::GzDecoder::new(File::open(fb).unwrap())
                    .read_to_end(&mut unzipped)
                    .unwrap();
                assert_eq!(unzipped, fs::read(fa).unwrap());
            }
        }
    }

    #[test]
    fn empty_options_write_only_a_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let set = generate(
            &GenerateOptions {
                days: 0,
                ..options(2)
            },
            dir.path(),
        )
        .unwrap();
        assert_eq!((set.usage_rows, set.snapshots), (0, 0));
        let set = generate(
            &GenerateOptions {
                partners: 0,
                ..options(2)
            },
            dir.path(),
        )
        .unwrap();
        assert!(set.partners.is_empty());
        assert!(dir.path().join("manifest.json").exists());
    }

    #[test]
    fn amounts_format_as_plain_decimals() {
        let cases = [
            (0, "0"),
            (24_000_000, "24"),
            (288_000, "0.288"),
            (-1_000_000, "-1"),
            (32_258, "0.032258"),
        ];
        for (v, text) in cases {
            assert_eq!(micro_text(v), text);
        }
        assert_eq!(mul_micro(504_400, 48_000_000), 24_211_200);
        assert_eq!(guid_from(0, 0), "00000000-0000-4000-8000-000000000000");
    }
}
