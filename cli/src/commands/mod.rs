//! The commands of `pec`, one module each, each with a `run` taking the command's parsed
//! arguments and returning its [`ExitStatus`] (or a [`Failure`]); and what they share: the
//! [`Context`] of the global flags with the store opened on first use, tenant-id checks, input
//! reading and stdout writing.

use crate::backend::{Backend, StoreKind};
use crate::Failure;
use pec_ledger::config::Config;
use pec_ledger::store::Store;
use std::cell::OnceCell;
use std::io::Read;
use std::path::{Path, PathBuf};

pub mod access;
pub mod alerts;
pub mod claims;
pub mod demo;
pub mod explain;
pub mod generate;
pub mod partner;
pub mod resources;
pub mod serve;
pub mod settle;
pub mod statement;
pub mod upgrade;
pub mod usage;
pub mod verify;

/// The global flags a command runs with, and the store (`--store`: the data directory's, or
/// AWS), opened on first use.
pub struct Context {
    pub data_dir: PathBuf,
    pub kind: StoreKind,
    backend: OnceCell<Backend>,
}

impl Context {
    pub fn new(data_dir: PathBuf, kind: StoreKind) -> Context {
        Context {
            data_dir,
            kind,
            backend: OnceCell::new(),
        }
    }

    /// The store's backend, opened on first use.
    pub fn backend(&self) -> Result<&Backend, Failure> {
        if let Some(b) = self.backend.get() {
            return Ok(b);
        }
        let opened = Backend::open(self.kind, &self.data_dir)?;
        Ok(self.backend.get_or_init(|| opened))
    }

    /// The store, opened on first use.
    pub fn store(&self) -> Result<&dyn Store, Failure> {
        Ok(self.backend()?.store())
    }

    /// The store of a command that only reads (`verify`, `statement`, `explain`): with the
    /// embedded store, a data directory without a ledger is a usage error naming it, and nothing
    /// is created there (a mistyped `--data-dir` must not read as an empty ledger).
    /// A data directory that cannot be written (an auditor's read-only copy) is read read-only:
    /// nothing is written there.
    pub fn existing_store(&self) -> Result<&dyn Store, Failure> {
        self.require_ledger()?;
        if self.kind == StoreKind::Sqlite && self.backend.get().is_none() {
            let opened = match Backend::open(self.kind, &self.data_dir) {
                Ok(b) => b,
                Err(writable) => {
                    let read_only = pec_embedded::SqliteStore::open_read_only(&self.data_dir)
                        .map_err(|ro| {
                            Failure::internal(format!(
                                "--data-dir {}: {}; read-only: {ro}",
                                self.data_dir.display(),
                                writable.message()
                            ))
                        })?;
                    say!(
                        "note: {} cannot be written here: reading it read-only",
                        self.data_dir.join("pec.db").display()
                    );
                    Backend::Sqlite(read_only)
                }
            };
            let _ = self.backend.set(opened);
        }
        self.store()
    }

    /// With the embedded store, a usage error naming the data directory when it holds no
    /// ledger (`pec.db`), before anything is created there.
    pub fn require_ledger(&self) -> Result<(), Failure> {
        if self.kind == StoreKind::Sqlite && !self.data_dir.join("pec.db").is_file() {
            return Err(Failure::usage(format!(
                "--data-dir {}: no ledger there (no pec.db); give the data directory that `pec \
                 usage upload`, `pec access post` and `pec settle` wrote to (env PEC_DATA_DIR, \
                 default ./pec-data)",
                self.data_dir.display()
            )));
        }
        Ok(())
    }

    /// The domain configuration (opens the store first).
    pub fn config(&self) -> Result<Config, Failure> {
        self.backend()?.config(&self.data_dir)
    }
}

/// Prints `value` as pretty JSON on stdout.
pub fn print_json<T: serde::Serialize>(value: &T) -> Result<(), Failure> {
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

/// `--partner`, trimmed and lower-cased.
pub fn validate_partner(p: &str) -> Result<String, Failure> {
    validate_tenant("--partner", p)
}

/// A tenant id given as `option`, trimmed and lower-cased: a GUID.
pub fn validate_tenant(option: &str, p: &str) -> Result<String, Failure> {
    let p = p.trim().to_ascii_lowercase();
    if !pec_ledger::ids::is_guid(&p) {
        let what = if option == "--partner" {
            "a partner's"
        } else {
            "a"
        };
        return Err(Failure::usage(format!(
            "{option} {p:?}: not {what} tenant id (expected a GUID such as \
             7a3c0000-0000-4000-8000-000000000001)"
        )));
    }
    Ok(p)
}

/// An MPN ID given as `option`, trimmed: decimal digits.
pub fn validate_mpn_id(option: &str, m: &str) -> Result<String, Failure> {
    let m = m.trim();
    if !pec_ledger::ids::is_mpn_id(m) {
        return Err(Failure::usage(format!(
            "{option} {m:?}: not an MPN ID (expected its digits, such as 4100001)"
        )));
    }
    Ok(m.to_string())
}

/// A date flag: `YYYY-MM-DD`, and a real day of the calendar. clap names the flag in front of
/// the message (`invalid value '2026-02-30' for '--through <THROUGH>': not a date …`).
pub fn date_arg(text: &str) -> Result<chrono::NaiveDate, String> {
    let t = text.trim();
    let shaped = t.len() == 10 && t.as_bytes()[4] == b'-' && t.as_bytes()[7] == b'-';
    match chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        Ok(d) if shaped => Ok(d),
        _ => Err("not a date (expected YYYY-MM-DD, e.g. 2026-09-30)".into()),
    }
}

/// A month flag: `YYYY-MM`.
pub fn month_arg(text: &str) -> Result<pec_ledger::statement::Month, String> {
    pec_ledger::statement::Month::parse(text.trim())
        .map_err(|_| "not a month (expected YYYY-MM, e.g. 2026-09)".into())
}

/// A time flag: RFC 3339 (`2026-09-03T02:00:00Z`, or with an offset), taken as UTC.
/// The time a statement or claims pack is read as of (`--as-of`, default now), and its month:
/// an `--as-of` more than 5 minutes ahead of this machine's clock (a typo, 2099 for 2026) would
/// pass figures still to come for final, and a month that has not begun by then can hold
/// nothing — both are usage errors naming the flag.
pub fn as_of_and_month(
    as_of: Option<chrono::DateTime<chrono::Utc>>,
    month: pec_ledger::statement::Month,
) -> Result<chrono::DateTime<chrono::Utc>, Failure> {
    let clock = chrono::Utc::now();
    let secs =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let as_of = match as_of {
        Some(t) if t > clock + chrono::Duration::minutes(5) => {
            return Err(Failure::usage(format!(
                "--as-of {}: more than 5 minutes ahead of this machine's clock ({}); figures as \
                 of a time to come are not final",
                secs(t),
                secs(clock)
            )))
        }
        Some(t) => t,
        None => clock,
    };
    if month.start() > as_of {
        return Err(Failure::usage(format!(
            "--month {month}: has not begun as of {}; nothing can be in it yet",
            secs(as_of)
        )));
    }
    Ok(as_of)
}

pub fn time_arg(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|_| "not a time (expected RFC 3339, e.g. 2026-09-03T02:00:00Z)".into())
}

/// A file's bytes, or stdin's for `-`.
/// [`read_input`], reading at most `limit` bytes (a larger input is cut there: the caller
/// rejects it for its size without holding all of it).
pub fn read_input_at_most(file: &Path, limit: usize) -> Result<Vec<u8>, Failure> {
    if file.is_dir() {
        return read_input(file);
    }
    let mut body = Vec::new();
    if file.as_os_str() == "-" {
        std::io::stdin()
            .take(limit as u64)
            .read_to_end(&mut body)
            .map_err(Failure::internal)?;
    } else {
        let named = |e: std::io::Error| Failure::usage(format!("{}: {e}", file.display()));
        std::fs::File::open(file)
            .map_err(named)?
            .take(limit as u64)
            .read_to_end(&mut body)
            .map_err(named)?;
    }
    Ok(body)
}

pub fn read_input(file: &Path) -> Result<Vec<u8>, Failure> {
    if file.is_dir() {
        return Err(Failure::usage(format!(
            "{} is a directory: give one file (or - for stdin)",
            file.display()
        )));
    }
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
