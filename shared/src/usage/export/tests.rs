//! Tests for the Cost Management and FOCUS export readers: format detection, the column
//! mapping onto usage lines, and their errors, including property tests.

use super::super::{
    detect_usage_format, read_usage_file, read_usage_file_with, ReadOptions, RowError,
    UsageFileReport, MAX_REPORTED_ERRORS,
};
use super::*;
use crate::config::Config;
use crate::ingest::microsoft_credit;
use crate::products::product_ineligibility;
use crate::reasons::IneligibleReason;
use proptest::prelude::*;
use std::convert::Infallible;

const PARTNER: &str = "7a3c0000-0000-4000-8000-000000000001";
const MPN: &str = "4100001";

const COST_DETAILS: &[u8] = include_bytes!("../../../tests/fixtures/cost-details-mca-partner.csv");
const FOCUS_1_0: &[u8] = include_bytes!("../../../tests/fixtures/focus-1.0.csv");
const FOCUS_1_2: &[u8] = include_bytes!("../../../tests/fixtures/focus-1.2.csv");
/// FOCUS 1.3 (written from the 1.2 fixture by the 1.3 column changes: `ServiceProviderName` and
/// `HostProviderName` instead of the deprecated `PublisherName` and `ProviderName`, and the new
/// `ContractApplied`).
const FOCUS_1_3: &[u8] = include_bytes!("../../../tests/fixtures/focus-1.3.csv");

fn dru_example() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/examples/daily-rated-usage.csv"
    );
    std::fs::read(path).expect("the SPEC's example usage file")
}

fn options(mpn: Option<&str>) -> ReadOptions {
    ReadOptions {
        partner_id: PARTNER.into(),
        mpn_id: mpn.map(str::to_string),
    }
}

fn read(bytes: &[u8]) -> (UsageFileReport, Vec<UsageLine>) {
    read_opts(bytes, &options(Some(MPN)))
}

fn read_opts(bytes: &[u8], options: &ReadOptions) -> (UsageFileReport, Vec<UsageLine>) {
    let mut lines = Vec::new();
    let report = read_usage_file_with(bytes, options, |l| {
        lines.push(l);
        Ok::<(), Infallible>(())
    })
    .expect("on_line never fails here");
    (report, lines)
}

use pec_testkit::gzip;

fn dec(text: &str) -> Decimal {
    parse_decimal(text).expect("test decimal")
}

/// A fixture as records of text (BOM dropped).
fn records(bytes: &[u8]) -> Vec<Vec<String>> {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim_start_matches('\u{feff}');
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    r.records()
        .map(|rec| {
            rec.expect("fixture CSV")
                .iter()
                .map(str::to_string)
                .collect()
        })
        .collect()
}

fn write_csv(records: &[Vec<String>]) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    for r in records {
        w.write_record(r).expect("in memory");
    }
    w.into_inner().expect("in memory")
}

/// A fixture with one value changed: data row `row` (0-based), column `name`.
fn with(bytes: &[u8], row: usize, name: &str, value: &str) -> Vec<u8> {
    let mut recs = records(bytes);
    let c = recs[0]
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name}"));
    recs[row + 1][c] = value.into();
    write_csv(&recs)
}

/// A fixture without a column.
fn without(bytes: &[u8], name: &str) -> Vec<u8> {
    let mut recs = records(bytes);
    let c = recs[0]
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name}"));
    for r in recs.iter_mut() {
        r.remove(c);
    }
    write_csv(&recs)
}

/// What decides a line's figures and access: everything but descriptive text.
type Figures = (
    NaiveDate,
    String,
    String,
    String,
    String,
    String,
    String,
    Decimal,
    Decimal,
    String,
    Option<IneligibleReason>,
);

fn figures(lines: &[UsageLine]) -> Vec<Figures> {
    lines
        .iter()
        .map(|l| {
            (
                l.usage_date,
                l.partner_id.clone(),
                l.customer_id.clone(),
                l.subscription_id.clone(),
                l.resource_key.clone(),
                l.mpn_id.clone(),
                l.tier2_mpn_id.clone(),
                (l.quantity * l.unit_price).normalize(),
                l.pec_percentage.normalize(),
                l.pricing_currency.clone(),
                product_ineligibility(l, &Config::default()),
            )
        })
        .collect()
}

/// Σ list amount, Σ Microsoft credit, Σ reservation amount.
fn totals(lines: &[UsageLine]) -> (Decimal, Decimal, Decimal) {
    let mut list = Decimal::ZERO;
    let mut microsoft = Decimal::ZERO;
    let mut reservation = Decimal::ZERO;
    for l in lines {
        let amount = l.quantity * l.unit_price;
        list += amount;
        microsoft += microsoft_credit(l);
        if product_ineligibility(l, &Config::default()) == Some(IneligibleReason::Reservation) {
            reservation += amount;
        }
    }
    (
        list.normalize(),
        microsoft.normalize(),
        reservation.normalize(),
    )
}

#[test]
fn each_format_is_told_from_its_header() {
    let dru = dru_example();
    assert_eq!(detect_usage_format(&dru[..]), UsageFormat::Dru);
    assert_eq!(
        detect_usage_format(COST_DETAILS),
        UsageFormat::CostManagement
    );
    assert_eq!(detect_usage_format(FOCUS_1_0), UsageFormat::Focus);
    assert_eq!(detect_usage_format(FOCUS_1_2), UsageFormat::Focus);
    // Compressed, with a byte-order mark, or not.
    assert_eq!(
        detect_usage_format(&gzip(COST_DETAILS)[..]),
        UsageFormat::CostManagement
    );
    let mut bom = "\u{feff}".as_bytes().to_vec();
    bom.extend_from_slice(FOCUS_1_0);
    assert_eq!(detect_usage_format(&gzip(&bom)[..]), UsageFormat::Focus);
    // Unrecognised, empty or unreadable: DRU.
    for junk in [&b""[..], b"a,b,c\n1,2,3\n", &[0x1f, 0x8b, 0, 1]] {
        assert_eq!(detect_usage_format(junk), UsageFormat::Dru);
    }
    // A DRU file keeps being DRU when it also has an export's column.
    let mut dru_plus = String::from_utf8(dru).expect("UTF-8");
    dru_plus = dru_plus.replacen("BenefitType", "ListCost", 1);
    assert_eq!(detect_usage_format(dru_plus.as_bytes()), UsageFormat::Dru);
    // A few distinctive names are enough.
    assert_eq!(
        detect_usage_format(&b"ChargePeriodStart,ListCost\n"[..]),
        UsageFormat::Focus
    );
    assert_eq!(
        detect_usage_format(&b"customerTenantId,PayGPrice\n"[..]),
        UsageFormat::CostManagement
    );
}

#[test]
fn an_unrecognised_header_gets_the_dru_errors() {
    let (report, lines) = read(b"Foo,Bar\n1,2\n");
    assert!(lines.is_empty());
    assert_eq!(report.error_count, 16);
    assert_eq!(
        report.errors[0].message,
        "missing required header PartnerId"
    );
}

#[test]
fn cost_details_read_as_the_same_lines_as_the_dru_file() {
    let (dru_report, dru) = read(&dru_example());
    assert_eq!(dru_report.error_count, 0);
    let (report, lines) = read(COST_DETAILS);
    assert_eq!(report.errors, vec![]);
    assert_eq!(report.rows, 8);
    assert_eq!(figures(&lines), figures(&dru));
    assert_eq!(
        totals(&lines),
        (dec("71.4624"), dec("2.0736"), dec("9.216"))
    );
    assert_eq!(totals(&dru), totals(&lines));
    // Quantity and PayGPrice as they are.
    let shop = &lines[0];
    assert_eq!((shop.quantity, shop.unit_price), (dec("24"), dec("0.288")));
    assert_eq!(shop.pec_percentage, dec("15"));
    assert_eq!(shop.charge_type, "usage");
    assert_eq!(shop.mpn_id, MPN);
    assert_eq!(shop.customer_name, "Customer bdd6");
    assert_eq!(shop.resource_group, "rg-web");
    assert_eq!(shop.meter_name, "P1v3 App");
    assert_eq!(shop.tags, "\"env\": \"prod\"");
    assert_eq!(shop.line, 2);
    assert_eq!(lines[2].benefit_type, "Reservation");
    assert_eq!(lines[1].benefit_type, "", "OnDemand is no benefit");
    assert_eq!(
        lines[3].resource_key,
        "/subscriptions/23b8c1e9-3924-46de-beb1-3b9046685257"
    );
}

#[test]
fn focus_exports_read_as_the_same_lines_as_the_dru_file() {
    let (_, dru) = read(&dru_example());
    for fixture in [FOCUS_1_0, FOCUS_1_2, FOCUS_1_3] {
        let (report, lines) = read(fixture);
        assert_eq!(report.errors, vec![]);
        assert_eq!(report.rows, 8);
        assert_eq!(figures(&lines), figures(&dru));
        assert_eq!(
            totals(&lines),
            (dec("71.4624"), dec("2.0736"), dec("9.216"))
        );
        // PricingQuantity × ListUnitPrice when they multiply to ListCost ...
        assert_eq!(
            (lines[1].quantity, lines[1].unit_price),
            (dec("48"), dec("0.5044"))
        );
        // ... else 1 × ListCost (day 2's App Service has a rounded ListUnitPrice 0.29).
        assert_eq!(
            (lines[4].quantity, lines[4].unit_price),
            (dec("1"), dec("6.912"))
        );
        assert_eq!(lines[2].benefit_type, "Reservation");
        // Only x_PartnerCreditApplied = true (no rate): 15 %.
        assert_eq!(lines[3].pec_percentage, dec("15"));
        assert_eq!(lines[0].partner_id, PARTNER, "the uploading partner");
        assert_eq!(lines[0].publisher_name, "Microsoft");
        assert_eq!(lines[0].meter_name, "P1v3 App");
        assert_eq!(lines[0].meter_category, "Azure App Service");
    }
}

#[test]
fn gzip_and_bom_as_for_dru_files() {
    let (_, plain) = read(COST_DETAILS);
    let (report, lines) = read(&gzip(COST_DETAILS));
    assert_eq!(report.error_count, 0);
    assert_eq!(lines, plain);
    let without_bom = &COST_DETAILS[3..];
    assert_eq!(read(without_bom).1, plain);
    let (_, plain) = read(FOCUS_1_2);
    let mut bom = "\u{feff}".as_bytes().to_vec();
    bom.extend_from_slice(FOCUS_1_2);
    assert_eq!(read(&gzip(&bom)).1, plain);
}

#[test]
fn an_export_needs_the_partners_mpn_id() {
    for (fixture, kind) in [
        (COST_DETAILS, "an Azure Cost Management cost-details export"),
        (FOCUS_1_0, "a FOCUS cost export"),
    ] {
        for mpn in [None, Some("  ")] {
            let (report, lines) = read_opts(fixture, &options(mpn));
            assert!(lines.is_empty());
            assert_eq!(report.rows, 0);
            assert_eq!(report.error_count, 1);
            let e = &report.errors[0];
            assert_eq!((e.line, e.column.as_str()), (1, "MpnId"));
            assert!(e.message.contains(kind), "{}", e.message);
            assert!(e.message.contains("--mpn-id"), "{}", e.message);
        }
    }
    // The old entry point has no MPN ID.
    let report = read_usage_file(FOCUS_1_0, PARTNER, |_| Ok::<(), Infallible>(()))
        .expect("no consumer error");
    assert_eq!(report.errors[0].column, "MpnId");
    // Nor can it do without the partner.
    let mut no_partner = options(Some(MPN));
    no_partner.partner_id = " ".into();
    let (report, _) = read_opts(FOCUS_1_2, &no_partner);
    assert_eq!(report.errors[0].column, "PartnerId");
    // A DRU file ignores it.
    let (report, lines) = read_opts(&dru_example(), &options(Some("999")));
    assert_eq!(report.error_count, 0);
    assert_eq!(lines[0].mpn_id, "4100001");
}

#[test]
fn missing_required_headers_are_named() {
    let cases: [(&[u8], &str, &str); 7] = [
        (
            COST_DETAILS,
            "customerTenantId",
            "missing required header customerTenantId",
        ),
        (
            COST_DETAILS,
            "ResourceId",
            "missing required header ResourceId",
        ),
        (
            FOCUS_1_0,
            "x_CustomerId",
            "missing required header x_CustomerId",
        ),
        (FOCUS_1_0, "ListCost", "missing required header ListCost"),
        (
            FOCUS_1_0,
            "ChargePeriodStart",
            "missing required header ChargePeriodStart",
        ),
        (
            FOCUS_1_0,
            "SubAccountId",
            "missing required header SubAccountId",
        ),
        (
            FOCUS_1_0,
            "x_SkuMeterName",
            "missing required header SkuMeter",
        ),
    ];
    for (fixture, name, message) in cases {
        let (report, lines) = read(&without(fixture, name));
        assert!(lines.is_empty(), "{name}");
        assert_eq!(report.rows, 0);
        assert_eq!(report.errors.len(), 1, "{name}: {:?}", report.errors);
        assert_eq!(report.errors[0].line, 1);
        assert_eq!(report.errors[0].message, message);
    }
    // Groups: one of the columns is enough ...
    let (report, lines) = read(&without(COST_DETAILS, "PayGPrice"));
    assert_eq!(report.error_count, 0);
    assert_eq!(lines[2].unit_price, dec("0"), "unitPrice of covered usage");
    let (report, _) = read(&without(FOCUS_1_0, "x_PartnerCreditRate"));
    assert_eq!(report.error_count, 0);
    // ... none is not.
    let both = without(&without(COST_DETAILS, "PayGPrice"), "unitPrice");
    let (report, _) = read(&both);
    assert_eq!(
        report.errors,
        vec![RowError {
            line: 1,
            column: "PayGPrice".into(),
            value: String::new(),
            message: "missing required header PayGPrice (or unitPrice)".into(),
        }]
    );
    let both = without(
        &without(FOCUS_1_2, "x_PartnerCreditRate"),
        "x_PartnerCreditApplied",
    );
    assert_eq!(
        read(&both).0.errors[0].message,
        "missing required header x_PartnerCreditRate (or x_PartnerCreditApplied)"
    );
    // FOCUS 1.2 has both SkuMeter and the deprecated x_SkuMeterName: either will do.
    assert_eq!(read(&without(FOCUS_1_2, "SkuMeter")).0.error_count, 0);
    assert_eq!(read(&without(FOCUS_1_2, "x_SkuMeterName")).0.error_count, 0);
}

#[test]
fn a_duplicated_header_rejects_the_file() {
    let mut recs = records(FOCUS_1_0);
    for (i, r) in recs.iter_mut().enumerate() {
        r.push(if i == 0 {
            " listcost ".into()
        } else {
            "1".into()
        });
    }
    let (report, lines) = read(&write_csv(&recs));
    assert!(lines.is_empty());
    assert_eq!(
        report.errors,
        vec![RowError {
            line: 1,
            column: "ListCost".into(),
            value: "listcost".into(),
            message: "duplicated header: ListCost appears more than once".into(),
        }]
    );
}

#[test]
fn bad_values_are_reported_by_line_and_column() {
    let cases: [(&[u8], usize, &str, &str, &str); 12] = [
        (
            FOCUS_1_0,
            2,
            "x_PartnerCreditRate",
            "1.5",
            "fraction between 0 and 1",
        ),
        (
            FOCUS_1_0,
            0,
            "x_PartnerCreditRate",
            "abc",
            "not a decimal number",
        ),
        (
            FOCUS_1_0,
            0,
            "x_PartnerCreditApplied",
            "maybe",
            "must be true or false",
        ),
        (
            FOCUS_1_0,
            5,
            "ChargePeriodStart",
            "2026-02-30T00:00Z",
            "not a valid ChargePeriodStart",
        ),
        (FOCUS_1_0, 1, "ListCost", "", "ListCost is required"),
        (
            FOCUS_1_0,
            1,
            "x_CustomerId",
            " ",
            "x_CustomerId is required",
        ),
        (FOCUS_1_0, 3, "BillingCurrency", "US", "three-letter"),
        (
            FOCUS_1_2,
            7,
            "PricingQuantity",
            "many",
            "not a decimal number",
        ),
        (
            COST_DETAILS,
            0,
            "partnerTenantId",
            "11111111-2222-3333-4444-555555555555",
            "TENANT_MISMATCH",
        ),
        (COST_DETAILS, 4, "date", "31/12/2026", "not a valid date"),
        (COST_DETAILS, 6, "quantity", "x", "not a decimal number"),
        (
            COST_DETAILS,
            7,
            "partnerEarnedCreditRate",
            "15",
            "fraction between 0 and 1",
        ),
    ];
    for (fixture, row, column, value, message) in cases {
        let (report, lines) = read(&with(fixture, row, column, value));
        assert_eq!(
            report.error_count, 1,
            "{column}={value}: {:?}",
            report.errors
        );
        let e = &report.errors[0];
        assert_eq!(
            (e.line, e.column.as_str(), e.value.as_str()),
            (row as u64 + 2, column, value),
            "{column}"
        );
        assert!(e.message.contains(message), "{column}: {}", e.message);
        // All or nothing: nothing after the first bad row is handed over.
        assert_eq!(lines.len(), row, "{column}");
    }
    // Both price columns empty.
    let bad = with(&with(COST_DETAILS, 0, "PayGPrice", ""), 0, "unitPrice", "");
    let (report, _) = read(&bad);
    assert_eq!(
        (
            report.errors[0].column.as_str(),
            report.errors[0].message.as_str()
        ),
        ("PayGPrice", "PayGPrice (or unitPrice) is required")
    );
    // A wrong number of fields, as for DRU files.
    let mut recs = records(FOCUS_1_0);
    recs[3].truncate(5);
    let (report, _) = read(&write_csv(&recs));
    assert_eq!(report.errors[0].line, 4);
    assert_eq!(
        report.errors[0].message,
        "the row has 5 fields, the header has 96"
    );
}

/// Found with the `usage_file` fuzz target (`fuzz/`): see `usage::MAX_LINE_AMOUNT`.
#[test]
fn export_line_amounts_are_bounded() {
    let (report, lines) = read(&with(COST_DETAILS, 0, "quantity", "5000000000000000"));
    assert!(lines.is_empty());
    assert_eq!(
        report.errors,
        vec![RowError {
            line: 2,
            column: "quantity".into(),
            value: "5000000000000000".into(),
            message: "the line's amount (quantity × unit price) is 1440000000000000.000, \
                          more than the ±1000000000000000 a usage line may have"
                .into(),
        }]
    );
    let (report, _) = read(&with(FOCUS_1_0, 0, "ListCost", "-1000000000000000.1"));
    assert_eq!(report.error_count, 1);
    assert_eq!(report.errors[0].column, "ListCost");
}

#[test]
fn pec_percentage_rules() {
    let pec = |rate: &str, applied: &str| {
        let bytes = with(
            &with(FOCUS_1_0, 0, "x_PartnerCreditRate", rate),
            0,
            "x_PartnerCreditApplied",
            applied,
        );
        let (report, lines) = read(&bytes);
        assert_eq!(report.errors, vec![], "{rate}/{applied}");
        lines[0].pec_percentage.normalize()
    };
    assert_eq!(pec("0.15", "true"), dec("15"));
    assert_eq!(pec("0.15", "false"), dec("0"), "not applied wins");
    assert_eq!(pec("", "TRUE"), dec("15"));
    assert_eq!(pec("", ""), dec("0"));
    assert_eq!(pec("0.15", ""), dec("15"));
    assert_eq!(pec("15%", "1"), dec("15"));
    assert_eq!(pec("0.2", "yes"), dec("20"));
    assert_eq!(pec("0", "true"), dec("0"), "a given rate wins");
}

#[test]
fn spot_and_savings_plan() {
    let (_, lines) = read(&with(COST_DETAILS, 1, "PricingModel", "Spot"));
    assert_eq!(lines[1].benefit_type, "Spot");
    assert_eq!(
        product_ineligibility(&lines[1], &Config::default()),
        Some(IneligibleReason::Spot)
    );
    let (_, lines) = read(&with(COST_DETAILS, 1, "PricingModel", "SavingsPlan"));
    assert_eq!(
        product_ineligibility(&lines[1], &Config::default()),
        Some(IneligibleReason::SavingsPlan)
    );
    let (_, lines) = read(&with(FOCUS_1_0, 1, "PricingCategory", "Dynamic"));
    assert_eq!(
        product_ineligibility(&lines[1], &Config::default()),
        Some(IneligibleReason::Spot)
    );
    let (_, lines) = read(&with(
        FOCUS_1_2,
        1,
        "CommitmentDiscountType",
        "Savings Plan",
    ));
    assert_eq!(
        product_ineligibility(&lines[1], &Config::default()),
        Some(IneligibleReason::SavingsPlan)
    );
    let (_, lines) = read(&with(FOCUS_1_2, 1, "ChargeCategory", "Purchase"));
    assert_eq!(lines[1].charge_type, "purchase");
    assert_eq!(
        product_ineligibility(&lines[1], &Config::default()),
        Some(IneligibleReason::NotConsumption)
    );
    // Marketplace: an empty publisher name takes the publisher type.
    let bad = with(
        &with(COST_DETAILS, 1, "publisherName", ""),
        1,
        "publisherType",
        "Marketplace",
    );
    let (_, lines) = read(&bad);
    assert_eq!(
        product_ineligibility(&lines[1], &Config::default()),
        Some(IneligibleReason::ThirdParty)
    );
    let (_, lines) = read(&with(FOCUS_1_0, 1, "PublisherName", ""));
    assert_eq!(
        lines[1].publisher_name, "Microsoft",
        "x_PublisherCategory Cloud Provider"
    );
}

#[test]
fn dates_and_subscriptions_as_the_exports_write_them() {
    assert_eq!(
        parse_export_date("2026-09-01T00:00Z"),
        NaiveDate::from_ymd_opt(2026, 9, 1)
    );
    assert_eq!(
        parse_export_date("2026-09-01T23:30-01:00"),
        NaiveDate::from_ymd_opt(2026, 9, 2)
    );
    assert_eq!(
        parse_export_date("09/01/2026"),
        NaiveDate::from_ymd_opt(2026, 9, 1)
    );
    for bad in [
        "2026-09-01T00:00:",
        "2026-09-01T0000Z",
        "2026-09-01Tx",
        "",
        "é",
    ] {
        assert_eq!(parse_export_date(bad), None, "{bad:?}");
    }
    assert_eq!(subscription_guid(" /Subscriptions/ABC/ "), "ABC");
    assert_eq!(
        subscription_guid("/subscriptions/abc/resourceGroups/x"),
        "abc"
    );
    assert_eq!(subscription_guid("abc"), "abc");
    assert_eq!(subscription_guid("/subscriptions"), "/subscriptions");
    assert_eq!(subscription_guid("/subscriptionsé"), "/subscriptionsé");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn arbitrary_bytes_after_an_export_header_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..3000),
        which in 0usize..3,
        mpn in any::<bool>(),
    ) {
        let fixture = [COST_DETAILS, FOCUS_1_0, FOCUS_1_2][which];
        let header_end = fixture.iter().position(|&b| b == b'\n').unwrap_or(0) + 1;
        let mut input = fixture[..header_end].to_vec();
        input.extend(&bytes);
        let (report, lines) = read_opts(&input, &options(mpn.then_some(MPN)));
        prop_assert_eq!(report.bytes, input.len() as u64);
        prop_assert!(report.errors.len() as u64 <= report.error_count);
        prop_assert!(report.errors.len() <= MAX_REPORTED_ERRORS);
        if report.error_count == 0 {
            prop_assert_eq!(lines.len() as u64, report.rows);
        }
    }

    #[test]
    fn damaged_exports_are_accepted_whole_or_reported(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        which in 0usize..3,
    ) {
        let mut input = [COST_DETAILS, FOCUS_1_0, FOCUS_1_2][which].to_vec();
        for (at, byte) in edits {
            let i = at.index(input.len());
            input[i] = byte;
        }
        let (report, lines) = read(&input);
        if report.error_count == 0 {
            prop_assert_eq!(lines.len() as u64, report.rows);
        } else {
            prop_assert!(!report.errors.is_empty());
            prop_assert!(lines.iter().all(|l| l.line < report.errors[0].line));
        }
    }
}

/// Renames a column of a fixture.
fn renamed(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    let mut recs = records(bytes);
    let c = recs[0]
        .iter()
        .position(|h| h == from)
        .unwrap_or_else(|| panic!("no column {from}"));
    recs[0][c] = to.into();
    write_csv(&recs)
}

/// Cost details whose currency columns are named `pricingCurrencyCode`/`billingCurrencyCode`
/// (names Microsoft's field list uses) read as the usual ones (issue 16, part 5).
#[test]
fn currency_code_columns_are_taken() {
    let (_, plain) = read(COST_DETAILS);
    let coded = renamed(
        &renamed(COST_DETAILS, "pricingCurrency", "pricingCurrencyCode"),
        "billingCurrency",
        "billingCurrencyCode",
    );
    let (report, lines) = read(&coded);
    assert_eq!(report.errors, vec![]);
    assert_eq!(figures(&lines), figures(&plain));
    assert_eq!(lines[0].pricing_currency, "USD");
    // Only the billing one: the fallback, by its code name too.
    let billing_only = without(
        &renamed(COST_DETAILS, "billingCurrency", "billingCurrencyCode"),
        "pricingCurrency",
    );
    let (report, lines) = read(&billing_only);
    assert_eq!(report.errors, vec![]);
    assert_eq!(lines[0].pricing_currency, "USD");
}

/// A reservation purchase with a zero PayGPrice counts at what it was billed (unitPrice), as
/// ineligible NOT_CONSUMPTION — not as zero (issue 16, part 5). Usage lines are unchanged.
#[test]
fn a_purchase_with_a_zero_paygo_price_counts_at_its_billed_price() {
    let mut bytes = with(COST_DETAILS, 2, "chargeType", "Purchase");
    bytes = with(&bytes, 2, "PayGPrice", "0");
    bytes = with(&bytes, 2, "unitPrice", "3.25");
    bytes = with(&bytes, 2, "quantity", "1");
    let (report, lines) = read(&bytes);
    assert_eq!(report.errors, vec![]);
    let purchase = &lines[2];
    assert_eq!(purchase.charge_type, "purchase");
    assert_eq!(purchase.quantity * purchase.unit_price, dec("3.25"));
    assert_eq!(
        product_ineligibility(purchase, &Config::default()),
        Some(IneligibleReason::NotConsumption)
    );
    // A usage line with a zero PayGPrice (the support line) stays at zero.
    assert_eq!(lines[3].unit_price, dec("0"));
}

/// A FOCUS row whose charge period runs longer than one day (a monthly row) is booked to its
/// first day and the report warns, naming the line and the column; a daily row does not (issue
/// 16, part 5).
#[test]
fn a_charge_period_longer_than_a_day_is_a_warning() {
    let (report, _) = read(FOCUS_1_2);
    assert_eq!(report.warnings, vec![], "daily rows: no warning");
    let monthly = with(FOCUS_1_2, 0, "ChargePeriodEnd", "2026-10-01T00:00:00Z");
    let (report, lines) = read(&monthly);
    assert_eq!(report.errors, vec![]);
    assert_eq!(report.error_count, 0, "taken");
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    let w = &report.warnings[0];
    assert_eq!((w.line, w.column.as_str()), (2, "ChargePeriodEnd"));
    assert!(
        w.message.contains("30 days") && w.message.contains("2026-09-01"),
        "{}",
        w.message
    );
    assert_eq!(
        lines[0].usage_date,
        NaiveDate::from_ymd_opt(2026, 9, 1).unwrap()
    );
}

/// A date-time whose 17th byte falls inside a character is no date (it panicked before: found
/// by the fuzzer through `ChargePeriodEnd`).
#[test]
fn a_date_cut_inside_a_character_is_no_date() {
    assert_eq!(parse_export_date("2026-09-01T00:0ѥ0Z"), None);
    assert_eq!(parse_export_date("2026-09-01T00:00ѥ"), None);
    assert_eq!(
        parse_export_date("2026-09-01T00:00Z"),
        NaiveDate::from_ymd_opt(2026, 9, 1)
    );
}
