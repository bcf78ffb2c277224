//! `pec partner set-secret PARTNER SECRET [--revoke]`: adds a partner's webhook secret (at most
//! two active) or revokes one; prints how many are active.

use super::{print_json, validate_partner, Context};
use crate::{ExitStatus, Failure};
use chrono::Utc;
use clap::Subcommand;
use pec_ledger::store::WebhookSecret;

#[derive(Subcommand)]
pub enum PartnerCommand {
    /// Add a webhook secret (at most two active), or revoke one with --revoke.
    SetSecret {
        partner: String,
        secret: String,
        #[arg(long)]
        revoke: bool,
    },
}

pub fn run(ctx: &Context, command: PartnerCommand) -> Result<ExitStatus, Failure> {
    match command {
        PartnerCommand::SetSecret {
            partner,
            secret,
            revoke,
        } => set_secret(ctx, &partner, secret, revoke),
    }
}

/// `pec partner set-secret`.
fn set_secret(
    ctx: &Context,
    partner: &str,
    secret: String,
    revoke: bool,
) -> Result<ExitStatus, Failure> {
    let partner = validate_partner(partner)?;
    let store = ctx.store()?;
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
    Ok(ExitStatus::Success)
}
