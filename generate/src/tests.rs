//! Tests of the generator: determinism, the files, rows and manifest, the SPEC header, the
//! mix of lines and currencies, the snapshots and scenarios, gzip, and amount formatting.

use super::*;
use crate::amounts::{micro_text, mul_micro};
use crate::rng::guid_from;
use crate::time::day_start;
use chrono::{DateTime, Utc};
use pec_ledger::snapshot::Snapshot;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::Read;
use std::path::PathBuf;

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
    let per_day_resources = u64::from(opts.customers_per_partner * opts.subscriptions_per_customer)
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
                pec_ledger::decimal::parse_decimal(value).is_ok(),
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
