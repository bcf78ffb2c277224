//! Monthly statements (SPEC 5): for a partner and a month of usage dates, as of a time, per
//! pricing currency — totals, lost credit by reason, ineligible amounts by reason, customers and
//! their subscriptions, days, and adjustments posted in the month to earlier months.

use crate::decimal::{as_string, fmt_amount};
use crate::ledger::{Entry, EntryKind, Figures};
use crate::names::Names;
use crate::store::{EntryFilter, LedgerStore, StoreError, UsageStore};
use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A month that is not `YYYY-MM`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("month must be YYYY-MM, got {0:?}")]
pub struct MonthError(pub String);

/// A calendar month `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    pub year: i32,
    pub month: u32,
}

impl Month {
    pub fn parse(text: &str) -> Result<Month, MonthError> {
        let bad = || MonthError(text.to_string());
        let (y, m) = text.trim().split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u32 = m.parse().map_err(|_| bad())?;
        NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(bad)?;
        Ok(Month { year, month })
    }

    pub fn of(date: NaiveDate) -> Month {
        Month {
            year: date.year(),
            month: date.month(),
        }
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or(NaiveDate::MIN)
    }

    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    pub fn last_day(self) -> NaiveDate {
        self.next().first_day().pred_opt().unwrap_or(NaiveDate::MIN)
    }

    /// 00:00Z of the first day.
    pub fn start(self) -> DateTime<Utc> {
        Utc.from_utc_datetime(&self.first_day().and_time(chrono::NaiveTime::MIN))
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    #[serde(with = "as_string")]
    pub list_amount: Decimal,
    #[serde(with = "as_string")]
    pub eligible_amount: Decimal,
    #[serde(with = "as_string")]
    pub ineligible_amount: Decimal,
    #[serde(with = "as_string")]
    pub earned_credit: Decimal,
    #[serde(with = "as_string")]
    pub lost_credit: Decimal,
    #[serde(with = "as_string")]
    pub microsoft_credit: Decimal,
    #[serde(with = "as_string")]
    pub variance: Decimal,
    /// earnedCredit / eligibleAmount (0 when nothing was eligible).
    #[serde(with = "as_string")]
    pub effective_rate: Decimal,
}

impl Totals {
    fn add(&mut self, f: &Figures) {
        self.list_amount += f.list_amount;
        self.eligible_amount += f.eligible_amount;
        self.ineligible_amount += f.ineligible_amount;
        self.earned_credit += f.earned_credit;
        self.lost_credit += f.lost_credit;
        self.microsoft_credit += f.microsoft_credit;
        self.variance += f.variance;
    }

    fn finish(&mut self) {
        self.effective_rate = if self.eligible_amount.is_zero() {
            Decimal::ZERO
        } else {
            self.earned_credit
                .checked_div(self.eligible_amount)
                .unwrap_or(Decimal::ZERO)
                .normalize()
        };
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionTotals {
    pub subscription_id: String,
    /// The subscription's description in the newest usage file that gives one.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub subscription_name: String,
    pub totals: Totals,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerTotals {
    pub customer_id: String,
    /// The customer's name and domain, and its reseller's name, as the newest usage file that
    /// gives them says.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub customer_name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub customer_domain: String,
    pub tier2_mpn_id: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reseller_name: String,
    pub totals: Totals,
    pub subscriptions: Vec<SubscriptionTotals>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DayTotals {
    pub date: NaiveDate,
    #[serde(with = "as_string")]
    pub earned_credit: Decimal,
    #[serde(with = "as_string")]
    pub lost_credit: Decimal,
    #[serde(with = "as_string")]
    pub microsoft_credit: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PriorPeriodAdjustment {
    pub usage_month: String,
    #[serde(with = "as_string")]
    pub earned_credit: Decimal,
    #[serde(with = "as_string")]
    pub lost_credit: Decimal,
    /// The change in the credit Microsoft applied (a restated usage file).
    #[serde(with = "as_string", default)]
    pub microsoft_credit: Decimal,
    /// The same, per customer.
    #[serde(default)]
    pub customers: Vec<CustomerAdjustment>,
}

/// One customer's prior-period adjustments of one usage month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerAdjustment {
    pub customer_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub customer_name: String,
    #[serde(with = "as_string")]
    pub earned_credit: Decimal,
    #[serde(with = "as_string")]
    pub lost_credit: Decimal,
    #[serde(with = "as_string")]
    pub microsoft_credit: Decimal,
}

/// Earned, lost and Microsoft-applied credit deltas.
type Deltas = (Decimal, Decimal, Decimal);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CurrencyStatement {
    pub currency: String,
    pub totals: Totals,
    pub lost_credit_by_reason: BTreeMap<String, String>,
    pub ineligible_by_reason: BTreeMap<String, String>,
    pub customers: Vec<CustomerTotals>,
    pub days: Vec<DayTotals>,
    pub prior_period_adjustments: Vec<PriorPeriodAdjustment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Statement {
    pub partner_id: String,
    /// The partner's name in the newest usage file that gives one.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub partner_name: String,
    pub month: String,
    pub as_of: DateTime<Utc>,
    /// Only when the statement is of one customer or one reseller (absent: the whole partner).
    #[serde(default, skip_serializing_if = "StatementScope::is_whole")]
    pub scope: StatementScope,
    pub currencies: Vec<CurrencyStatement>,
}

/// Which part of a partner a statement covers: one customer, one reseller (an indirect
/// provider's Tier-2 partner, by its MPN ID), both, or (neither) the whole partner.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatementScope {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reseller_mpn_id: Option<String>,
    /// The scope's names, when known (filled in by [`Statement::name`]).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub customer_name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reseller_name: String,
}

impl StatementScope {
    pub fn is_whole(&self) -> bool {
        self.customer_id.is_none() && self.reseller_mpn_id.is_none()
    }

    /// Whether an entry belongs to the scope.
    fn covers(&self, e: &Entry) -> bool {
        self.customer_id
            .as_deref()
            .is_none_or(|c| e.key.customer_id.eq_ignore_ascii_case(c))
            && self
                .reseller_mpn_id
                .as_deref()
                .is_none_or(|r| e.tier2_mpn_id.trim() == r.trim())
    }
}

/// A customer's Tier2MpnId, totals and per-subscription totals.
type CustomerAcc = (Option<String>, Totals, BTreeMap<String, Totals>);

#[derive(Default)]
struct CurrencyAcc {
    totals: Totals,
    lost: BTreeMap<String, Decimal>,
    ineligible: BTreeMap<String, Decimal>,
    customers: BTreeMap<String, CustomerAcc>,
    days: BTreeMap<NaiveDate, DayTotals>,
    /// Per usage month: its deltas and each customer's.
    prior: BTreeMap<String, (Deltas, BTreeMap<String, Deltas>)>,
}

/// Builds a statement from the month's entries (usage date in the month, posted by `as_of`) and
/// the entries posted during the month (by `as_of`); entries of other partners or months are
/// ignored, so callers may pass supersets.
pub fn build_statement(
    partner_id: &str,
    month: Month,
    as_of: DateTime<Utc>,
    month_entries: impl IntoIterator<Item = Entry>,
    posted_in_month: impl IntoIterator<Item = Entry>,
) -> Statement {
    let mut builder = StatementBuilder::new(partner_id, month, as_of);
    for e in month_entries {
        builder.add_month_entry(&e);
    }
    for e in posted_in_month {
        builder.add_posted_entry(&e);
    }
    builder.finish()
}

/// A statement added up one entry at a time ([`build_statement`] over entries it is handed, so
/// that a month of millions of entries is never held in memory).
pub struct StatementBuilder {
    partner_id: String,
    month: Month,
    as_of: DateTime<Utc>,
    scope: StatementScope,
    acc: BTreeMap<String, CurrencyAcc>,
}

impl StatementBuilder {
    pub fn new(partner_id: &str, month: Month, as_of: DateTime<Utc>) -> StatementBuilder {
        StatementBuilder {
            partner_id: partner_id.to_string(),
            month,
            as_of,
            scope: StatementScope::default(),
            acc: BTreeMap::new(),
        }
    }

    /// Only the entries of this scope count.
    pub fn scoped(mut self, scope: StatementScope) -> StatementBuilder {
        self.scope = scope;
        self
    }

    /// One entry of the month (usage date in the month, posted by `as_of`; others are ignored).
    pub fn add_month_entry(&mut self, e: &Entry) {
        if e.key.partner_id != self.partner_id
            || Month::of(e.key.usage_date) != self.month
            || e.posted_at > self.as_of
            || !self.scope.covers(e)
        {
            return;
        }
        let c = self.acc.entry(e.key.currency.clone()).or_default();
        let f = &e.figures;
        c.totals.add(f);
        for (r, v) in &f.lost_by_reason {
            *c.lost.entry(r.code().to_string()).or_default() += *v;
        }
        for (r, v) in &f.ineligible_by_reason {
            *c.ineligible.entry(r.code().to_string()).or_default() += *v;
        }
        let cust = c.customers.entry(e.key.customer_id.clone()).or_default();
        if cust.0.is_none() && !e.tier2_mpn_id.is_empty() {
            cust.0 = Some(e.tier2_mpn_id.clone());
        }
        cust.1.add(f);
        cust.2
            .entry(e.key.subscription_id.clone())
            .or_default()
            .add(f);
        let d = c.days.entry(e.key.usage_date).or_insert_with(|| DayTotals {
            date: e.key.usage_date,
            ..Default::default()
        });
        d.earned_credit += f.earned_credit;
        d.lost_credit += f.lost_credit;
        d.microsoft_credit += f.microsoft_credit;
    }

    /// One entry posted during the month: a prior-period adjustment counts (others are ignored).
    pub fn add_posted_entry(&mut self, e: &Entry) {
        if e.key.partner_id != self.partner_id
            || e.kind != EntryKind::Adjustment
            || e.posted_at < self.month.start()
            || e.posted_at >= self.month.next().start()
            || e.posted_at > self.as_of
            || e.key.usage_date >= self.month.first_day()
            || !self.scope.covers(e)
        {
            return;
        }
        let f = &e.figures;
        if f.earned_credit.is_zero() && f.lost_credit.is_zero() && f.microsoft_credit.is_zero() {
            return;
        }
        let c = self.acc.entry(e.key.currency.clone()).or_default();
        let (month, customers) = c
            .prior
            .entry(Month::of(e.key.usage_date).to_string())
            .or_default();
        let customer = customers.entry(e.key.customer_id.clone()).or_default();
        for d in [month, customer] {
            d.0 += f.earned_credit;
            d.1 += f.lost_credit;
            d.2 += f.microsoft_credit;
        }
    }

    /// The statement.
    pub fn finish(self) -> Statement {
        let amounts = |m: BTreeMap<String, Decimal>| -> BTreeMap<String, String> {
            m.into_iter()
                .filter(|(_, v)| !v.is_zero())
                .map(|(k, v)| (k, fmt_amount(v)))
                .collect()
        };
        let currencies = self
            .acc
            .into_iter()
            .map(|(currency, mut c)| {
                c.totals.finish();
                CurrencyStatement {
                    currency,
                    totals: c.totals,
                    lost_credit_by_reason: amounts(c.lost),
                    ineligible_by_reason: amounts(c.ineligible),
                    customers: c
                        .customers
                        .into_iter()
                        .map(|(customer_id, (tier2, mut totals, subs))| {
                            totals.finish();
                            CustomerTotals {
                                customer_id,
                                customer_name: String::new(),
                                customer_domain: String::new(),
                                tier2_mpn_id: tier2,
                                reseller_name: String::new(),
                                totals,
                                subscriptions: subs
                                    .into_iter()
                                    .map(|(subscription_id, mut totals)| {
                                        totals.finish();
                                        SubscriptionTotals {
                                            subscription_id,
                                            subscription_name: String::new(),
                                            totals,
                                        }
                                    })
                                    .collect(),
                            }
                        })
                        .collect(),
                    days: c.days.into_values().collect(),
                    prior_period_adjustments: c
                        .prior
                        .into_iter()
                        .map(|(usage_month, ((earned, lost, microsoft), customers))| {
                            PriorPeriodAdjustment {
                                usage_month,
                                earned_credit: earned,
                                lost_credit: lost,
                                microsoft_credit: microsoft,
                                customers: customers
                                    .into_iter()
                                    .map(|(customer_id, (e, l, m))| CustomerAdjustment {
                                        customer_id,
                                        customer_name: String::new(),
                                        earned_credit: e,
                                        lost_credit: l,
                                        microsoft_credit: m,
                                    })
                                    .collect(),
                            }
                        })
                        .collect(),
                }
            })
            .collect();
        Statement {
            partner_id: self.partner_id,
            partner_name: String::new(),
            month: self.month.to_string(),
            as_of: self.as_of,
            scope: self.scope,
            currencies,
        }
    }
}

/// Reads what a statement needs from the store and builds it, one entry at a time.
pub fn statement_from_store<S: LedgerStore + UsageStore + ?Sized>(
    store: &S,
    partner_id: &str,
    month: Month,
    as_of: DateTime<Utc>,
) -> Result<Statement, StoreError> {
    scoped_statement_from_store(store, partner_id, month, as_of, &StatementScope::default())
}

/// [`statement_from_store`] of one customer or one reseller of the partner, named
/// ([`Statement::name`]) with the names the store keeps.
pub fn scoped_statement_from_store<S: LedgerStore + UsageStore + ?Sized>(
    store: &S,
    partner_id: &str,
    month: Month,
    as_of: DateTime<Utc>,
    scope: &StatementScope,
) -> Result<Statement, StoreError> {
    let partner_id = partner_id.trim().to_ascii_lowercase();
    let scope = StatementScope {
        customer_id: scope.customer_id.as_deref().map(crate::ids::normalize_guid),
        reseller_mpn_id: scope
            .reseller_mpn_id
            .as_deref()
            .map(|r| r.trim().to_string()),
        ..Default::default()
    };
    let mut builder = StatementBuilder::new(&partner_id, month, as_of).scoped(scope);
    let filter = EntryFilter {
        partner_id: Some(partner_id.clone()),
        usage_from: Some(month.first_day()),
        usage_through: Some(month.last_day()),
        posted_through: Some(as_of),
        ..Default::default()
    };
    store.for_each_entry(&filter, &mut |e| {
        builder.add_month_entry(&e);
        Ok(())
    })?;
    let to = month
        .next()
        .start()
        .min(as_of + chrono::Duration::microseconds(1));
    store.for_each_entry_posted(&partner_id, month.start(), to, &mut |e| {
        if e.kind == EntryKind::Adjustment && e.key.usage_date < month.first_day() {
            builder.add_posted_entry(&e);
        }
        Ok(())
    })?;
    let mut statement = builder.finish();
    statement.name(&store.names(&partner_id)?);
    Ok(statement)
}

impl Statement {
    /// Puts the names beside the ids (names it does not know stay empty).
    pub fn name(&mut self, names: &Names) {
        self.partner_name = names.partner.clone();
        let customer = |id: &str| names.customer(id).cloned().unwrap_or_default();
        if let Some(id) = &self.scope.customer_id {
            self.scope.customer_name = customer(id).name;
        }
        if let Some(mpn) = &self.scope.reseller_mpn_id {
            self.scope.reseller_name = names.reseller(mpn).unwrap_or_default().to_string();
        }
        for c in &mut self.currencies {
            for cu in &mut c.customers {
                let n = customer(&cu.customer_id);
                cu.customer_name = n.name;
                cu.customer_domain = n.domain;
                cu.reseller_name = cu
                    .tier2_mpn_id
                    .as_deref()
                    .and_then(|m| names.reseller(m))
                    .unwrap_or_default()
                    .to_string();
                for su in &mut cu.subscriptions {
                    su.subscription_name = names
                        .subscription(&su.subscription_id)
                        .unwrap_or_default()
                        .to_string();
                }
            }
            for p in &mut c.prior_period_adjustments {
                for cu in &mut p.customers {
                    cu.customer_name = customer(&cu.customer_id).name;
                }
            }
        }
    }
}

/// A text cell made safe for spreadsheets: one that starts with `=`, `+`, `-`, `@`, tab or CR is
/// prefixed with `'` so Excel shows it instead of running it.
pub fn spreadsheet_safe(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

/// Appends one CSV record (RFC 4180 quoting, CRLF) to `out`.
pub fn push_csv_row(out: &mut String, cells: &[String]) {
    for (i, c) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if c.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&c.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(c);
        }
    }
    out.push_str("\r\n");
}

/// The CSV's name columns, after `effective_rate`.
pub const NAME_COLUMNS: [&str; 5] = [
    "partner_name",
    "customer_name",
    "customer_domain",
    "reseller_name",
    "subscription_name",
];

/// The statement as one CSV table (UTF-8 with BOM, CRLF) that Excel opens as is: a `section`
/// column says what each row is (total, lost_by_reason, ineligible_by_reason, customer,
/// subscription, day, prior_period_adjustment, prior_period_adjustment_customer).
pub fn render_csv(s: &Statement) -> String {
    const HEADER: [&str; 17] = [
        "section",
        "partner_id",
        "month",
        "currency",
        "customer_id",
        "tier2_mpn_id",
        "subscription_id",
        "date",
        "usage_month",
        "reason",
        "list_amount",
        "eligible_amount",
        "ineligible_amount",
        "earned_credit",
        "lost_credit",
        "microsoft_credit",
        "variance",
    ];
    let mut out = String::from("\u{feff}");
    let mut row = |cells: Vec<String>| push_csv_row(&mut out, &cells);
    let mut header: Vec<String> = HEADER.iter().map(|h| h.to_string()).collect();
    header.push("effective_rate".into());
    // Names come last, so that the columns before them are those of earlier releases.
    header.extend(NAME_COLUMNS.iter().map(|h| h.to_string()));
    row(header);
    let partner_name = spreadsheet_safe(&s.partner_name);
    // The name cells of a row: the partner's, then a customer's, a subscription's.
    let names = |cu: Option<&CustomerTotals>, sub: Option<&SubscriptionTotals>| -> Vec<String> {
        vec![
            partner_name.clone(),
            cu.map(|c| spreadsheet_safe(&c.customer_name))
                .unwrap_or_default(),
            cu.map(|c| spreadsheet_safe(&c.customer_domain))
                .unwrap_or_default(),
            cu.map(|c| spreadsheet_safe(&c.reseller_name))
                .unwrap_or_default(),
            sub.map(|x| spreadsheet_safe(&x.subscription_name))
                .unwrap_or_default(),
        ]
    };
    let t = |x: &Totals| -> Vec<String> {
        vec![
            fmt_amount(x.list_amount),
            fmt_amount(x.eligible_amount),
            fmt_amount(x.ineligible_amount),
            fmt_amount(x.earned_credit),
            fmt_amount(x.lost_credit),
            fmt_amount(x.microsoft_credit),
            fmt_amount(x.variance),
            fmt_amount(x.effective_rate),
        ]
    };
    let blank8 = || vec![String::new(); 8];
    let safe = |s: &str| spreadsheet_safe(s);
    for c in &s.currencies {
        let base = |section: &str| {
            vec![
                section.to_string(),
                safe(&s.partner_id),
                s.month.clone(),
                safe(&c.currency),
            ]
        };
        let mut r = base("total");
        r.extend(vec![String::new(); 6]);
        r.extend(t(&c.totals));
        r.extend(names(None, None));
        row(r);
        for (reason, amount) in &c.lost_credit_by_reason {
            let mut r = base("lost_by_reason");
            r.extend(vec![String::new(); 5]);
            r.push(reason.clone());
            let mut figs = blank8();
            figs[4] = amount.clone();
            r.extend(figs);
            r.extend(names(None, None));
            row(r);
        }
        for (reason, amount) in &c.ineligible_by_reason {
            let mut r = base("ineligible_by_reason");
            r.extend(vec![String::new(); 5]);
            r.push(reason.clone());
            let mut figs = blank8();
            figs[2] = amount.clone();
            r.extend(figs);
            r.extend(names(None, None));
            row(r);
        }
        for cu in &c.customers {
            let tier2 = cu.tier2_mpn_id.clone().unwrap_or_default();
            let mut r = base("customer");
            r.extend(vec![
                safe(&cu.customer_id),
                safe(&tier2),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ]);
            r.extend(t(&cu.totals));
            r.extend(names(Some(cu), None));
            row(r);
            for su in &cu.subscriptions {
                let mut r = base("subscription");
                r.extend(vec![
                    safe(&cu.customer_id),
                    safe(&tier2),
                    safe(&su.subscription_id),
                    String::new(),
                    String::new(),
                    String::new(),
                ]);
                r.extend(t(&su.totals));
                r.extend(names(Some(cu), Some(su)));
                row(r);
            }
        }
        for d in &c.days {
            let mut r = base("day");
            r.extend(vec![
                String::new(),
                String::new(),
                String::new(),
                d.date.to_string(),
                String::new(),
                String::new(),
            ]);
            let mut figs = blank8();
            figs[3] = fmt_amount(d.earned_credit);
            figs[4] = fmt_amount(d.lost_credit);
            figs[5] = fmt_amount(d.microsoft_credit);
            r.extend(figs);
            r.extend(names(None, None));
            row(r);
        }
        for p in &c.prior_period_adjustments {
            // The month's row, then each customer's.
            let rows = std::iter::once((
                "prior_period_adjustment",
                String::new(),
                String::new(),
                p.earned_credit,
                p.lost_credit,
                p.microsoft_credit,
            ))
            .chain(p.customers.iter().map(|cu| {
                (
                    "prior_period_adjustment_customer",
                    safe(&cu.customer_id),
                    safe(&cu.customer_name),
                    cu.earned_credit,
                    cu.lost_credit,
                    cu.microsoft_credit,
                )
            }));
            for (section, customer, customer_name, earned, lost, microsoft) in rows {
                let mut r = base(section);
                r.extend(vec![
                    customer,
                    String::new(),
                    String::new(),
                    String::new(),
                    p.usage_month.clone(),
                    String::new(),
                ]);
                let mut figs = blank8();
                figs[3] = fmt_amount(earned);
                figs[4] = fmt_amount(lost);
                figs[5] = fmt_amount(microsoft);
                r.extend(figs);
                let mut n = names(None, None);
                n[1] = customer_name;
                r.extend(n);
                row(r);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_and_bound() {
        let m = Month::parse("2026-02").unwrap();
        assert_eq!(m.last_day(), NaiveDate::from_ymd_opt(2026, 2, 28).unwrap());
        assert_eq!(
            Month::parse("2026-12").unwrap().next().to_string(),
            "2027-01"
        );
        for bad in ["2026-13", "26-01", "2026/01", "x", "2026-1"] {
            assert!(Month::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formula_cells_are_neutralised() {
        assert_eq!(spreadsheet_safe("=1+2"), "'=1+2");
        assert_eq!(spreadsheet_safe("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(spreadsheet_safe("abc"), "abc");
    }
}
