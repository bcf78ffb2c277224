//! `pec access post` (one access snapshot, as JSON) and `pec access import` (a snapshot made from
//! `az role assignment list` output or an Azure Resource Graph export): both store the snapshot
//! and print its receipt; a rejected or conflicting snapshot exits with
//! [`ExitStatus::InputRejected`].

use super::{
    print_json, read_input, read_input_at_most, validate_mpn_id, validate_partner, validate_tenant,
    Context,
};
use crate::{ExitStatus, Failure};
use chrono::{DateTime, Utc};
use clap::{Subcommand, ValueEnum};
use pec_ledger::import::{
    detect_import_format, snapshot_from_role_assignments, ImportFormat, ImportOptions,
    PrincipalRule, PRINCIPAL_TYPES,
};
use pec_ledger::ingest::{post_snapshot_watched, SnapshotReceipt, SnapshotStatus};
use pec_ledger::snapshot::{AccessType, AssignmentType, PrincipalType};
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum AccessCommand {
    /// Store one access snapshot (JSON file, or - for stdin); prints the receipt.
    Post {
        /// The snapshot (JSON, SPEC 3.2), or - to read it from stdin.
        file: PathBuf,
        /// The partner's tenant id (a GUID, e.g. 7a3c0000-0000-4000-8000-000000000001).
        #[arg(long)]
        partner: String,
        /// Clock for the "takenAt not in the future" check; default: now.
        #[arg(long, value_parser = crate::commands::time_arg)]
        now: Option<DateTime<Utc>>,
    },
    /// Make a snapshot from `az role assignment list --all -o json` output or an Azure Resource
    /// Graph `authorizationresources` export (FILE, or - for stdin) and store it like `access
    /// post`; prints the same receipt.
    Import(ImportArgs),
}

/// The arguments of `pec access import`.
#[derive(clap::Args)]
pub struct ImportArgs {
    /// The role-assignment listing (JSON from az or Azure Resource Graph), or - for stdin.
    file: PathBuf,
    /// The partner's tenant id (a GUID, e.g. 7a3c0000-0000-4000-8000-000000000001).
    #[arg(long)]
    partner: String,
    /// The customer tenant the assignments are in.
    #[arg(long)]
    customer: String,
    /// When the list was taken (RFC 3339).
    #[arg(long, value_name = "RFC3339", value_parser = crate::commands::time_arg)]
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
    /// `ID=LIGHTHOUSE` (or AOBO, DIRECT, GDAP) gives it its own access type, `ID=ForeignGroup`
    /// (or Group, User, ServicePrincipal) its principal type for a listing that has none, both
    /// as `ID=GDAP,Group`. Without it, every assignment in the file counts as the partner's.
    #[arg(long = "principal-id", value_name = "ID[=TYPE[,TYPE]]", value_parser = parse_principal)]
    principals: Vec<PrincipalRule>,
    /// The principal type of rows that have none (Microsoft's REST listing) and whose
    /// --principal-id gives none: ForeignGroup, Group, User or ServicePrincipal.
    #[arg(long, value_name = "TYPE", value_parser = parse_principal_type)]
    principal_type: Option<PrincipalType>,
    /// The snapshot's `source`; default: the format and the file name.
    #[arg(long, value_name = "TEXT")]
    source: Option<String>,
    /// Clock for the "takenAt not in the future" check; default: now.
    #[arg(long, value_parser = crate::commands::time_arg)]
    now: Option<DateTime<Utc>>,
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

fn parse_principal_type(text: &str) -> Result<PrincipalType, String> {
    let t = text.trim();
    PRINCIPAL_TYPES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(t))
        .map(|(_, v)| *v)
        .ok_or_else(|| format!("{t:?} is not one of ForeignGroup, Group, User, ServicePrincipal"))
}

fn parse_principal(text: &str) -> Result<PrincipalRule, String> {
    let (id, types) = text.split_once('=').unwrap_or((text, ""));
    let id = id.trim();
    if id.is_empty() {
        return Err("the principal id is empty".into());
    }
    let mut rule = PrincipalRule {
        principal_id: id.to_string(),
        access_type: None,
        principal_type: None,
    };
    for t in types.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        match (parse_access_type(t), parse_principal_type(t)) {
            (Ok(_), _) if rule.access_type.is_some() => {
                return Err(format!("{id}: more than one access type"))
            }
            (_, Ok(_)) if rule.principal_type.is_some() => {
                return Err(format!("{id}: more than one principal type"))
            }
            (Ok(a), _) => rule.access_type = Some(a),
            (_, Ok(p)) => rule.principal_type = Some(p),
            _ => {
                return Err(format!(
                    "{t:?} is neither an access type (AOBO, LIGHTHOUSE, DIRECT, GDAP) nor a \
                     principal type (ForeignGroup, Group, User, ServicePrincipal)"
                ))
            }
        }
    }
    Ok(rule)
}

pub fn run(ctx: &Context, command: AccessCommand) -> Result<ExitStatus, Failure> {
    match command {
        AccessCommand::Post { file, partner, now } => post(ctx, &file, &partner, now),
        AccessCommand::Import(args) => import(ctx, args),
    }
}

/// `pec access post`.
fn post(
    ctx: &Context,
    file: &Path,
    partner: &str,
    now: Option<DateTime<Utc>>,
) -> Result<ExitStatus, Failure> {
    let partner = validate_partner(partner)?;
    // One byte past the limit is enough to reject a snapshot for its size.
    let body = read_input_at_most(file, pec_ledger::snapshot::MAX_SNAPSHOT_BYTES + 1)?;
    let receipt = post_watched(ctx, &partner, &body, now)?;
    snapshot_outcome(file, &receipt)
}

/// Stores a snapshot with the alerts it raises, then sends the partner's waiting alert events
/// (the embedded store; on AWS the stack's functions publish them).
fn post_watched(
    ctx: &Context,
    partner: &str,
    body: &[u8],
    now: Option<DateTime<Utc>>,
) -> Result<SnapshotReceipt, Failure> {
    let store = ctx.store()?;
    let config = ctx.backend()?.config(&ctx.data_dir)?;
    let watched =
        post_snapshot_watched(store, &config, partner, body, now.unwrap_or_else(Utc::now))?;
    for e in &watched.events {
        say!(
            "{} alert {}: customer {}, {} resource(s)",
            e.event_type.as_str(),
            e.alert.alert_id,
            e.alert.customer_id,
            e.alert.resources.len()
        );
    }
    // A test hook: die between storing the snapshot (and its alert) and sending, as a crash
    // would.
    if std::env::var_os("PEC_TEST_CRASH_BEFORE_SENDING").is_some() {
        std::process::exit(137);
    }
    if ctx.kind == crate::StoreKind::Sqlite {
        let delivery = crate::deliver::deliver_pending(store, Some(partner))?;
        if delivery.sent > 0 {
            say!("sent {} alert event(s)", delivery.sent);
        }
        for f in &delivery.failures {
            say!("warning: alert not sent yet (it stays queued): {f}");
        }
    }
    Ok(watched.receipt)
}

/// `pec access import`.
fn import(ctx: &Context, args: ImportArgs) -> Result<ExitStatus, Failure> {
    let ImportArgs {
        file,
        partner,
        customer,
        taken_at,
        format,
        access_type,
        assignment_type,
        pal,
        principals,
        principal_type,
        source,
        now,
    } = args;
    let partner = validate_partner(&partner)?;
    let customer = validate_tenant("--customer", &customer)?;
    let pal = pal
        .filter(|p| !p.trim().is_empty())
        .map(|p| validate_mpn_id("--pal", &p))
        .transpose()?;
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
            "no --pal: LIGHTHOUSE, DIRECT and GDAP access earns only with a Partner Admin Link \
             (PAL_MISSING)"
        );
    }
    let options_had_principals = !principals.is_empty();
    let options = ImportOptions {
        access_type,
        assignment_type,
        partner_admin_link_mpn_id: pal,
        principals,
        principal_type,
    };
    let snapshot = snapshot_from_role_assignments(
        &json, format, &partner, &customer, taken_at, &source, &options,
    );
    let receipt =
        match snapshot {
            Ok(snapshot) => {
                let body = serde_json::to_vec_pretty(&snapshot).map_err(Failure::internal)?;
                let mut receipt = post_watched(ctx, &partner, &body, now)?;
                if snapshot.assignments.is_empty() && receipt.status != SnapshotStatus::Rejected {
                    let w =
                        format!(
                    "{} lists no role assignments{}: the snapshot says the partner held no \
                     access to customer {customer} at {}",
                    file.display(),
                    if options_had_principals { " of the given --principal-id(s)" } else { "" },
                    taken_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                );
                    say!("warning: {w}");
                    receipt.warnings.push(pec_ledger::ingest::Warning::of(w));
                }
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
                warnings: Vec::new(),
            },
        };
    snapshot_outcome(&file, &receipt)
}

/// Prints a snapshot receipt; the exit status.
fn snapshot_outcome(file: &Path, receipt: &SnapshotReceipt) -> Result<ExitStatus, Failure> {
    print_json(receipt)?;
    Ok(match receipt.status {
        SnapshotStatus::Accepted | SnapshotStatus::Duplicate => ExitStatus::Success,
        SnapshotStatus::Rejected | SnapshotStatus::Conflict => {
            say!(
                "snapshot {}: {} problem(s), nothing stored",
                file.display(),
                receipt.errors.len()
            );
            ExitStatus::InputRejected
        }
    })
}
