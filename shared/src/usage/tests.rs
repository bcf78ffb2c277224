//! Tests for [`crate::usage`]: the DRU reader end to end (header, rows, limits, line numbers,
//! gzip and BOM handling, the error report) and usage-date parsing, including property tests.

use super::columns::*;
use super::*;
use crate::decimal::parse_decimal;
use crate::ids::usage_resource_key;
use chrono::{Duration, NaiveDate};
use proptest::prelude::*;
use sha2::{Digest, Sha256};
use std::convert::Infallible;
use std::io::{self, Read};

const PARTNER: &str = "7a3c0000-0000-4000-8000-000000000001";
const SUB: &str = "23b8c1e9-3924-46de-beb1-3b9046685257";

/// `fixtures/examples/daily-rated-usage.csv`, byte for byte (UTF-8 BOM, CRLF).
const EXAMPLE: &str = concat!(
    "\u{feff}PartnerId,PartnerName,CustomerId,CustomerName,CustomerDomainName,CustomerCountry,MpnId,Tier2MpnId,InvoiceNumber,ProductId,SkuId,AvailabilityId,SkuName,ProductName,PublisherName,PublisherId,SubscriptionDescription,SubscriptionId,ChargeStartDate,ChargeEndDate,UsageDate,MeterType,MeterCategory,MeterId,MeterSubCategory,MeterName,MeterRegion,Unit,ResourceLocation,ConsumedService,ResourceGroup,ResourceURI,ChargeType,UnitPrice,Quantity,UnitType,BillingPreTaxTotal,BillingCurrency,PricingPreTaxTotal,PricingCurrency,ServiceInfo1,ServiceInfo2,Tags,AdditionalInfo,EffectiveUnitPrice,PCToBCExchangeRate,PCToBCExchangeRateDate,EntitlementId,EntitlementDescription,PartnerEarnedCreditPercentage,CreditPercentage,CreditType,BenefitOrderId,BenefitId,BenefitType\r\n",
    "7a3c0000-0000-4000-8000-000000000001,Northwind Cloud Partner,bdd640fb-0667-4ad1-9c80-317fa3b1799d,Customer bdd6,cbdd6.onmicrosoft.com,SE,4100001,,G012345678,DZH318Z0BQPS,0001,DZH318Z0BQ3Q,Azure plan,Azure plan,Microsoft,,Azure plan,23b8c1e9-3924-46de-beb1-3b9046685257,10/1/2026,10/31/2026,2026-09-01,1 Compute Hour,Azure App Service,7c52739c-65c2-5f49-bcde-403d7bdebb4f,Dv5 Series,P1v3 App,EU North,1 Hour,swedencentral,Microsoft.Compute,rg-web,/subscriptions/23b8c1e9-3924-46de-beb1-3b9046685257/resourceGroups/rg-web/providers/Microsoft.Web/sites/shop,new,0.288,24,1 Hour,0,USD,0,USD,,,,,0,1,10/1/2026,23b8c1e9-3924-46de-beb1-3b9046685257,Azure plan,15,0,,,,\r\n",
    "7a3c0000-0000-4000-8000-000000000001,Northwind Cloud Partner,bdd640fb-0667-4ad1-9c80-317fa3b1799d,Customer bdd6,cbdd6.onmicrosoft.com,SE,4100001,,G012345678,DZH318Z0BQPS,0001,DZH318Z0BQ3Q,Azure plan,Azure plan,Microsoft,,Azure plan,23b8c1e9-3924-46de-beb1-3b9046685257,10/1/2026,10/31/2026,2026-09-01,1 Compute Hour,SQL Database,9f85442b-35e0-5120-9988-40fb60dfc93b,Dv5 Series,vCore,EU North,1 Hour,swedencentral,Microsoft.Compute,rg-data,/subscriptions/23b8c1e9-3924-46de-beb1-3b9046685257/resourceGroups/rg-data/providers/Microsoft.Sql/servers/sql1/databases/orders,new,0.5044,48,1 Hour,0,USD,0,USD,,,,,0,1,10/1/2026,23b8c1e9-3924-46de-beb1-3b9046685257,Azure plan,0,0,,,,\r\n",
    "7a3c0000-0000-4000-8000-000000000001,Northwind Cloud Partner,bdd640fb-0667-4ad1-9c80-317fa3b1799d,Customer bdd6,cbdd6.onmicrosoft.com,SE,4100001,,G012345678,DZH318Z0BQPS,0001,DZH318Z0BQ3Q,Azure plan,Azure plan,Microsoft,,Azure plan,23b8c1e9-3924-46de-beb1-3b9046685257,10/1/2026,10/31/2026,2026-09-01,1 Compute Hour,Virtual Machines,2369ee67-e917-5259-a57d-0243ac3d8c8e,Dv5 Series,D4s v5,EU North,1 Hour,swedencentral,Microsoft.Compute,rg-web,/subscriptions/23b8c1e9-3924-46de-beb1-3b9046685257/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/batch,new,0.192,24,1 Hour,0,USD,0,USD,,,,,0,1,10/1/2026,23b8c1e9-3924-46de-beb1-3b9046685257,Azure plan,0,0,,,,Reservation\r\n",
    "7a3c0000-0000-4000-8000-000000000001,Northwind Cloud Partner,bdd640fb-0667-4ad1-9c80-317fa3b1799d,Customer bdd6,cbdd6.onmicrosoft.com,SE,4100001,,G012345678,DZH318Z0BQPS,0001,DZH318Z0BQ3Q,Azure plan,Azure plan,Microsoft,,Azure plan,23b8c1e9-3924-46de-beb1-3b9046685257,10/1/2026,10/31/2026,2026-09-01,1 Compute Hour,Support,d67b1e94-c0b2-54a5-9392-94bb799a4b69,Dv5 Series,Standard Support,EU North,1 Hour,swedencentral,Microsoft.Compute,,,new,0.0,1,1 Hour,0,USD,0,USD,,,,,0,1,10/1/2026,23b8c1e9-3924-46de-beb1-3b9046685257,Azure plan,15,0,,,,\r\n",
    "7a3c0000-0000-4000-8000-000000000001,Northwind Cloud Partner,bdd640fb-0667-4ad1-9c80-317fa3b1799d,Customer bdd6,cbdd6.onmicrosoft.com,SE,4100001,,G012345678,DZH318Z0BQPS,0001,DZH318Z0BQ3Q,Azure plan,Azure plan,Microsoft,,Azure plan,23b8c1e9-3924-46de-beb1-3b9046685257,10/1/2026,10/31/2026,2026-09-02,1 Compute Hour,Azure App Service,7c52739c-65c2-5f49-bcde-403d7bdebb4f,Dv5 Series,P1v3 App,EU North,1 Hour,swedencentral,Microsoft.Compute,rg-web,/subscriptions/23b8c1e9-3924-46de-beb1-3b9046685257/resourceGroups/rg-web/providers/Microsoft.Web/sites/shop,new,0.288,24,1 Hour,0,USD,0,USD,,,,,0,1,10/1/2026,23b8c1e9-3924-46de-beb1-3b9046685257,Azure plan,15,0,,,,\r\n",
    "7a3c0000-0000-4000-8000-000000000001,Northwind Cloud Partner,bdd640fb-0667-4ad1-9c80-317fa3b1799d,Customer bdd6,cbdd6.onmicrosoft.com,SE,4100001,,G012345678,DZH318Z0BQPS,0001,DZH318Z0BQ3Q,Azure plan,Azure plan,Microsoft,,Azure plan,23b8c1e9-3924-46de-beb1-3b9046685257,10/1/2026,10/31/2026,2026-09-02,1 Compute Hour,SQL Database,9f85442b-35e0-5120-9988-40fb60dfc93b,Dv5 Series,vCore,EU North,1 Hour,swedencentral,Microsoft.Compute,rg-data,/subscriptions/23b8c1e9-3924-46de-beb1-3b9046685257/resourceGroups/rg-data/providers/Microsoft.Sql/servers/sql1/databases/orders,new,0.5044,48,1 Hour,0,USD,0,USD,,,,,0,1,10/1/2026,23b8c1e9-3924-46de-beb1-3b9046685257,Azure plan,0,0,,,,\r\n",
    "7a3c0000-0000-4000-8000-000000000001,Northwind Cloud Partner,bdd640fb-0667-4ad1-9c80-317fa3b1799d,Customer bdd6,cbdd6.onmicrosoft.com,SE,4100001,,G012345678,DZH318Z0BQPS,0001,DZH318Z0BQ3Q,Azure plan,Azure plan,Microsoft,,Azure plan,23b8c1e9-3924-46de-beb1-3b9046685257,10/1/2026,10/31/2026,2026-09-02,1 Compute Hour,Virtual Machines,2369ee67-e917-5259-a57d-0243ac3d8c8e,Dv5 Series,D4s v5,EU North,1 Hour,swedencentral,Microsoft.Compute,rg-web,/subscriptions/23b8c1e9-3924-46de-beb1-3b9046685257/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/batch,new,0.192,24,1 Hour,0,USD,0,USD,,,,,0,1,10/1/2026,23b8c1e9-3924-46de-beb1-3b9046685257,Azure plan,0,0,,,,Reservation\r\n",
    "7a3c0000-0000-4000-8000-000000000001,Northwind Cloud Partner,bdd640fb-0667-4ad1-9c80-317fa3b1799d,Customer bdd6,cbdd6.onmicrosoft.com,SE,4100001,,G012345678,DZH318Z0BQPS,0001,DZH318Z0BQ3Q,Azure plan,Azure plan,Microsoft,,Azure plan,23b8c1e9-3924-46de-beb1-3b9046685257,10/1/2026,10/31/2026,2026-09-02,1 Compute Hour,Support,d67b1e94-c0b2-54a5-9392-94bb799a4b69,Dv5 Series,Standard Support,EU North,1 Hour,swedencentral,Microsoft.Compute,,,new,0.0,1,1 Hour,0,USD,0,USD,,,,,0,1,10/1/2026,23b8c1e9-3924-46de-beb1-3b9046685257,Azure plan,15,0,,,,\r\n",
);

/// Reads `bytes` as `PARTNER`, collecting the lines handed on.
fn read(bytes: &[u8]) -> (UsageFileReport, Vec<UsageLine>) {
    read_from(bytes, PARTNER)
}

fn read_from(input: impl Read, partner: &str) -> (UsageFileReport, Vec<UsageLine>) {
    let mut lines = Vec::new();
    let report = read_usage_file(input, partner, |l| {
        lines.push(l);
        Ok::<(), Infallible>(())
    })
    .expect("on_line never fails here");
    (report, lines)
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

use pec_testkit::gzip;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
}

fn dec(text: &str) -> Decimal {
    parse_decimal(text).expect("valid test decimal")
}

/// The eight lines of the example file, worked out by hand.
fn example_lines() -> Vec<UsageLine> {
    let rg =
        |rg: &str, rest: &str| format!("/subscriptions/{SUB}/resourcegroups/{rg}/providers/{rest}");
    // (meter id, meter name, meter category, resource group, resource key, price, quantity,
    //  PEC %, benefit type)
    let resources = [
        (
            "7c52739c-65c2-5f49-bcde-403d7bdebb4f",
            "P1v3 App",
            "Azure App Service",
            "rg-web",
            rg("rg-web", "microsoft.web/sites/shop"),
            "0.288",
            "24",
            "15",
            "",
        ),
        (
            "9f85442b-35e0-5120-9988-40fb60dfc93b",
            "vCore",
            "SQL Database",
            "rg-data",
            rg("rg-data", "microsoft.sql/servers/sql1/databases/orders"),
            "0.5044",
            "48",
            "0",
            "",
        ),
        (
            "2369ee67-e917-5259-a57d-0243ac3d8c8e",
            "D4s v5",
            "Virtual Machines",
            "rg-web",
            rg("rg-web", "microsoft.compute/virtualmachines/batch"),
            "0.192",
            "24",
            "0",
            "Reservation",
        ),
        (
            "d67b1e94-c0b2-54a5-9392-94bb799a4b69",
            "Standard Support",
            "Support",
            "",
            format!("/subscriptions/{SUB}"),
            "0.0",
            "1",
            "15",
            "",
        ),
    ];
    let mut lines = Vec::new();
    for (d, date) in [day(2026, 9, 1), day(2026, 9, 2)].into_iter().enumerate() {
        for (i, r) in resources.iter().enumerate() {
            lines.push(UsageLine {
                line: 2 + 4 * d as u64 + i as u64,
                partner_id: PARTNER.into(),
                customer_id: "bdd640fb-0667-4ad1-9c80-317fa3b1799d".into(),
                subscription_id: SUB.into(),
                customer_name: "Customer bdd6".into(),
                partner_name: "Northwind Cloud Partner".into(),
                customer_domain: "cbdd6.onmicrosoft.com".into(),
                subscription_name: "Azure plan".into(),
                reseller_name: String::new(),
                mpn_id: "4100001".into(),
                tier2_mpn_id: String::new(),
                usage_date: date,
                resource_key: r.4.clone(),
                resource_group: r.3.into(),
                meter_id: r.0.into(),
                meter_name: r.1.into(),
                meter_category: r.2.into(),
                meter_sub_category: "Dv5 Series".into(),
                product_name: "Azure plan".into(),
                publisher_name: "Microsoft".into(),
                charge_type: "new".into(),
                unit_price: dec(r.5),
                quantity: dec(r.6),
                pricing_currency: "USD".into(),
                pec_percentage: dec(r.7),
                benefit_type: r.8.into(),
                tags: String::new(),
            });
        }
    }
    lines
}

/// The example's records (header first), as fields.
fn example_records() -> Vec<Vec<String>> {
    EXAMPLE
        .trim_start_matches('\u{feff}')
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').map(String::from).collect())
        .collect()
}

/// Writes records as CSV (quoting where needed) with the given line terminator.
fn write_csv(records: &[Vec<String>], crlf: bool) -> Vec<u8> {
    let terminator = if crlf {
        csv::Terminator::CRLF
    } else {
        csv::Terminator::Any(b'\n')
    };
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .terminator(terminator)
        .from_writer(Vec::new());
    for r in records {
        w.write_record(r).expect("in memory");
    }
    w.into_inner().expect("in memory")
}

/// The index of a column in the SPEC's (and the example's) order.
fn col(name: &str) -> usize {
    COLUMNS
        .iter()
        .position(|c| *c == name)
        .unwrap_or(usize::MAX)
}

/// The example with one value changed: data row `row` (0-based), column `name`.
fn example_with(row: usize, name: &str, value: &str) -> Vec<u8> {
    let mut records = example_records();
    records[row + 1][col(name)] = value.into();
    write_csv(&records, false)
}

/// A reader that hands out at most `n` bytes per call.
struct Trickle<'a>(&'a [u8], usize);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.0.len().min(buf.len()).min(self.1);
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn column_indexes_match_the_spec_header() {
    let h = usage_header();
    assert_eq!(h.len(), 55);
    for (i, name) in [
        (PARTNER_ID, "PartnerId"),
        (CUSTOMER_ID, "CustomerId"),
        (CUSTOMER_NAME, "CustomerName"),
        (PARTNER_NAME, "PartnerName"),
        (CUSTOMER_DOMAIN, "CustomerDomainName"),
        (SUBSCRIPTION_DESCRIPTION, "SubscriptionDescription"),
        (MPN_ID, "MpnId"),
        (TIER2_MPN_ID, "Tier2MpnId"),
        (PRODUCT_NAME, "ProductName"),
        (PUBLISHER_NAME, "PublisherName"),
        (SUBSCRIPTION_ID, "SubscriptionId"),
        (USAGE_DATE, "UsageDate"),
        (METER_CATEGORY, "MeterCategory"),
        (METER_ID, "MeterId"),
        (METER_SUB_CATEGORY, "MeterSubCategory"),
        (METER_NAME, "MeterName"),
        (RESOURCE_GROUP, "ResourceGroup"),
        (RESOURCE_URI, "ResourceURI"),
        (CHARGE_TYPE, "ChargeType"),
        (UNIT_PRICE, "UnitPrice"),
        (QUANTITY, "Quantity"),
        (PRICING_CURRENCY, "PricingCurrency"),
        (TAGS, "Tags"),
        (PEC_PERCENTAGE, "PartnerEarnedCreditPercentage"),
        (BENEFIT_TYPE, "BenefitType"),
    ] {
        assert_eq!(h[i], name);
    }
    let mut unique: Vec<String> = h.iter().map(|c| c.to_ascii_lowercase()).collect();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 55);
    // The example file's header is the SPEC's, in order.
    assert_eq!(
        example_records()[0],
        h.iter().map(|c| c.to_string()).collect::<Vec<_>>()
    );
}

#[test]
fn the_example_file_parses_to_its_eight_lines() {
    let bytes = EXAMPLE.as_bytes();
    let (report, lines) = read(bytes);
    assert_eq!(report.errors, vec![]);
    assert_eq!(report.error_count, 0);
    assert_eq!(report.rows, 8);
    assert_eq!(report.bytes, 5891);
    assert_eq!(report.bytes, bytes.len() as u64);
    assert_eq!(report.sha256, sha(bytes));
    // The file's own SHA-256, as `sha256sum` prints it: the copy above is exact.
    assert_eq!(
        report.sha256,
        "291213c0c7c41cc9a57deb497ced8606024a3c0af81d7eae8b1dda844d8e2241"
    );
    assert_eq!(lines, example_lines());
    assert_eq!(lines[0].quantity, Decimal::new(24, 0));
    assert_eq!(lines[0].unit_price, Decimal::new(288, 3));
    assert_eq!(lines[0].pec_percentage, Decimal::new(15, 0));
    assert_eq!(
        lines[3].resource_key,
        "/subscriptions/23b8c1e9-3924-46de-beb1-3b9046685257"
    );
    assert_eq!(lines[3].line, 5);
}

#[test]
fn gzip_and_short_reads_give_the_same_lines() {
    let gz = gzip(EXAMPLE.as_bytes());
    let (report, lines) = read(&gz);
    assert_eq!((report.error_count, report.rows), (0, 8));
    assert_eq!(lines, example_lines());
    assert_eq!(report.sha256, sha(&gz));
    assert_eq!(report.bytes, gz.len() as u64);

    // Two gzip members, as `cat a.gz b.gz` makes.
    let cut = EXAMPLE.find("\r\n7a3c").expect("a data row") + 2;
    let mut two = gzip(&EXAMPLE.as_bytes()[..cut]);
    two.extend(gzip(&EXAMPLE.as_bytes()[cut..]));
    let (report, lines) = read(&two);
    assert_eq!(report.error_count, 0);
    assert_eq!(lines, example_lines());

    for input in [EXAMPLE.as_bytes(), &gz] {
        let (report, lines) = read_from(Trickle(input, 1), PARTNER);
        assert_eq!((report.error_count, report.sha256), (0, sha(input)));
        assert_eq!(lines, example_lines());
    }
}

#[test]
fn with_or_without_bom_crlf_or_lf() {
    let no_bom = EXAMPLE.trim_start_matches('\u{feff}');
    let lf = no_bom.replace("\r\n", "\n");
    let bom_lf = format!("\u{feff}{lf}");
    let no_final_newline = lf.trim_end().to_string();
    for text in [no_bom, &lf, &bom_lf, &no_final_newline] {
        let (report, lines) = read(text.as_bytes());
        assert_eq!((report.error_count, report.rows), (0, 8));
        assert_eq!(lines, example_lines());
    }
}

#[test]
fn blank_lines_and_lone_cr_keep_line_numbers_right() {
    let records = example_records();
    let text = String::from_utf8(write_csv(&records, true)).expect("UTF-8");
    let mut rows: Vec<&str> = text.split_inclusive("\r\n").collect();
    rows.insert(2, "\r\n\r\n"); // two blank lines before the second data row
    rows.insert(5, "\n"); // a blank LF line before the fourth
    let mut text = rows.concat();
    text = text.replacen("\r\n", "\r", 1); // the header ends with a lone CR
    let (report, lines) = read(text.as_bytes());
    assert_eq!((report.error_count, report.rows), (0, 8));
    let numbers: Vec<u64> = lines.iter().map(|l| l.line).collect();
    assert_eq!(numbers, vec![2, 5, 6, 8, 9, 10, 11, 12]);
}

#[test]
fn headers_in_any_order_and_case_unknown_columns_ignored() {
    let mut records = example_records();
    for r in records.iter_mut() {
        r.reverse();
        r.insert(7, "anything".into());
    }
    records[0] = records[0]
        .iter()
        .map(|h| format!("  {}\t", h.to_uppercase()))
        .collect();
    records[0][7] = "Not A Column".into();
    for crlf in [false, true] {
        let (report, lines) = read(&write_csv(&records, crlf));
        assert_eq!(report.errors, vec![]);
        assert_eq!(lines, example_lines());
    }
    // Optional columns may be left out: they read as empty.
    let mut records = example_records();
    let c = col("BenefitType");
    for r in records.iter_mut() {
        r.remove(c);
    }
    let (report, lines) = read(&write_csv(&records, false));
    assert_eq!(report.error_count, 0);
    assert_eq!(lines[2].benefit_type, "");
    assert_eq!(lines[2].meter_name, "D4s v5");
}

#[test]
fn a_missing_required_header_rejects_the_file() {
    for name in ["MeterId", "ResourceURI", "PartnerEarnedCreditPercentage"] {
        let mut records = example_records();
        let c = col(name);
        for r in records.iter_mut() {
            r.remove(c);
        }
        let bytes = write_csv(&records, false);
        let (report, lines) = read(&bytes);
        assert!(lines.is_empty());
        assert_eq!(report.rows, 0);
        assert_eq!(report.error_count, 1);
        assert_eq!(
            report.errors,
            vec![RowError {
                line: 1,
                column: name.into(),
                value: String::new(),
                message: format!("missing required header {name}"),
            }]
        );
        // The hash still covers the whole file.
        assert_eq!(
            (report.sha256, report.bytes),
            (sha(&bytes), bytes.len() as u64)
        );
    }
}

#[test]
fn a_duplicated_header_rejects_the_file() {
    let mut records = example_records();
    for (i, r) in records.iter_mut().enumerate() {
        r.push(if i == 0 {
            " tags ".into()
        } else {
            String::new()
        });
        r.push(if i == 0 {
            "Extra".into()
        } else {
            String::new()
        });
        r.push(if i == 0 {
            "extra".into()
        } else {
            String::new()
        });
    }
    let (report, lines) = read(&write_csv(&records, false));
    assert!(lines.is_empty());
    assert_eq!(
        report.error_count, 1,
        "a repeated unknown column is no error"
    );
    assert_eq!(
        report.errors,
        vec![RowError {
            line: 1,
            column: "Tags".into(),
            value: "tags".into(),
            message: "duplicated header: Tags appears more than once".into(),
        }]
    );
}

#[test]
fn a_bad_row_stops_the_hand_over_and_is_reported_exactly() {
    let (report, lines) = read(&example_with(2, "Quantity", "abc"));
    assert_eq!(lines.iter().map(|l| l.line).collect::<Vec<_>>(), vec![2, 3]);
    assert_eq!(report.rows, 8);
    assert_eq!(report.error_count, 1);
    assert_eq!(
        report.errors,
        vec![RowError {
            line: 4,
            column: "Quantity".into(),
            value: "abc".into(),
            message: "not a decimal number: \"abc\"".into(),
        }]
    );
}

#[test]
fn every_problem_of_a_row_is_reported() {
    let mut records = example_records();
    records[1][col("MeterId")] = "  ".into();
    records[1][col("UsageDate")] = "2026-02-30".into();
    records[1][col("PricingCurrency")] = "US".into();
    records[1][col("ResourceURI")] = String::new(); // allowed empty
    let (report, lines) = read(&write_csv(&records, false));
    assert!(lines.is_empty());
    let found: Vec<(u64, &str, &str)> = report
        .errors
        .iter()
        .map(|e| (e.line, e.column.as_str(), e.value.as_str()))
        .collect();
    assert_eq!(
        found,
        vec![
            (2, "MeterId", "  "),
            (2, "UsageDate", "2026-02-30"),
            (2, "PricingCurrency", "US")
        ]
    );
    assert_eq!(report.errors[0].message, "MeterId is required");
    assert!(report.errors[1]
        .message
        .starts_with("not a valid UsageDate"));
}

#[test]
fn only_the_first_hundred_errors_are_listed_all_are_counted() {
    let mut records = example_records();
    let template = records[1].clone();
    let q = col("Quantity");
    records.truncate(1);
    for _ in 0..150 {
        let mut r = template.clone();
        r[q] = "x".into();
        records.push(r);
    }
    let (report, lines) = read(&write_csv(&records, false));
    assert!(lines.is_empty());
    assert_eq!(report.rows, 150);
    assert_eq!(report.error_count, 150);
    assert_eq!(report.errors.len(), MAX_REPORTED_ERRORS);
    assert_eq!(report.errors[0].line, 2);
    assert_eq!(report.errors[99].line, 101);
}

#[test]
fn another_partners_rows_are_a_tenant_mismatch() {
    let other = "11111111-2222-3333-4444-555555555555";
    let (report, lines) = read_from(EXAMPLE.as_bytes(), other);
    assert!(lines.is_empty());
    assert_eq!(report.error_count, 8);
    let e = &report.errors[0];
    assert_eq!(
        (e.line, e.column.as_str(), e.value.as_str()),
        (2, "PartnerId", PARTNER)
    );
    assert!(e.message.starts_with("TENANT_MISMATCH:"), "{}", e.message);

    // GUIDs compare case-insensitively, and are lower-cased.
    let (report, lines) = read_from(EXAMPLE.as_bytes(), &format!(" {} ", PARTNER.to_uppercase()));
    assert_eq!(report.error_count, 0);
    assert_eq!(lines.len(), 8);
    let upper = example_with(0, "PartnerId", &PARTNER.to_uppercase());
    let upper = String::from_utf8(upper)
        .expect("UTF-8")
        .replace(SUB, &SUB.to_uppercase());
    let (report, lines) = read(upper.as_bytes());
    assert_eq!(report.error_count, 0);
    assert_eq!(lines, example_lines());
}

#[test]
fn usage_date_forms() {
    let ok = [
        ("2026-09-01", day(2026, 9, 1)),
        (" 2026-09-01 ", day(2026, 9, 1)),
        ("2026-09-01T00:00:00", day(2026, 9, 1)),
        ("2026-09-01T23:59:59Z", day(2026, 9, 1)),
        ("2026-09-01T23:59:59.9999999Z", day(2026, 9, 1)),
        ("2026-09-01T12:00:00+00:00", day(2026, 9, 1)),
        ("2026-09-01T01:00:00+02:00", day(2026, 8, 31)),
        ("2026-09-01T23:30:00-01:00", day(2026, 9, 2)),
        ("2026-09-01T23:30:00-0100", day(2026, 9, 2)),
        ("9/1/2026", day(2026, 9, 1)),
        ("09/01/2026", day(2026, 9, 1)),
        ("12/31/2026 11:59:59 PM", day(2026, 12, 31)),
        ("9/1/2026 12:00:00 AM", day(2026, 9, 1)),
        ("9/1/2026 1:05:00 pm", day(2026, 9, 1)),
        ("9/1/2026 13:05:00", day(2026, 9, 1)),
        ("2/29/2028", day(2028, 2, 29)),
    ];
    for (text, date) in ok {
        assert_eq!(parse_usage_date(text), Ok(date), "{text}");
    }
    let bad = [
        "",
        "2026-02-30",
        "2026-13-01",
        "13/1/2026",
        "2/29/2026",
        "1/32/2026",
        "2026-9-1",
        "26-09-01",
        "2026/09/01",
        "9/1/26",
        "2026-09-01T24:00:00",
        "2026-09-01T12:00",
        "2026-09-01T12:00:00.",
        "2026-09-01T12:00:00+25:00",
        "2026-09-01X12:00:00",
        "2026-09-01T12:00:00Zjunk",
        "9/1/2026 13:00:00 PM",
        "9/1/2026 0:00:00 AM",
        "9/1/2026 12:60:00 PM",
        "9/1/2026 noon",
        "September 1, 2026",
        "1/1/2026/1",
        "２０２６-09-01",
    ];
    for text in bad {
        assert!(
            parse_usage_date(text).is_err(),
            "{text:?} should be rejected"
        );
    }
    // In a file, too.
    let (report, lines) = read(&example_with(0, "UsageDate", "9/2/2026 11:59:59 PM"));
    assert_eq!(report.error_count, 0);
    assert_eq!(lines[0].usage_date, day(2026, 9, 2));
    let (report, _) = read(&example_with(1, "UsageDate", "13/1/2026"));
    assert_eq!(
        (report.errors[0].line, report.errors[0].column.as_str()),
        (3, "UsageDate")
    );
}

#[test]
fn decimal_forms_and_ranges() {
    let (report, lines) = read(&example_with(0, "Quantity", "1.2E-05"));
    assert_eq!(report.error_count, 0);
    assert_eq!(lines[0].quantity, Decimal::new(12, 6));
    let (report, lines) = read(&example_with(0, "PartnerEarnedCreditPercentage", "15%"));
    assert_eq!(report.error_count, 0);
    assert_eq!(lines[0].pec_percentage, Decimal::new(15, 0));
    let (report, lines) = read(&example_with(0, "Quantity", "-3"));
    assert_eq!(
        report.error_count, 0,
        "corrections have negative quantities"
    );
    assert_eq!(lines[0].quantity, Decimal::new(-3, 0));
    let (report, lines) = read(&example_with(0, "PricingCurrency", "eur"));
    assert_eq!(report.error_count, 0);
    assert_eq!(lines[0].pricing_currency, "EUR");

    for pec in ["101", "-1", "100.01", "15 %%", "fifteen"] {
        let (report, lines) = read(&example_with(0, "PartnerEarnedCreditPercentage", pec));
        assert!(lines.is_empty());
        assert_eq!(report.error_count, 1, "{pec}");
        assert_eq!(report.errors[0].column, "PartnerEarnedCreditPercentage");
        assert_eq!(report.errors[0].value, pec);
    }
    let (report, _) = read(&example_with(0, "PartnerEarnedCreditPercentage", "100"));
    assert_eq!(report.error_count, 0);

    let mut records = example_records();
    records[1][col("UnitPrice")] = "79228162514264337593543950335".into();
    records[1][col("Quantity")] = "2".into();
    let (report, _) = read(&write_csv(&records, false));
    assert_eq!(
        report.errors,
        vec![RowError {
            line: 2,
            column: "Quantity".into(),
            value: "2".into(),
            message: "Quantity × UnitPrice is too large to compute".into(),
        }]
    );
    records[1][col("Quantity")] = "1".into();
    let (report, _) = read(&write_csv(&records, false));
    assert_eq!(report.error_count, 1, "× 15 % would overflow");
    assert!(report.errors[0]
        .message
        .contains("PartnerEarnedCreditPercentage"));
}

/// Found with the `usage_file` fuzz target (`fuzz/`; an input written for its aggregation
/// invariant): two lines of 5 × 10^28 each were read as valid, and adding them up in
/// ingestion (`UsageGroups::add`) overflowed `Decimal`, a panic. A line's amount is now
/// bounded by [`MAX_LINE_AMOUNT`].
#[test]
fn line_amounts_are_bounded_so_that_sums_cannot_overflow() {
    let mut records = example_records();
    for row in [1, 2] {
        records[row][col("UnitPrice")] = "50000000000000000000000000000".into();
        records[row][col("Quantity")] = "1".into();
        records[row][col("PartnerEarnedCreditPercentage")] = "0".into();
    }
    let (report, lines) = read(&write_csv(&records, false));
    assert!(lines.is_empty());
    let error = |line| RowError {
        line,
        column: "Quantity".into(),
        value: "1".into(),
        message: "the line's amount (quantity × unit price) is \
                      50000000000000000000000000000, more than the ±1000000000000000 a usage \
                      line may have"
            .into(),
    };
    assert_eq!(report.errors, vec![error(2), error(3)]);

    // The bound itself is allowed, either sign; a cent more is not.
    let amount = |price: &str, quantity: &str| {
        let mut records = example_records();
        records[1][col("UnitPrice")] = price.into();
        records[1][col("Quantity")] = quantity.into();
        let (report, lines) = read(&write_csv(&records, false));
        (report.error_count, lines.len())
    };
    assert_eq!(amount("1000000000000000", "1"), (0, 8));
    assert_eq!(amount("0.5", "-2000000000000000"), (0, 8));
    assert_eq!(amount("1000000000000000.01", "1"), (1, 0));
    assert_eq!(amount("-1000000000000000", "1.000000000000001"), (1, 0));
}

#[test]
fn a_quoted_newline_spans_lines() {
    let mut records = example_records();
    records[1][col("CustomerName")] = "Customer\nbdd6".into();
    let tags = "{\"a\":\"x,\r\ny\",\n\"b\":\"\"\"q\"\"\"}";
    records[3][col("Tags")] = tags.into();
    for crlf in [false, true] {
        let (report, lines) = read(&write_csv(&records, crlf));
        assert_eq!(report.error_count, 0);
        let numbers: Vec<u64> = lines.iter().map(|l| l.line).collect();
        assert_eq!(numbers, vec![2, 4, 5, 8, 9, 10, 11, 12]);
        assert_eq!(lines[0].customer_name, "Customer\nbdd6");
        assert_eq!(lines[2].tags, tags);
    }
    // A bad value after a multi-line record is reported on its own first line.
    records[5][col("MeterId")] = String::new();
    let (report, lines) = read(&write_csv(&records, true));
    assert_eq!(lines.len(), 4);
    assert_eq!(
        (report.errors[0].line, report.errors[0].column.as_str()),
        (9, "MeterId")
    );
}

#[test]
fn a_row_with_the_wrong_number_of_fields() {
    let mut records = example_records();
    records[2].push("extra".into());
    records[4].truncate(3);
    let (report, lines) = read(&write_csv(&records, false));
    assert_eq!(lines.len(), 1);
    assert_eq!(report.error_count, 2);
    let e = &report.errors[0];
    assert_eq!((e.line, e.column.as_str()), (3, ""));
    assert_eq!(e.message, "the row has 56 fields, the header has 55");
    assert_eq!(
        e.value,
        records[2].join(",").chars().take(200).collect::<String>()
    );
    assert_eq!(report.errors[1].value, records[4].join(","));
    assert_eq!(
        report.errors[1].message,
        "the row has 3 fields, the header has 55"
    );
}

#[test]
fn non_utf8_bytes_are_reported_by_line_and_column() {
    let mut bytes = write_csv(&example_records(), false);
    let at = bytes
        .windows(13)
        .enumerate()
        .filter(|(_, w)| w == b"Customer bdd6")
        .map(|(i, _)| i)
        .nth(1)
        .expect("second row");
    bytes[at + 4] = 0xff;
    let (report, lines) = read(&bytes);
    assert_eq!(lines.len(), 1);
    assert_eq!(
        report.errors,
        vec![RowError {
            line: 3,
            column: "CustomerName".into(),
            value: "Cust\u{fffd}mer bdd6".into(),
            message: "not valid UTF-8 (byte 5 of the value)".into(),
        }]
    );

    // In an unknown column, named as the header has it.
    let mut records = example_records();
    for r in records.iter_mut() {
        r.push("ok".into());
    }
    records[0][55] = "My Notes".into();
    let mut bytes = write_csv(&records, false);
    let last_ok = bytes.len() - 2; // "...,ok\n" of the last row
    bytes[last_ok] = 0xc3;
    let (report, lines) = read(&bytes);
    assert_eq!(lines.len(), 7);
    let e = &report.errors[0];
    assert_eq!((e.line, e.column.as_str()), (9, "My Notes"));

    // In the header.
    let mut bytes = EXAMPLE.as_bytes().to_vec();
    bytes[5] = 0xfe;
    let (report, _) = read(&bytes);
    assert_eq!(report.errors.len(), 2);
    let e = &report.errors[0];
    assert_eq!((e.line, e.column.as_str()), (1, ""));
    assert_eq!(e.value, "Pa\u{fffd}tnerId");
    assert_eq!(e.message, "the header is not valid UTF-8");
    assert_eq!(
        report.errors[1].message,
        "missing required header PartnerId"
    );
}

#[test]
fn a_truncated_gzip_is_one_error_where_it_stops() {
    let body = EXAMPLE
        .split_once("\r\n")
        .map(|(_, rows)| rows)
        .unwrap_or_default();
    let mut text = EXAMPLE.to_string();
    for _ in 0..400 {
        text.push_str(body);
    }
    let gz = gzip(text.as_bytes());
    let cut = &gz[..gz.len() / 2];
    let (report, lines) = read(cut);
    assert_eq!(report.error_count, 1);
    let e = &report.errors[0];
    assert!(
        e.message.contains("corrupt or truncated gzip data"),
        "{}",
        e.message
    );
    assert_eq!(e.column, "");
    assert!(report.rows > 0 && report.rows < 8 * 401);
    assert_eq!(
        lines.len() as u64,
        report.rows,
        "rows before the break were valid"
    );
    assert_eq!(
        e.line,
        report.rows + 2,
        "the line being read when the data ended"
    );
    assert_eq!((report.sha256, report.bytes), (sha(cut), cut.len() as u64));

    // Cut in the trailer, after all the text.
    let (report, _) = read(&gz[..gz.len() - 3]);
    assert_eq!(report.error_count, 1);
    assert_eq!(report.rows, 8 * 401);
    // Corrupt in the middle: what decodes before the damage is noticed may be garbage rows,
    // but the file is rejected.
    let mut bad = gz.clone();
    let mid = bad.len() / 2;
    for b in &mut bad[mid..mid + 64] {
        *b ^= 0x5a;
    }
    let (report, _) = read(&bad);
    assert!(report.error_count >= 1);
    assert_eq!(report.bytes, bad.len() as u64);
    // Not gzip after the first member.
    let mut junk = gzip(EXAMPLE.as_bytes());
    junk.extend_from_slice(b"junk");
    let (report, _) = read(&junk);
    assert_eq!(report.error_count, 1);
}

#[test]
fn a_read_error_is_one_error_and_stops() {
    struct Failing<'a>(&'a [u8]);
    impl Read for Failing<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Err(io::Error::other("disk on fire"));
            }
            let n = self.0.len().min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    let (report, lines) = read_from(Failing(EXAMPLE.as_bytes()), PARTNER);
    assert_eq!(lines.len(), 8);
    assert_eq!(report.error_count, 1);
    assert_eq!(report.errors[0].line, 10);
    assert!(report.errors[0].message.contains("disk on fire"));
}

#[test]
fn an_unclosed_quote_cannot_eat_unbounded_memory() {
    let mut text = EXAMPLE.to_string();
    text.push_str("\"never closed");
    let filler = "x".repeat(1000) + "\r\n";
    for _ in 0..1100 {
        text.push_str(&filler);
    }
    let (report, lines) = read(text.as_bytes());
    assert_eq!(lines.len(), 8);
    assert_eq!(report.error_count, 1);
    assert_eq!(report.errors[0].line, 10);
    assert!(
        report.errors[0].message.contains("longer than"),
        "{}",
        report.errors[0].message
    );
    assert_eq!(report.bytes, text.len() as u64);
}

#[test]
fn empty_and_header_only_files() {
    let (report, _) = read(b"");
    assert_eq!(report.error_count, 1);
    assert_eq!(report.errors[0].line, 1);
    assert_eq!(report.sha256, sha(b""));
    let (report, _) = read("\u{feff}".as_bytes());
    assert_eq!(report.error_count, 1);
    let (report, _) = read(&gzip(b""));
    assert_eq!(report.error_count, 1);

    let header = EXAMPLE
        .split_once("\r\n")
        .map(|(h, _)| h)
        .unwrap_or_default();
    let (report, lines) = read(header.as_bytes());
    assert_eq!((report.error_count, report.rows, lines.len()), (0, 0, 0));
}

#[test]
fn values_in_errors_are_cut_to_200_characters() {
    let long = "é".repeat(300);
    let (report, _) = read(&example_with(0, "Quantity", &long));
    assert_eq!(report.errors[0].value, "é".repeat(200));
}

#[test]
fn a_failing_consumer_stops_the_read() {
    let mut seen = 0;
    let result = read_usage_file(EXAMPLE.as_bytes(), PARTNER, |_| {
        seen += 1;
        if seen == 3 {
            Err("store is full".to_string())
        } else {
            Ok(())
        }
    });
    assert_eq!(result, Err("store is full".to_string()));
    assert_eq!(seen, 3);
}

// ---- properties ---------------------------------------------------------------------

fn guid() -> impl Strategy<Value = String> {
    "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
}

/// Text with no surrounding spaces, including characters CSV must quote.
fn text(min: usize) -> impl Strategy<Value = String> {
    let inner = "[a-zA-Z0-9 ,\"\n;:={}é-]{0,10}";
    let word = proptest::string::string_regex(&format!("[a-zA-Z0-9é]({inner}[a-zA-Z0-9é])?"))
        .expect("valid regex");
    if min == 0 {
        prop_oneof![Just(String::new()), word].boxed()
    } else {
        word.boxed()
    }
}

fn decimal(max_scale: u32) -> impl Strategy<Value = Decimal> {
    (any::<i32>(), 0..=max_scale).prop_map(|(m, s)| Decimal::new(i64::from(m), s))
}

/// A valid row as the file writes it (55 fields) and the line it must read as (line 0).
fn valid_row() -> impl Strategy<Value = (Vec<String>, UsageLine)> {
    // MpnId digits, Tier2MpnId digits or empty (the reader checks their forms).
    let ids = (
        guid(),
        guid(),
        guid(),
        "[0-9]{1,10}",
        prop_oneof![Just(String::new()), "[0-9]{1,10}"],
        text(0),
    );
    let meter = (
        text(1),
        text(1),
        text(1),
        text(0),
        text(1),
        text(1),
        text(1),
    );
    let rest = (
        0i64..40000,
        0usize..5,
        prop_oneof![Just(String::new()), "[a-zA-Z0-9/._-]{1,30}"],
        decimal(10),
        decimal(10),
        (0u32..=10000, 0u32..=2, any::<bool>()),
        "[a-zA-Z]{3}",
        (text(0), text(0)),
    );
    (ids, meter, rest).prop_map(|(ids, meter, rest)| {
        let (customer, subscription, _, mpn, tier2, customer_name) = ids;
        let (meter_id, meter_name, category, sub_category, product, publisher, charge) = meter;
        let (days, form, uri_tail, price, quantity, pec, currency, (benefit, tags)) = rest;
        // A larger line amount is rejected (MAX_LINE_AMOUNT).
        let price = if (price * quantity).abs() > MAX_LINE_AMOUNT {
            price / Decimal::from(1_000_000)
        } else {
            price
        };
        let date = day(2000, 1, 1) + Duration::days(days);
        let date_text = match form {
            0 => date.format("%Y-%m-%d").to_string(),
            1 => date.format("%Y-%m-%dT00:00:00Z").to_string(),
            2 => date.format("%Y-%m-%dT23:59:59.5+00:00").to_string(),
            3 => date.format("%-m/%-d/%Y").to_string(),
            _ => date.format("%-m/%-d/%Y 11:59:59 PM").to_string(),
        };
        let uri = if uri_tail.is_empty() {
            String::new()
        } else {
            format!("/subscriptions/{subscription}/resourceGroups/{uri_tail}")
        };
        let pec_value = Decimal::new(i64::from(pec.0), pec.1).min(Decimal::ONE_HUNDRED);
        let pec_text = format!("{pec_value}{}", if pec.2 { "%" } else { "" });
        let mut fields = vec![String::from("-"); N_COLUMNS];
        let mut set = |k: usize, v: &str| fields[k] = v.to_string();
        set(PARTNER_ID, &PARTNER.to_uppercase());
        set(CUSTOMER_ID, &customer);
        set(CUSTOMER_NAME, &customer_name);
        set(MPN_ID, &mpn);
        set(TIER2_MPN_ID, &tier2);
        set(SUBSCRIPTION_ID, &subscription);
        set(USAGE_DATE, &date_text);
        set(RESOURCE_URI, &uri);
        set(RESOURCE_GROUP, &uri_tail);
        set(METER_ID, &meter_id);
        set(METER_NAME, &meter_name);
        set(METER_CATEGORY, &category);
        set(METER_SUB_CATEGORY, &sub_category);
        set(PRODUCT_NAME, &product);
        set(PUBLISHER_NAME, &publisher);
        set(CHARGE_TYPE, &charge);
        set(UNIT_PRICE, &price.to_string());
        set(QUANTITY, &quantity.to_string());
        set(PRICING_CURRENCY, &currency);
        set(PEC_PERCENTAGE, &pec_text);
        set(BENEFIT_TYPE, &benefit);
        set(TAGS, &tags);
        let line = UsageLine {
            line: 0,
            partner_id: PARTNER.into(),
            customer_id: customer.to_lowercase(),
            subscription_id: subscription.to_lowercase(),
            customer_name,
            partner_name: "-".into(),
            customer_domain: "-".into(),
            subscription_name: "-".into(),
            reseller_name: String::new(),
            mpn_id: mpn,
            tier2_mpn_id: tier2,
            usage_date: date,
            resource_key: usage_resource_key(&uri, &subscription),
            resource_group: uri_tail,
            meter_id,
            meter_name,
            meter_category: category,
            meter_sub_category: sub_category,
            product_name: product,
            publisher_name: publisher,
            charge_type: charge,
            unit_price: price,
            quantity,
            pricing_currency: currency.to_uppercase(),
            pec_percentage: pec_value,
            benefit_type: benefit,
            tags,
        };
        (fields, line)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn valid_rows_round_trip(
        rows in prop::collection::vec(valid_row(), 1..8),
        crlf in any::<bool>(),
        bom in any::<bool>(),
        gz in any::<bool>(),
        chunk in 1usize..64,
    ) {
        let mut records = vec![COLUMNS.iter().map(|c| c.to_string()).collect::<Vec<_>>()];
        let mut expected = Vec::new();
        let mut line = 2;
        for (fields, mut usage) in rows {
            usage.line = line;
            line += 1 + fields.iter().map(|f| f.matches('\n').count() as u64).sum::<u64>();
            records.push(fields);
            expected.push(usage);
        }
        let mut bytes = if bom { "\u{feff}".as_bytes().to_vec() } else { Vec::new() };
        bytes.extend(write_csv(&records, crlf));
        if gz {
            bytes = gzip(&bytes);
        }
        let (report, lines) = read_from(Trickle(&bytes, chunk), PARTNER);
        prop_assert_eq!(report.errors, vec![]);
        prop_assert_eq!(report.rows, expected.len() as u64);
        prop_assert_eq!(lines, expected);
        prop_assert_eq!(report.sha256, sha(&bytes));
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..3000),
        prefix in 0usize..3,
    ) {
        let header = EXAMPLE.split_once("\r\n").map(|(h, _)| h).unwrap_or_default();
        let mut input = match prefix {
            0 => Vec::new(),
            1 => format!("{header}\n").into_bytes(),
            _ => vec![0x1f, 0x8b],
        };
        input.extend(&bytes);
        let (report, lines) = read(&input);
        prop_assert_eq!(report.bytes, input.len() as u64);
        prop_assert_eq!(report.sha256, sha(&input));
        prop_assert!(report.errors.len() as u64 <= report.error_count);
        prop_assert!(report.errors.len() <= MAX_REPORTED_ERRORS);
        if report.error_count == 0 {
            prop_assert_eq!(lines.len() as u64, report.rows);
        }
    }

    #[test]
    fn damaged_files_are_accepted_whole_or_reported(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let mut input = EXAMPLE.as_bytes().to_vec();
        for (at, byte) in edits {
            let i = at.index(input.len());
            input[i] = byte;
        }
        let (report, lines) = read(&input);
        prop_assert_eq!(report.bytes, input.len() as u64);
        if report.error_count == 0 {
            prop_assert_eq!(lines.len() as u64, report.rows);
        } else {
            prop_assert!(!report.errors.is_empty());
            prop_assert!(lines.iter().all(|l| l.line < report.errors[0].line));
        }
    }
}

/// A reader that hands over at most `chunk` bytes a call.
struct Chunked<'a> {
    data: &'a [u8],
    chunk: usize,
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.chunk.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// Found by the `usage_file` fuzz target: two byte-order marks, then one letter. The first mark
/// is dropped; the second is part of the header's first name. Read whole or a few bytes at a
/// time, the file gets the same report: a header line that names none of the required columns
/// (it is not empty).
#[test]
fn a_second_bom_gives_the_same_report_whatever_the_read_size() {
    let data: &[u8] = &[0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf, 0x69];
    let options = ReadOptions::default();
    let whole = read_usage_file_with(data, &options, |_| Ok::<(), Infallible>(())).unwrap();
    for chunk in 1..=7 {
        let chunked = read_usage_file_with(Chunked { data, chunk }, &options, |_| {
            Ok::<(), Infallible>(())
        })
        .unwrap();
        assert_eq!(chunked, whole, "reads of {chunk} bytes");
    }
    assert_eq!(whole.rows, 0);
    assert_eq!(whole.errors[0].message, "missing required header PartnerId");
    assert_eq!(whole.error_count, REQUIRED.len() as u64);
}

#[test]
fn usage_dates_start_on_2000_01_01() {
    assert_eq!(parse_usage_date("2000-01-01"), Ok(day(2000, 1, 1)));
    assert_eq!(
        parse_usage_date("1/1/2000 12:00:00 AM"),
        Ok(day(2000, 1, 1))
    );
    assert_eq!(
        parse_usage_date("12/31/1999"),
        Err(UsageDateError::TooEarly(day(1999, 12, 31)))
    );
    assert_eq!(
        UsageDateError::TooEarly(day(1999, 12, 31)).to_string(),
        "UsageDate 1999-12-31 is before 2000-01-01: no Azure usage is that old"
    );
    // Converted to UTC first: 2000-01-01T00:30+01:00 is 1999-12-31 23:30Z.
    assert_eq!(
        parse_usage_date("2000-01-01T00:30:00+01:00"),
        Err(UsageDateError::TooEarly(day(1999, 12, 31)))
    );
}
