//! `pec`: the PEC ledger on the command line, on the embedded store (SPEC 6.1).
//!
//! JSON goes to stdout, human messages to stderr. Exit codes: 0 success (including a duplicate),
//! 1 an internal or storage failure, 2 usage error, 3 input rejected, 4 verification failed.

use chrono::{DateTime, NaiveDate, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use pec_ledger::config::Config;
use pec_ledger::ingest::{ingest_usage_file, post_snapshot, SnapshotStatus, UploadStatus};
use pec_ledger::settle::{settle, SettleOptions};
use pec_ledger::statement::{render_csv, statement_from_store, Month};
use pec_ledger::store::WebhookSecret;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod backend;
mod demo;
mod serve;

use backend::{Backend, StoreKind};

#[derive(Parser)]
#[command(
    name = "pec",
    version,
    about = "Partner Earned Credit ledger: usage files and access snapshots in, settled ledger and monthly statements out."
)]
struct Cli {
    /// Where the embedded store lives.
    #[arg(
        long,
        global = true,
        env = "PEC_DATA_DIR",
        default_value = "./pec-data"
    )]
    data_dir: PathBuf,
    /// Which store: the embedded one in the data directory, or the AWS deployment's (tables,
    /// bucket and parameters from PEC_LEDGER_TABLE, PEC_STATE_TABLE, PEC_BUCKET,
    /// PEC_SECRETS_PREFIX; `serve` and `demo` are local only).
    #[arg(long, global = true, env = "PEC_STORE", value_enum, default_value_t = StoreKind::Sqlite)]
    store: StoreKind,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Daily rated usage files.
    Usage {
        #[command(subcommand)]
        command: UsageCommand,
    },
    /// Access snapshots.
    Access {
        #[command(subcommand)]
        command: AccessCommand,
    },
    /// Settle resource-days into the ledger.
    Settle {
        /// Last usage date to settle (inclusive), YYYY-MM-DD.
        #[arg(long)]
        through: NaiveDate,
        /// First usage date (inclusive); default: the look-back window (45 days) before --through.
        #[arg(long)]
        from: Option<NaiveDate>,
        /// The run's clock (RFC 3339); default: now.
        #[arg(long)]
        now: Option<DateTime<Utc>>,
    },
    /// A partner's monthly statement.
    Statement {
        #[arg(long)]
        partner: String,
        /// YYYY-MM
        #[arg(long)]
        month: String,
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
        /// Only entries posted by then (RFC 3339); default: now.
        #[arg(long)]
        as_of: Option<DateTime<Utc>>,
        /// Write here instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Why a resource earned or lost PEC on a day.
    Explain {
        #[arg(long)]
        partner: String,
        #[arg(long)]
        resource: String,
        #[arg(long)]
        date: NaiveDate,
    },
    /// Re-compute every hash and every resource-day's sum.
    Verify,
    /// Partners' webhook secrets.
    Partner {
        #[command(subcommand)]
        command: PartnerCommand,
    },
    /// Serve the access webhook and statement reads over HTTP (SPEC 6.2), on this data directory.
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080 (port 0: any free port; the address is
        /// printed on stderr).
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
        listen: String,
    },
    /// Generate example data (deterministic by seed).
    Generate {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        #[arg(long, default_value_t = 2)]
        partners: u32,
        #[arg(long, default_value_t = 4)]
        customers: u32,
        #[arg(long, default_value_t = 2)]
        subscriptions: u32,
        #[arg(long, default_value_t = 6)]
        resources: u32,
        #[arg(long, default_value = "2026-09-01")]
        start: NaiveDate,
        #[arg(long, default_value_t = 30)]
        days: u32,
        #[arg(long, default_value_t = 6)]
        snapshot_hours: u32,
        #[arg(long)]
        gzip: bool,
    },
    /// Generate a realistic example, run the whole pipeline, print the statement.
    Demo {
        /// Working directory of the demo (its data and generated inputs); recreated on each run.
        #[arg(long, default_value = "./pec-demo")]
        dir: PathBuf,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
}

#[derive(Subcommand)]
enum UsageCommand {
    /// Ingest one usage file (CSV, optionally gzip); prints the receipt.
    Upload {
        file: PathBuf,
        #[arg(long)]
        partner: String,
    },
}

#[derive(Subcommand)]
enum AccessCommand {
    /// Store one access snapshot (JSON file, or - for stdin); prints the receipt.
    Post {
        file: PathBuf,
        #[arg(long)]
        partner: String,
        /// Clock for the "takenAt not in the future" check; default: now.
        #[arg(long)]
        now: Option<DateTime<Utc>>,
    },
}

#[derive(Subcommand)]
enum PartnerCommand {
    /// Add a webhook secret (at most two active), or revoke one with --revoke.
    SetSecret {
        partner: String,
        secret: String,
        #[arg(long)]
        revoke: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Json,
    Csv,
    Html,
}

/// Failures with their exit code.
pub struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    fn usage(message: impl Into<String>) -> Failure {
        Failure {
            code: 2,
            message: message.into(),
        }
    }
    fn internal(message: impl std::fmt::Display) -> Failure {
        Failure {
            code: 1,
            message: message.to_string(),
        }
    }
}

impl From<pec_ledger::store::StoreError> for Failure {
    fn from(e: pec_ledger::store::StoreError) -> Self {
        Failure::internal(e)
    }
}

fn load_config(data_dir: &Path) -> Result<Config, Failure> {
    let path = data_dir.join("config.json");
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            Config::from_json(&text).map_err(|e| Failure::usage(format!("{}: {e}", path.display())))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
        Err(e) => Err(Failure::internal(format!("{}: {e}", path.display()))),
    }
}

fn print_json<T: serde::Serialize>(value: &T) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).map_err(Failure::internal)?;
    write_stdout(&(text + "\n"))
}

/// Writes to stdout; a reader that went away (`| head`) is not an error worth a panic.
pub fn write_stdout(text: &str) -> Result<(), Failure> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::internal(format!("cannot write to stdout: {e}"))),
    }
}

fn validate_partner(p: &str) -> Result<String, Failure> {
    let p = p.trim().to_ascii_lowercase();
    if p.is_empty() || p.contains(['/', '\\']) {
        return Err(Failure::usage(format!(
            "--partner {p:?} is not a partner tenant id"
        )));
    }
    Ok(p)
}

fn run(cli: Cli) -> Result<u8, Failure> {
    let data_dir = cli.data_dir;
    let kind = cli.store;
    let open = || Backend::open(kind, &data_dir);
    match cli.command {
        Command::Usage {
            command: UsageCommand::Upload { file, partner },
        } => {
            let partner = validate_partner(&partner)?;
            let input = std::fs::File::open(&file)
                .map_err(|e| Failure::usage(format!("{}: {e}", file.display())))?;
            let backend = open()?;
            let config = backend.config(&data_dir)?;
            let store = backend.store();
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            let receipt = ingest_usage_file(
                store,
                &config,
                &partner,
                &name,
                std::io::BufReader::new(input),
                Utc::now(),
            )?;
            print_json(&receipt)?;
            match receipt.status {
                UploadStatus::Rejected => {
                    eprintln!(
                        "rejected: {} error(s) in {}; nothing was kept",
                        receipt.error_count,
                        file.display()
                    );
                    Ok(3)
                }
                UploadStatus::Duplicate => {
                    eprintln!("duplicate of upload {}: nothing changed", receipt.upload_id);
                    Ok(0)
                }
                UploadStatus::Accepted => {
                    eprintln!(
                        "accepted {} row(s) as upload {}",
                        receipt.rows, receipt.upload_id
                    );
                    Ok(0)
                }
            }
        }
        Command::Access {
            command: AccessCommand::Post { file, partner, now },
        } => {
            let partner = validate_partner(&partner)?;
            let mut body = Vec::new();
            if file.as_os_str() == "-" {
                std::io::stdin()
                    .read_to_end(&mut body)
                    .map_err(Failure::internal)?;
            } else {
                body = std::fs::read(&file)
                    .map_err(|e| Failure::usage(format!("{}: {e}", file.display())))?;
            }
            let backend = open()?;
            let receipt = post_snapshot(
                backend.store(),
                &partner,
                &body,
                now.unwrap_or_else(Utc::now),
            )?;
            print_json(&receipt)?;
            Ok(match receipt.status {
                SnapshotStatus::Accepted | SnapshotStatus::Duplicate => 0,
                SnapshotStatus::Rejected | SnapshotStatus::Conflict => {
                    eprintln!(
                        "snapshot {}: {} problem(s), nothing stored",
                        file.display(),
                        receipt.errors.len()
                    );
                    3
                }
            })
        }
        Command::Settle { through, from, now } => {
            if let Some(f) = from {
                if f > through {
                    return Err(Failure::usage("--from is after --through"));
                }
            }
            let backend = open()?;
            let config = backend.config(&data_dir)?;
            backend.prepare_for_settlement()?;
            let opts = SettleOptions::new(&config, through, from, now.unwrap_or_else(Utc::now));
            let summary = settle(backend.store(), &config, &opts)?;
            eprintln!(
                "settled {} resource-day(s) of {} customer(s) from {} through {}: {} entr(ies) appended",
                summary.resource_days, summary.customers, opts.from, opts.through, summary.entries_appended
            );
            print_json(&summary)?;
            Ok(0)
        }
        Command::Statement {
            partner,
            month,
            format,
            as_of,
            out,
        } => {
            let partner = validate_partner(&partner)?;
            let month = Month::parse(&month).map_err(Failure::usage)?;
            if matches!(format, Format::Html) {
                return Err(Failure::usage(
                    "--format html is not available yet; use json or csv",
                ));
            }
            let backend = open()?;
            let statement = statement_from_store(
                backend.store(),
                &partner,
                month,
                as_of.unwrap_or_else(Utc::now),
            )?;
            let text = match format {
                Format::Csv => render_csv(&statement),
                _ => serde_json::to_string_pretty(&statement).map_err(Failure::internal)? + "\n",
            };
            match out {
                Some(path) => {
                    std::fs::write(&path, text)
                        .map_err(|e| Failure::internal(format!("{}: {e}", path.display())))?;
                    eprintln!("statement written to {}", path.display());
                }
                None => write_stdout(&text)?,
            }
            Ok(0)
        }
        Command::Explain {
            partner,
            resource,
            date,
        } => {
            let partner = validate_partner(&partner)?;
            let backend = open()?;
            let config = backend.config(&data_dir)?;
            let explanation =
                pec_ledger::explain::explain(backend.store(), &config, &partner, &resource, date)?;
            if explanation.resource_days.is_empty() {
                eprintln!("no usage and no ledger entry for {resource} on {date}");
            }
            for r in &explanation.resource_days {
                eprintln!("{} {}: {}", r.customer_id, r.currency, r.answer);
            }
            print_json(&explanation)?;
            Ok(0)
        }
        Command::Verify => {
            let backend = open()?;
            let report = pec_ledger::verify::verify(backend.store())?;
            print_json(&report)?;
            if report.ok {
                eprintln!(
                    "ledger verified: {} entries, {} resource-days",
                    report.entries, report.resource_days
                );
                Ok(0)
            } else {
                for b in &report.breaks {
                    eprintln!("BREAK {} entry {:?}: {}", b.resource_day, b.seq, b.problem);
                }
                Ok(4)
            }
        }
        Command::Partner {
            command:
                PartnerCommand::SetSecret {
                    partner,
                    secret,
                    revoke,
                },
        } => {
            let partner = validate_partner(&partner)?;
            let backend = open()?;
            let store = backend.store();
            if revoke {
                if !store.revoke_secret(&partner, &secret)? {
                    return Err(Failure::usage("no such active secret for this partner"));
                }
                eprintln!("secret revoked");
            } else {
                pec_ledger::webhook_secret::validate(&secret).map_err(Failure::usage)?;
                let active = store.active_secrets(&partner)?;
                if active.iter().any(|s| s.secret == secret) {
                    eprintln!("secret already active");
                } else if active.len() >= 2 {
                    return Err(Failure::usage(
                        "two secrets are already active: revoke one with --revoke before adding another",
                    ));
                } else {
                    store.add_secret(
                        &partner,
                        &WebhookSecret {
                            secret,
                            added_at: Utc::now(),
                        },
                    )?;
                    eprintln!("secret added ({} active)", active.len() + 1);
                }
            }
            let active = store.active_secrets(&partner)?.len();
            print_json(&serde_json::json!({"partnerId": partner, "activeSecrets": active}))?;
            Ok(0)
        }
        Command::Generate {
            out,
            seed,
            partners,
            customers,
            subscriptions,
            resources,
            start,
            days,
            snapshot_hours,
            gzip,
        } => {
            let options = pec_ledger::generate::GenerateOptions {
                seed,
                partners,
                customers_per_partner: customers,
                subscriptions_per_customer: subscriptions,
                resources_per_subscription: resources,
                start,
                days,
                snapshot_interval_hours: snapshot_hours,
                gzip,
            };
            let set = pec_ledger::generate::generate(&options, &out).map_err(Failure::internal)?;
            eprintln!(
                "generated {} usage row(s) and {} snapshot(s) in {}",
                set.usage_rows,
                set.snapshots,
                out.display()
            );
            print_json(&set)?;
            Ok(0)
        }
        Command::Serve { .. } | Command::Demo { .. } if kind == StoreKind::Aws => Err(
            Failure::usage("serve and demo work on the embedded store only (--store sqlite)"),
        ),
        Command::Serve { listen } => serve::run(&data_dir, &listen),
        Command::Demo { dir, seed } => demo::run(&dir, seed),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            eprintln!("pec: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}
