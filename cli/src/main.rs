//! `pec`: the PEC ledger on the command line, on the embedded store (SPEC 6.1).
//!
//! JSON goes to stdout, human messages to stderr. Exit codes: 0 success (including a duplicate),
//! 1 an internal or storage failure, 2 usage error, 3 input rejected, 4 verification failed.

use chrono::{DateTime, NaiveDate, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use pec_ledger::config::Config;
use pec_ledger::import::{
    detect_import_format, snapshot_from_role_assignments, ImportFormat, ImportOptions,
    PrincipalRule,
};
use pec_ledger::ingest::{
    ingest_usage_file_with, post_snapshot, SnapshotReceipt, SnapshotStatus, UploadStatus,
};
use pec_ledger::settle::{settle_with_progress, SettleOptions};
use pec_ledger::snapshot::{AccessType, AssignmentType};
use pec_ledger::statement::{render_csv, statement_from_store, Month, Statement};
use pec_ledger::statement_html::render_html;
use pec_ledger::statement_xlsx::render_xlsx;
use pec_ledger::store::WebhookSecret;
use pec_ledger::usage::{detect_usage_format, ReadOptions};
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// A message for the person running `pec`: a line on stderr; with `--log-format json`, an
/// `info` log event (target `pec`), so that stderr stays one JSON object per line.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::say(&format!($($arg)*))
    };
}

mod backend;
mod demo;
mod progress;
mod serve;

use backend::{backend, Backend, StoreKind};

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
    /// Log lines on stderr: text (for people) or json (one JSON object per line, with the
    /// upload, snapshot and run ids as fields). The level comes from PEC_LOG or RUST_LOG
    /// (e.g. `info`, `warn,pec_ledger=debug`); default: warn for text, info for json.
    #[arg(long, global = true, env = "PEC_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
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
        /// json, csv (opens in Excel as is), html (a printable A4 page with charts) or xlsx (an
        /// Excel workbook; needs --out, or stdout redirected to a file or pipe).
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
        /// json (default: the explanation with its evidence; the answer also goes to stderr) or
        /// text (the answer, in plain sentences, on stdout).
        #[arg(long, value_enum, default_value_t = ExplainFormat::Json)]
        format: ExplainFormat,
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
    /// Ingest one usage file (CSV, optionally gzip): a Partner Center daily rated usage file, an
    /// Azure Cost Management cost-details export or a FOCUS export (told from the header);
    /// prints the receipt.
    Upload {
        file: PathBuf,
        #[arg(long)]
        partner: String,
        /// The partner's own MPN ID (the DRU's MpnId), which Cost Management and FOCUS exports
        /// do not carry: required for them, ignored for daily rated usage files.
        #[arg(long, value_name = "MPN")]
        mpn_id: Option<String>,
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
    /// Make a snapshot from `az role assignment list --all -o json` output or an Azure Resource
    /// Graph `authorizationresources` export (FILE, or - for stdin) and store it like `access
    /// post`; prints the same receipt.
    Import {
        file: PathBuf,
        #[arg(long)]
        partner: String,
        /// The customer tenant the assignments are in.
        #[arg(long)]
        customer: String,
        /// When the list was taken (RFC 3339).
        #[arg(long, value_name = "RFC3339")]
        taken_at: DateTime<Utc>,
        /// az (role assignment list) or arg (Resource Graph); default: told from the file.
        #[arg(long, value_enum)]
        format: Option<ImportFileFormat>,
        /// How the partner's principals hold their access: AOBO, LIGHTHOUSE, DIRECT or GDAP.
        #[arg(long, default_value = "AOBO", value_parser = parse_access_type)]
        access_type: AccessType,
        /// permanent, eligible or activated.
        #[arg(long, default_value = "permanent", value_parser = parse_assignment_type)]
        assignment_type: AssignmentType,
        /// The Partner Admin Link MPN ID on the assignments (for LIGHTHOUSE, DIRECT, GDAP).
        #[arg(long, value_name = "MPN")]
        pal: Option<String>,
        /// Keep only this principal's assignments (repeat for each of the partner's principals);
        /// `ID=LIGHTHOUSE` (or AOBO, DIRECT, GDAP) gives it its own access type. Without it,
        /// every assignment in the file counts as the partner's.
        #[arg(long = "principal-id", value_name = "ID[=ACCESS_TYPE]", value_parser = parse_principal)]
        principals: Vec<PrincipalRule>,
        /// The snapshot's `source`; default: the format and the file name.
        #[arg(long, value_name = "TEXT")]
        source: Option<String>,
        /// Clock for the "takenAt not in the future" check; default: now.
        #[arg(long)]
        now: Option<DateTime<Utc>>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ImportFileFormat {
    /// az role assignment list --all -o json
    Az,
    /// Azure Resource Graph authorizationresources
    Arg,
}

fn parse_access_type(text: &str) -> Result<AccessType, String> {
    let t = text.trim();
    [
        ("AOBO", AccessType::Aobo),
        ("LIGHTHOUSE", AccessType::Lighthouse),
        ("DIRECT", AccessType::Direct),
        ("GDAP", AccessType::Gdap),
    ]
    .into_iter()
    .find(|(name, _)| name.eq_ignore_ascii_case(t))
    .map(|(_, v)| v)
    .ok_or_else(|| format!("{t:?} is not one of AOBO, LIGHTHOUSE, DIRECT, GDAP"))
}

fn parse_assignment_type(text: &str) -> Result<AssignmentType, String> {
    let t = text.trim();
    [
        ("permanent", AssignmentType::Permanent),
        ("eligible", AssignmentType::Eligible),
        ("activated", AssignmentType::Activated),
    ]
    .into_iter()
    .find(|(name, _)| name.eq_ignore_ascii_case(t))
    .map(|(_, v)| v)
    .ok_or_else(|| format!("{t:?} is not one of permanent, eligible, activated"))
}

fn parse_principal(text: &str) -> Result<PrincipalRule, String> {
    let (id, access_type) = match text.split_once('=') {
        Some((id, t)) => (id, Some(parse_access_type(t)?)),
        None => (text, None),
    };
    let id = id.trim();
    if id.is_empty() {
        return Err("the principal id is empty".into());
    }
    Ok(PrincipalRule {
        principal_id: id.to_string(),
        access_type,
    })
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

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

static JSON_LOGS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether log lines (and messages) are JSON.
pub fn json_logs() -> bool {
    JSON_LOGS.load(std::sync::atomic::Ordering::Relaxed)
}

/// See [`say!`].
pub fn say(message: &str) {
    if json_logs() {
        tracing::info!(target: "pec", "{message}");
    } else {
        eprintln!("{message}");
    }
}

/// Installs the log subscriber (stderr) and decides whether progress bars are drawn.
fn init_logs(format: LogFormat) -> Result<(), Failure> {
    use pec_aws::telemetry;
    let (fmt, default) = match format {
        LogFormat::Text => (telemetry::LogFormat::Text, "warn"),
        LogFormat::Json => (telemetry::LogFormat::Json, telemetry::DEFAULT_FILTER),
    };
    let spec = telemetry::env_spec(&["PEC_LOG", "RUST_LOG"]);
    let filter = telemetry::filter(spec.as_deref(), default)
        .map_err(|e| Failure::usage(format!("PEC_LOG/RUST_LOG: {e}")))?;
    let terminal = telemetry::stderr_is_terminal();
    telemetry::init(fmt, filter, std::io::stderr, terminal);
    progress::configure(terminal, format == LogFormat::Json);
    JSON_LOGS.store(
        format == LogFormat::Json,
        std::sync::atomic::Ordering::Relaxed,
    );
    Ok(())
}

#[derive(Clone, Copy, ValueEnum)]
enum ExplainFormat {
    Json,
    Text,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Json,
    Csv,
    Html,
    Xlsx,
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
    write_stdout_bytes(text.as_bytes())
}

/// [`write_stdout`] for bytes (an XLSX workbook).
pub fn write_stdout_bytes(bytes: &[u8]) -> Result<(), Failure> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::internal(format!("cannot write to stdout: {e}"))),
    }
}

/// The statement in one of its formats, as the bytes to write.
fn render_statement(statement: &Statement, format: Format) -> Result<Vec<u8>, Failure> {
    Ok(match format {
        Format::Json => (serde_json::to_string_pretty(statement).map_err(Failure::internal)?
            + "\n")
            .into_bytes(),
        Format::Csv => render_csv(statement).into_bytes(),
        Format::Html => render_html(statement).into_bytes(),
        Format::Xlsx => render_xlsx(statement).map_err(Failure::internal)?,
    })
}

fn validate_partner(p: &str) -> Result<String, Failure> {
    validate_tenant("--partner", p)
}

fn validate_tenant(option: &str, p: &str) -> Result<String, Failure> {
    let p = p.trim().to_ascii_lowercase();
    if p.is_empty() || p.contains(['/', '\\']) {
        let what = if option == "--partner" {
            "a partner"
        } else {
            "a"
        };
        return Err(Failure::usage(format!(
            "{option} {p:?} is not {what} tenant id"
        )));
    }
    Ok(p)
}

/// A file's bytes, or stdin's for `-`.
fn read_input(file: &Path) -> Result<Vec<u8>, Failure> {
    if file.as_os_str() == "-" {
        let mut body = Vec::new();
        std::io::stdin()
            .read_to_end(&mut body)
            .map_err(Failure::internal)?;
        Ok(body)
    } else {
        std::fs::read(file).map_err(|e| Failure::usage(format!("{}: {e}", file.display())))
    }
}

/// Prints a snapshot receipt; the exit code.
fn snapshot_outcome(file: &Path, receipt: &SnapshotReceipt) -> Result<u8, Failure> {
    print_json(receipt)?;
    Ok(match receipt.status {
        SnapshotStatus::Accepted | SnapshotStatus::Duplicate => 0,
        SnapshotStatus::Rejected | SnapshotStatus::Conflict => {
            say!(
                "snapshot {}: {} problem(s), nothing stored",
                file.display(),
                receipt.errors.len()
            );
            3
        }
    })
}

fn run(cli: Cli) -> Result<u8, Failure> {
    let data_dir = cli.data_dir;
    let kind = cli.store;
    // The store, opened on first use (`--store`: the data directory's, or AWS).
    let stores: std::cell::OnceCell<Backend> = std::cell::OnceCell::new();
    match cli.command {
        Command::Usage {
            command:
                UsageCommand::Upload {
                    file,
                    partner,
                    mpn_id,
                },
        } => {
            let partner = validate_partner(&partner)?;
            let config = backend(&stores, kind, &data_dir)?.config(&data_dir)?;
            let open = || {
                std::fs::File::open(&file)
                    .map(std::io::BufReader::new)
                    .map_err(|e| Failure::usage(format!("{}: {e}", file.display())))
            };
            let format = detect_usage_format(open()?);
            let mpn_id = mpn_id
                .map(|m| m.trim().to_string())
                .filter(|m| !m.is_empty());
            if format.needs_mpn_id() && mpn_id.is_none() {
                return Err(Failure::usage(format!(
                    "{} is {}, which has no MpnId column: give the partner's own MPN ID with \
                     --mpn-id",
                    file.display(),
                    format.describe()
                )));
            }
            if !format.needs_mpn_id() && mpn_id.is_some() {
                say!("--mpn-id is ignored: a daily rated usage file carries its own MpnId");
            }
            let store = backend(&stores, kind, &data_dir)?.store();
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            let options = ReadOptions {
                partner_id: partner.clone(),
                mpn_id,
            };
            let file_len = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
            let bar = progress::bytes(file_len, &name);
            let input = std::fs::File::open(&file)
                .map(|f| std::io::BufReader::new(bar.wrap_read(f)))
                .map_err(|e| Failure::usage(format!("{}: {e}", file.display())))?;
            let receipt =
                ingest_usage_file_with(store, &config, &options, &name, input, Utc::now());
            bar.finish_and_clear();
            let receipt = receipt?;
            print_json(&receipt)?;
            match receipt.status {
                UploadStatus::Rejected => {
                    say!(
                        "rejected: {} error(s) in {}; nothing was kept",
                        receipt.error_count,
                        file.display()
                    );
                    Ok(3)
                }
                UploadStatus::Duplicate => {
                    say!("duplicate of upload {}: nothing changed", receipt.upload_id);
                    Ok(0)
                }
                UploadStatus::Accepted => {
                    say!(
                        "accepted {} row(s) of {} as upload {}",
                        receipt.rows,
                        format.describe(),
                        receipt.upload_id
                    );
                    Ok(0)
                }
            }
        }
        Command::Access {
            command: AccessCommand::Post { file, partner, now },
        } => {
            let partner = validate_partner(&partner)?;
            let body = read_input(&file)?;
            let store = backend(&stores, kind, &data_dir)?.store();
            let receipt = post_snapshot(store, &partner, &body, now.unwrap_or_else(Utc::now))?;
            snapshot_outcome(&file, &receipt)
        }
        Command::Access {
            command:
                AccessCommand::Import {
                    file,
                    partner,
                    customer,
                    taken_at,
                    format,
                    access_type,
                    assignment_type,
                    pal,
                    principals,
                    source,
                    now,
                },
        } => {
            let partner = validate_partner(&partner)?;
            let customer = validate_tenant("--customer", &customer)?;
            let json = read_input(&file)?;
            let format = match format {
                Some(ImportFileFormat::Az) => Some(ImportFormat::Az),
                Some(ImportFileFormat::Arg) => Some(ImportFormat::ResourceGraph),
                None => detect_import_format(&json),
            };
            let source = source.unwrap_or_else(|| {
                let what = format.map_or("role assignments", ImportFormat::describe);
                format!("pec access import: {what} ({})", file.display())
            });
            if principals.is_empty() {
                say!(
                    "no --principal-id: every assignment in {} counts as the partner's access",
                    file.display()
                );
            }
            let non_aobo = access_type != AccessType::Aobo
                || principals
                    .iter()
                    .any(|p| p.access_type.is_some_and(|t| t != AccessType::Aobo));
            if non_aobo && pal.as_deref().is_none_or(|p| p.trim().is_empty()) {
                say!(
                    "no --pal: LIGHTHOUSE, DIRECT and GDAP access earns only with a Partner Admin \
                     Link (PAL_MISSING)"
                );
            }
            let options = ImportOptions {
                access_type,
                assignment_type,
                partner_admin_link_mpn_id: pal,
                principals,
            };
            let snapshot = snapshot_from_role_assignments(
                &json, format, &partner, &customer, taken_at, &source, &options,
            );
            let receipt = match snapshot {
                Ok(snapshot) => {
                    let body = serde_json::to_vec_pretty(&snapshot).map_err(Failure::internal)?;
                    let store = backend(&stores, kind, &data_dir)?.store();
                    let receipt =
                        post_snapshot(store, &partner, &body, now.unwrap_or_else(Utc::now))?;
                    if receipt.status == SnapshotStatus::Accepted {
                        say!(
                            "imported {} assignment(s) as snapshot {}",
                            snapshot.assignments.len(),
                            snapshot.snapshot_id
                        );
                    }
                    receipt
                }
                Err(errors) => SnapshotReceipt {
                    snapshot_id: None,
                    status: SnapshotStatus::Rejected,
                    errors,
                },
            };
            snapshot_outcome(&file, &receipt)
        }
        Command::Settle { through, from, now } => {
            if let Some(f) = from {
                if f > through {
                    return Err(Failure::usage("--from is after --through"));
                }
            }
            let config = backend(&stores, kind, &data_dir)?.config(&data_dir)?;
            let store = backend(&stores, kind, &data_dir)?;
            store.prepare_for_settlement()?;
            let store = store.store();
            let opts = SettleOptions::new(&config, through, from, now.unwrap_or_else(Utc::now));
            let bar = progress::settling();
            let summary = settle_with_progress(store, &config, &opts, &mut progress::track(&bar));
            bar.finish_and_clear();
            let summary = summary?;
            say!(
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
            if matches!(format, Format::Xlsx) && out.is_none() && std::io::stdout().is_terminal() {
                return Err(Failure::usage(
                    "--format xlsx writes a binary workbook: give --out FILE, or redirect stdout to a file",
                ));
            }
            let store = backend(&stores, kind, &data_dir)?.store();
            let statement =
                statement_from_store(store, &partner, month, as_of.unwrap_or_else(Utc::now))?;
            let bytes = render_statement(&statement, format)?;
            match out {
                Some(path) => {
                    std::fs::write(&path, bytes)
                        .map_err(|e| Failure::internal(format!("{}: {e}", path.display())))?;
                    say!("statement written to {}", path.display());
                }
                None => write_stdout_bytes(&bytes)?,
            }
            Ok(0)
        }
        Command::Explain {
            partner,
            resource,
            date,
            format,
        } => {
            let partner = validate_partner(&partner)?;
            let config = backend(&stores, kind, &data_dir)?.config(&data_dir)?;
            let store = backend(&stores, kind, &data_dir)?.store();
            let explanation =
                pec_ledger::explain::explain(store, &config, &partner, &resource, date)?;
            if let ExplainFormat::Text = format {
                write_stdout(&pec_ledger::explain::render_text(&explanation))?;
                return Ok(0);
            }
            if explanation.resource_days.is_empty() {
                say!("no usage and no ledger entry for {resource} on {date}");
            }
            for r in &explanation.resource_days {
                say!("{} {}: {}", r.customer_id, r.currency, r.answer);
            }
            print_json(&explanation)?;
            Ok(0)
        }
        Command::Verify => {
            let store = backend(&stores, kind, &data_dir)?.store();
            let report = pec_ledger::verify::verify(store)?;
            print_json(&report)?;
            if report.ok {
                say!(
                    "ledger verified: {} entries, {} resource-days",
                    report.entries,
                    report.resource_days
                );
                Ok(0)
            } else {
                for b in &report.breaks {
                    say!("BREAK {} entry {:?}: {}", b.resource_day, b.seq, b.problem);
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
            let store = backend(&stores, kind, &data_dir)?.store();
            if revoke {
                if !store.revoke_secret(&partner, &secret)? {
                    return Err(Failure::usage("no such active secret for this partner"));
                }
                say!("secret revoked");
            } else {
                pec_ledger::webhook_secret::validate(&secret).map_err(Failure::usage)?;
                let active = store.active_secrets(&partner)?;
                if active.iter().any(|s| s.secret == secret) {
                    say!("secret already active");
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
                    say!("secret added ({} active)", active.len() + 1);
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
            say!(
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
    if let Err(f) = init_logs(cli.log_format) {
        eprintln!("pec: {}", f.message);
        return ExitCode::from(f.code);
    }
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            if json_logs() {
                tracing::error!(target: "pec", exit_code = f.code, "{}", f.message);
            } else {
                eprintln!("pec: {}", f.message);
            }
            ExitCode::from(f.code)
        }
    }
}
