//! `pec alerts --partner P [--open] [--format json|text] [--send]`: a partner's access-lost
//! alerts, newest first; `--send` first sends the alert events still waiting in the outbox.

use super::{print_json, validate_partner, Context};
use crate::{ExitStatus, Failure};
use clap::ValueEnum;
use pec_ledger::alerts::{render_text, AlertStatus};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AlertsFormat {
    Json,
    Text,
}

/// The arguments of `pec alerts`.
#[derive(clap::Args)]
pub struct AlertsArgs {
    /// The partner's tenant id (a GUID).
    #[arg(long)]
    partner: String,
    /// Only the open alerts (one per customer at most).
    #[arg(long)]
    open: bool,
    /// JSON (`{"partnerId", "alerts": [...]}`) or one text block per alert.
    #[arg(long, value_enum, default_value_t = AlertsFormat::Json)]
    format: AlertsFormat,
    /// Send the partner's waiting alert events to its alert URL first (embedded store).
    #[arg(long)]
    send: bool,
}

pub fn run(ctx: &Context, args: AlertsArgs) -> Result<ExitStatus, Failure> {
    let partner = validate_partner(&args.partner)?;
    if args.send {
        if ctx.kind != crate::StoreKind::Sqlite {
            return Err(Failure::usage(
                "--send works on the embedded store; on AWS the stack's functions publish alerts \
                 to its SNS topic",
            ));
        }
        let store = ctx.store()?;
        if store.alert_url(&partner)?.is_none() {
            return Err(Failure::usage(format!(
                "--send: partner {partner} has no alert URL (pec partner set-alert-url)"
            )));
        }
        let d = crate::deliver::deliver_pending(store, Some(&partner))?;
        say!("sent {} alert event(s); {} waiting", d.sent, d.waiting);
        for f in &d.failures {
            say!("warning: not sent (it stays queued): {f}");
        }
    }
    let store = ctx.existing_store()?;
    let mut alerts = store.alerts(&partner)?;
    if args.open {
        alerts.retain(|a| a.status == AlertStatus::Open);
    }
    match args.format {
        AlertsFormat::Json => print_json(&serde_json::json!({
            "partnerId": partner,
            "alerts": alerts,
        }))?,
        AlertsFormat::Text => print!("{}", render_text(&alerts)),
    }
    Ok(ExitStatus::Success)
}
