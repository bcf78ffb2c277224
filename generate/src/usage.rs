//! Writing usage files: one CSV (or gzip) file per partner and usage day, rows streamed in
//! the SPEC's 55 columns.

use crate::access::spans_cover;
use crate::amounts::{div_round, mul_micro, push_micro};
use crate::model::{Benefit, Customer, Meter, Partner, Resource, Subscription};
use crate::options::GenerateOptions;
use crate::rng::{hash_str, mix64, Rng, STREAM_USAGE};
use crate::time::{day_start, days_in_month, us_date};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use flate2::write::GzEncoder;
use flate2::Compression;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

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

pub(crate) fn write_usage(
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
        csv.write_record(pec_ledger::usage::usage_header())?;

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
