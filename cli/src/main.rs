//! `pec`: the PEC ledger on the command line, on the embedded store (SPEC 6.1).
//!
//! JSON goes to stdout, human messages to stderr. Exit codes ([`ExitStatus`], listed in
//! `pec --help`): 0 success (including a duplicate), 1 an internal or storage failure, 2 usage
//! error, 3 input rejected, 4 verification failed.
//!
//! This file is the command line itself: the global flags, the log set-up, the exit codes and the
//! dispatch. Each command is a module of [`commands`], whose `run` takes the command's parsed
//! arguments.
#![forbid(unsafe_code)]

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

/// A message for the person running `pec`: a line on stderr; with `--log-format json`, an
/// `info` log event (target `pec`), so that stderr stays one JSON object per line.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::say(&format!($($arg)*))
    };
}

mod backend;
mod commands;
mod deliver;
mod progress;

use backend::StoreKind;
use commands::claims;
use commands::{
    access, alerts, demo, explain, generate, partner, resources, serve, settle, statement, upgrade,
    usage, verify,
};

#[derive(Parser)]
#[command(
    name = "pec",
    version,
    about = "Partner Earned Credit ledger: usage files and access snapshots in, settled ledger and monthly statements out.",
    after_help = ExitStatus::help()
)]
struct Cli {
    /// Where the embedded store lives [default: ./pec-data]. `pec demo` writes its fresh ledger
    /// here when this is given (else under its --dir).
    #[arg(long, global = true, env = "PEC_DATA_DIR")]
    data_dir: Option<PathBuf>,
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

/// The commands; each one's arguments and `run` are in its module of [`commands`].
#[derive(Subcommand)]
enum Command {
    /// Daily rated usage files.
    Usage {
        #[command(subcommand)]
        command: usage::UsageCommand,
    },
    /// Access snapshots.
    Access {
        #[command(subcommand)]
        command: access::AccessCommand,
    },
    /// Settle resource-days into the ledger.
    Settle(settle::SettleArgs),
    /// A partner's monthly statement.
    Statement(statement::StatementArgs),
    /// The claims pack: resource-days Microsoft under-credited, with evidence, to attach to a
    /// Partner Center support request.
    Claims(claims::ClaimsArgs),
    /// Why a resource earned or lost PEC on a day.
    Explain(explain::ExplainArgs),
    /// The resources in the ledger with the credit they earned and lost (to pick one to explain).
    Resources(resources::ResourcesArgs),
    /// Re-compute every hash and every resource-day's sum.
    Verify,
    /// Upgrade the AWS tables to this release's table format (--store aws).
    Upgrade(upgrade::UpgradeArgs),
    /// A partner's access-lost alerts.
    Alerts(alerts::AlertsArgs),
    /// Partners' webhook secrets and alert URLs.
    Partner {
        #[command(subcommand)]
        command: partner::PartnerCommand,
    },
    /// Serve the access webhook and statement reads over HTTP (SPEC 6.2), on this data directory.
    Serve(serve::ServeArgs),
    /// Generate example data (deterministic by seed).
    Generate(generate::GenerateArgs),
    /// Generate a realistic example, run the whole pipeline, print the statement.
    Demo(demo::DemoArgs),
}

/// How `pec` ends: the process exit code of each outcome. [`ExitStatus::help`] lists them in
/// `pec --help`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: done, including an upload or snapshot that duplicates one already stored (and `--help`,
    /// `--version`).
    Success = 0,
    /// 1: an internal, storage or I/O failure.
    Internal = 1,
    /// 2: a usage error: bad arguments or options (clap's own errors too), an unreadable input
    /// file, a bad `config.json` or `PEC_LOG`.
    Usage = 2,
    /// 3: an input (usage file, access snapshot) was rejected; nothing of it was kept.
    InputRejected = 3,
    /// 4: verification found a break in the ledger.
    VerificationFailed = 4,
}

impl ExitStatus {
    const ALL: [ExitStatus; 5] = [
        ExitStatus::Success,
        ExitStatus::Internal,
        ExitStatus::Usage,
        ExitStatus::InputRejected,
        ExitStatus::VerificationFailed,
    ];

    /// The process exit code.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// What the code means, for `pec --help`.
    fn meaning(self) -> &'static str {
        match self {
            ExitStatus::Success => "success (a duplicate upload or snapshot included)",
            ExitStatus::Internal => "internal or storage failure",
            ExitStatus::Usage => "usage error (arguments, options, input file, configuration)",
            ExitStatus::InputRejected => "input rejected (nothing was kept)",
            ExitStatus::VerificationFailed => "verification failed (the ledger has a break)",
        }
    }

    /// The "Exit codes" table after `pec --help`, its heading styled like clap's own.
    fn help() -> String {
        let header = clap::builder::Styles::default().get_header().to_owned();
        let mut text = format!("{header}Exit codes:{header:#}");
        for status in ExitStatus::ALL {
            text += &format!("\n  {}  {}", status.code(), status.meaning());
        }
        text
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        ExitCode::from(status.code())
    }
}

/// A command's failure: the message for stderr and the exit status.
pub struct Failure {
    status: ExitStatus,
    message: String,
}

impl Failure {
    /// What the failure says.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// A usage error ([`ExitStatus::Usage`]).
    fn usage(message: impl std::fmt::Display) -> Failure {
        Failure {
            status: ExitStatus::Usage,
            message: message.to_string(),
        }
    }

    /// An internal or storage failure ([`ExitStatus::Internal`]).
    fn internal(message: impl std::fmt::Display) -> Failure {
        Failure {
            status: ExitStatus::Internal,
            message: message.to_string(),
        }
    }
}

impl From<pec_ledger::store::StoreError> for Failure {
    fn from(e: pec_ledger::store::StoreError) -> Self {
        Failure::internal(e)
    }
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
    use pec_telemetry as telemetry;
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

/// Runs the command line's command.
fn dispatch(cli: Cli) -> Result<ExitStatus, Failure> {
    let given_data_dir = cli.data_dir.clone();
    let ctx = commands::Context::new(
        cli.data_dir.unwrap_or_else(|| PathBuf::from("./pec-data")),
        cli.store,
    );
    match cli.command {
        Command::Usage { command } => usage::run(&ctx, command),
        Command::Access { command } => access::run(&ctx, command),
        Command::Settle(args) => settle::run(&ctx, args),
        Command::Statement(args) => statement::run(&ctx, args),
        Command::Claims(args) => claims::run(&ctx, args),
        Command::Explain(args) => explain::run(&ctx, args),
        Command::Resources(args) => resources::run(&ctx, args),
        Command::Verify => verify::run(&ctx),
        Command::Upgrade(args) => upgrade::run(&ctx, args),
        Command::Partner { command } => partner::run(&ctx, command),
        Command::Alerts(args) => alerts::run(&ctx, args),
        Command::Generate(args) => generate::run(args),
        Command::Serve(_) | Command::Demo(_) if ctx.kind == StoreKind::Aws => Err(Failure::usage(
            "serve and demo work on the embedded store only (--store sqlite)",
        )),
        Command::Serve(args) => {
            // The webhook needs a partner's secret, kept in the ledger: a data directory
            // without one is a mistyped --data-dir.
            ctx.require_ledger()?;
            serve::run(&ctx.data_dir, args)
        }
        Command::Demo(args) => demo::run(args, given_data_dir.as_deref()),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitStatus::Usage
            } else {
                ExitStatus::Success
            }
            .into();
        }
    };
    if let Err(f) = init_logs(cli.log_format) {
        eprintln!("pec: {}", f.message);
        return f.status.into();
    }
    match dispatch(cli) {
        Ok(status) => status.into(),
        Err(f) => {
            if json_logs() {
                tracing::error!(target: "pec", exit_code = f.status.code(), "{}", f.message);
            } else {
                eprintln!("pec: {}", f.message);
            }
            f.status.into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_lists_every_exit_code() {
        let codes: Vec<u8> = ExitStatus::ALL.iter().map(|s| s.code()).collect();
        assert_eq!(codes, [0, 1, 2, 3, 4]);
        let help = ExitStatus::help();
        assert!(help.contains("Exit codes:"));
        for status in ExitStatus::ALL {
            let line = format!("  {}  {}", status.code(), status.meaning());
            assert!(help.contains(&line), "{line:?} missing from {help:?}");
        }
    }

    /// Every flag and argument of every command has a help line (`pec X --help` says what it
    /// takes).
    #[test]
    fn every_flag_has_a_help_line() {
        use clap::CommandFactory;
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if matches!(id, "help" | "version") {
                    continue;
                }
                let help = arg
                    .get_help()
                    .or(arg.get_long_help())
                    .map(|h| h.to_string())
                    .unwrap_or_default();
                if help.trim().is_empty() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "pec", &mut missing);
        assert!(missing.is_empty(), "no help line: {missing:#?}");
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
