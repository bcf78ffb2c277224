//! Helpers to write scenarios from the SPEC: usage files with the 55 columns, snapshots, and a
//! store in a temporary directory.
#![allow(dead_code, clippy::too_many_arguments, clippy::new_without_default)]

use pec_embedded::SqliteStore;
use pec_ledger::config::Config;
use pec_ledger::ingest::{
    ingest_usage_file, ingest_usage_file_with, post_snapshot, SnapshotReceipt, UploadReceipt,
};
use pec_ledger::ledger::Entry;
use pec_ledger::settle::{settle, RunSummary, SettleOptions};
use pec_ledger::statement::{statement_from_store, Month, Statement};
use pec_ledger::store::{EntryFilter, LedgerStore};
use pec_ledger::usage::ReadOptions;
use serde_json::{json, Value};

pub const PARTNER: &str = "11111111-1111-4111-8111-111111111111";
pub const MPN: &str = "1000001";
pub const RESELLER_MPN: &str = "2000002";
pub const CUSTOMER: &str = "22222222-2222-4222-8222-222222222222";
pub const SUB: &str = "33333333-3333-4333-8333-333333333333";
pub const OWNER: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
pub const CONTRIBUTOR: &str = "b24988ac-6180-42a0-ab88-20f7382dd24c";
pub const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";

pub const HEADER: &str = "PartnerId,PartnerName,CustomerId,CustomerName,CustomerDomainName,CustomerCountry,MpnId,Tier2MpnId,InvoiceNumber,ProductId,SkuId,AvailabilityId,SkuName,ProductName,PublisherName,PublisherId,SubscriptionDescription,SubscriptionId,ChargeStartDate,ChargeEndDate,UsageDate,MeterType,MeterCategory,MeterId,MeterSubCategory,MeterName,MeterRegion,Unit,ResourceLocation,ConsumedService,ResourceGroup,ResourceURI,ChargeType,UnitPrice,Quantity,UnitType,BillingPreTaxTotal,BillingCurrency,PricingPreTaxTotal,PricingCurrency,ServiceInfo1,ServiceInfo2,Tags,AdditionalInfo,EffectiveUnitPrice,PCToBCExchangeRate,PCToBCExchangeRateDate,EntitlementId,EntitlementDescription,PartnerEarnedCreditPercentage,CreditPercentage,CreditType,BenefitOrderId,BenefitId,BenefitType";

// Not every test binary uses all three.
#[allow(unused_imports)]
pub use pec_testkit::{d, dec, t};

pub fn res(path: &str) -> String {
    format!("/subscriptions/{SUB}{path}")
}

/// One usage line; fields default to an eligible, first-party consumption line of 10.00 USD.
#[derive(Clone)]
pub struct Line {
    pub partner: String,
    pub customer: String,
    pub subscription: String,
    pub date: String,
    pub resource_uri: String,
    pub mpn: String,
    pub tier2: String,
    pub product: String,
    pub publisher: String,
    pub meter_category: String,
    pub meter_sub_category: String,
    pub meter_name: String,
    pub charge_type: String,
    pub unit_price: String,
    pub quantity: String,
    pub currency: String,
    pub pec: String,
    pub benefit_type: String,
    pub tags: String,
}

impl Line {
    pub fn new(date: &str, resource_uri: &str) -> Line {
        Line {
            partner: PARTNER.into(),
            customer: CUSTOMER.into(),
            subscription: SUB.into(),
            date: date.into(),
            resource_uri: resource_uri.into(),
            mpn: MPN.into(),
            tier2: String::new(),
            product: "Azure plan".into(),
            publisher: "Microsoft".into(),
            meter_category: "Virtual Machines".into(),
            meter_sub_category: "Dv5 Series".into(),
            meter_name: "D4s v5".into(),
            charge_type: "new".into(),
            unit_price: "2.5".into(),
            quantity: "4".into(),
            currency: "USD".into(),
            pec: "15".into(),
            benefit_type: String::new(),
            tags: String::new(),
        }
    }

    pub fn with(mut self, f: impl FnOnce(&mut Line)) -> Line {
        f(&mut self);
        self
    }

    fn csv(&self) -> String {
        let q = |s: &str| {
            if s.contains([',', '"', '\n']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_string()
            }
        };
        let fields: Vec<String> = vec![
            q(&self.partner),
            "Test Partner".into(),
            q(&self.customer),
            "Customer".into(),
            "customer.onmicrosoft.com".into(),
            "SE".into(),
            q(&self.mpn),
            q(&self.tier2),
            "G000000001".into(),
            "DZH318Z0BQPS".into(),
            "0001".into(),
            "DZH318Z0BQ3Q".into(),
            "Azure plan".into(),
            q(&self.product),
            q(&self.publisher),
            String::new(),
            "Azure plan".into(),
            q(&self.subscription),
            "9/1/2026".into(),
            "9/30/2026".into(),
            q(&self.date),
            "1 Compute Hour".into(),
            q(&self.meter_category),
            "7c52739c-65c2-5f49-bcde-403d7bdebb4f".into(),
            q(&self.meter_sub_category),
            q(&self.meter_name),
            "EU North".into(),
            "1 Hour".into(),
            "swedencentral".into(),
            "Microsoft.Compute".into(),
            String::new(),
            q(&self.resource_uri),
            q(&self.charge_type),
            q(&self.unit_price),
            q(&self.quantity),
            "1 Hour".into(),
            "0".into(),
            q(&self.currency),
            "0".into(),
            q(&self.currency),
            String::new(),
            String::new(),
            q(&self.tags),
            String::new(),
            "0".into(),
            "1".into(),
            "9/1/2026".into(),
            q(&self.subscription),
            "Azure plan".into(),
            q(&self.pec),
            "0".into(),
            String::new(),
            String::new(),
            String::new(),
            q(&self.benefit_type),
        ];
        fields.join(",")
    }
}

pub fn usage_file(lines: &[Line]) -> String {
    let mut out = String::from(HEADER);
    out.push('\n');
    for l in lines {
        out.push_str(&l.csv());
        out.push('\n');
    }
    out
}

/// An assignment JSON; `pal` and `created_on` optional.
pub fn assignment(
    id: &str,
    scope: &str,
    role_id: &str,
    role_name: &str,
    access_type: &str,
    assignment_type: &str,
    pal: Option<&str>,
    created_on: Option<&str>,
) -> Value {
    let mut a = json!({
        "id": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments/{id}"),
        "scope": scope,
        "roleDefinitionId": role_id,
        "roleName": role_name,
        "principalId": "44444444-4444-4444-8444-444444444444",
        "principalType": "ForeignGroup",
        "accessType": access_type,
        "assignmentType": assignment_type,
    });
    if let Some(p) = pal {
        a["partnerAdminLinkMpnId"] = json!(p);
    }
    if let Some(c) = created_on {
        a["createdOn"] = json!(c);
    }
    a
}

pub fn owner_on(scope: &str) -> Value {
    assignment(
        "owner-aobo",
        scope,
        OWNER,
        "Owner",
        "AOBO",
        "permanent",
        None,
        None,
    )
}

pub fn snapshot(n: u32, taken_at: &str, assignments: Vec<Value>) -> Value {
    json!({
        "schemaVersion": 1,
        "snapshotId": format!("00000000-0000-4000-8000-{n:012}"),
        "partnerId": PARTNER,
        "customerId": CUSTOMER,
        "takenAt": taken_at,
        "source": "scenario",
        "assignments": assignments,
    })
}

/// A store in a temporary directory and the operations of the pipeline.
pub struct World {
    pub dir: tempfile::TempDir,
    pub store: SqliteStore,
    pub config: Config,
    snapshots: u32,
}

impl World {
    pub fn new() -> World {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open_dir(dir.path()).expect("store");
        World {
            dir,
            store,
            config: Config::default(),
            snapshots: 0,
        }
    }

    pub fn upload_as(&self, partner: &str, body: &str) -> UploadReceipt {
        ingest_usage_file(
            &self.store,
            &self.config,
            partner,
            "usage.csv",
            body.as_bytes(),
            t("2026-10-01T00:00:00Z"),
        )
        .expect("ingest")
    }

    /// Uploads a file in any format the reader takes (DRU, Cost Management, FOCUS).
    pub fn upload_file(&self, partner: &str, mpn_id: Option<&str>, body: &[u8]) -> UploadReceipt {
        let options = ReadOptions {
            partner_id: partner.to_string(),
            mpn_id: mpn_id.map(str::to_string),
        };
        ingest_usage_file_with(
            &self.store,
            &self.config,
            &options,
            "usage.csv",
            body,
            t("2026-10-01T00:00:00Z"),
        )
        .expect("ingest")
    }

    /// Posts a snapshot body as `partner`.
    pub fn post_as(&self, partner: &str, body: &[u8]) -> SnapshotReceipt {
        post_snapshot(&self.store, partner, body, t("2030-01-01T00:00:00Z")).expect("post")
    }

    pub fn upload(&self, lines: &[Line]) -> UploadReceipt {
        self.upload_as(PARTNER, &usage_file(lines))
    }

    /// An upload received at `at` (a later one restates an earlier one's keys).
    pub fn upload_at(&self, lines: &[Line], at: &str) -> UploadReceipt {
        ingest_usage_file(
            &self.store,
            &self.config,
            PARTNER,
            "usage.csv",
            usage_file(lines).as_bytes(),
            t(at),
        )
        .expect("ingest")
    }

    pub fn post(&self, snapshot: &Value) -> SnapshotReceipt {
        let body = serde_json::to_vec(snapshot).expect("json");
        post_snapshot(&self.store, PARTNER, &body, t("2030-01-01T00:00:00Z")).expect("post")
    }

    /// Posts a snapshot of `assignments` at each time.
    pub fn access_at(&mut self, times: &[&str], assignments: Vec<Value>) {
        for time in times {
            self.snapshots += 1;
            let r = self.post(&snapshot(self.snapshots, time, assignments.clone()));
            assert_eq!(r.errors, vec![], "snapshot at {time}");
        }
    }

    pub fn settle(&self, from: &str, through: &str, now: &str) -> RunSummary {
        let opts = SettleOptions::new(&self.config, d(through), Some(d(from)), t(now));
        settle(&self.store, &self.config, &opts).expect("settle")
    }

    pub fn statement(&self, month: &str, as_of: &str) -> Statement {
        statement_from_store(
            &self.store,
            PARTNER,
            Month::parse(month).expect("month"),
            t(as_of),
        )
        .expect("statement")
    }

    pub fn entries(&self) -> Vec<Entry> {
        let mut out = Vec::new();
        self.store
            .for_each_entry(&EntryFilter::default(), &mut |e| {
                out.push(e);
                Ok(())
            })
            .expect("entries");
        out
    }

    /// The entries of one resource (lower-cased id) on one date.
    pub fn entries_of(&self, resource: &str, date: &str) -> Vec<Entry> {
        let r = resource.to_lowercase();
        self.entries()
            .into_iter()
            .filter(|e| e.key.resource_id == r && e.key.usage_date == d(date))
            .collect()
    }
}
