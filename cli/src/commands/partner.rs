//! `pec partner set-secret PARTNER (SECRET | - | --generate) [--revoke]` and `pec partner secrets
//! PARTNER`: a partner's webhook secrets (at most two active, for rotation). A secret's text is
//! shown once, when `--generate` makes it; afterwards it is named by its fingerprint.

use super::{print_json, validate_partner, Context};
use crate::{ExitStatus, Failure};
use chrono::Utc;
use clap::Subcommand;
use pec_ledger::store::WebhookSecret;
use pec_ledger::webhook_secret::{fingerprint, from_key, validate};
use std::io::Read;

#[derive(Subcommand)]
pub enum PartnerCommand {
    /// Add a webhook secret (at most two active), or revoke one with --revoke. Prints the
    /// partner's active secrets by fingerprint; with --generate, also the new secret's text,
    /// which is shown this once.
    SetSecret {
        /// The partner's tenant id (a GUID).
        partner: String,
        /// The secret, `whsec_` and the base64 of at least 16 bytes; `-` reads it from stdin
        /// (out of sight of `ps`). With --revoke: the fingerprint (`pec partner secrets`) or the
        /// text of the secret to revoke.
        #[arg(required_unless_present = "generate", conflicts_with = "generate")]
        secret: Option<String>,
        /// Make a new secret from 32 random bytes and print it once in the JSON on stdout.
        #[arg(long, conflicts_with = "revoke")]
        generate: bool,
        /// Revoke the secret named instead of adding it.
        #[arg(long)]
        revoke: bool,
    },
    /// List a partner's active webhook secrets by fingerprint and `addedAt` (never their text).
    Secrets {
        /// The partner's tenant id (a GUID).
        partner: String,
    },
    /// Where `pec` POSTs the partner's alert events (access lost, access restored), signed with
    /// its webhook secret; --clear stops sending (events wait in the outbox).
    SetAlertUrl {
        /// The partner's tenant id (a GUID).
        partner: String,
        /// An https:// URL (http:// only to this machine: localhost, 127.0.0.1, [::1]).
        #[arg(required_unless_present = "clear", conflicts_with = "clear")]
        url: Option<String>,
        /// Stop sending: forget the partner's alert URL.
        #[arg(long)]
        clear: bool,
    },
}

pub fn run(ctx: &Context, command: PartnerCommand) -> Result<ExitStatus, Failure> {
    match command {
        PartnerCommand::SetSecret {
            partner,
            secret,
            generate,
            revoke,
        } => set_secret(ctx, &partner, secret, generate, revoke),
        PartnerCommand::SetAlertUrl {
            partner,
            url,
            clear: _,
        } => {
            let partner = validate_partner(&partner)?;
            let url = url.map(|u| validate_alert_url(&u)).transpose()?;
            if ctx.kind != crate::StoreKind::Sqlite {
                return Err(Failure::usage(
                    "set-alert-url is for the embedded store: on AWS, alerts go to the stack's \
                     SNS topic (output AlertTopicArn); subscribe the partner's address to it \
                     (README, \"Subscribing to alerts\")",
                ));
            }
            let store = ctx.store()?;
            store.set_alert_url(&partner, url.as_deref())?;
            if url.is_some() && store.active_secrets(&partner)?.is_empty() {
                say!(
                    "warning: partner {partner} has no webhook secret to sign alerts with: they \
                     wait until one is set (pec partner set-secret)"
                );
            }
            print_json(&serde_json::json!({"partnerId": partner, "alertUrl": url}))?;
            Ok(ExitStatus::Success)
        }
        PartnerCommand::Secrets { partner } => {
            let partner = validate_partner(&partner)?;
            print_json(&listing(ctx, &partner, None)?)?;
            Ok(ExitStatus::Success)
        }
    }
}

/// `{"partnerId","activeSecrets","secrets":[{"fingerprint","addedAt"}]}`, and `"secret"` when
/// one was just generated.
fn listing(
    ctx: &Context,
    partner: &str,
    generated: Option<&str>,
) -> Result<serde_json::Value, Failure> {
    let active = ctx.store()?.active_secrets(partner)?;
    let secrets: Vec<serde_json::Value> = active
        .iter()
        .map(|s| serde_json::json!({"fingerprint": fingerprint(&s.secret), "addedAt": s.added_at}))
        .collect();
    let mut out = serde_json::json!({
        "partnerId": partner,
        "activeSecrets": active.len(),
        "secrets": secrets,
    });
    if let Some(text) = generated {
        out["secret"] = text.into();
        out["fingerprint"] = fingerprint(text).into();
    }
    Ok(out)
}

/// The secret given: the argument, or stdin's first line for `-`.
fn secret_text(given: String) -> Result<String, Failure> {
    if given != "-" {
        return Ok(given.trim().to_string());
    }
    let mut text = String::new();
    std::io::stdin()
        .take(64 * 1024)
        .read_to_string(&mut text)
        .map_err(|e| Failure::usage(format!("reading the secret from stdin: {e}")))?;
    Ok(text.lines().next().unwrap_or("").trim().to_string())
}

/// `pec partner set-secret`.
fn set_secret(
    ctx: &Context,
    partner: &str,
    secret: Option<String>,
    generate: bool,
    revoke: bool,
) -> Result<ExitStatus, Failure> {
    let partner = validate_partner(partner)?;
    let store = ctx.store()?;
    let given = secret.map(secret_text).transpose()?;
    if revoke {
        let name = given.unwrap_or_default();
        let active = store.active_secrets(&partner)?;
        let target = active
            .iter()
            .find(|s| s.secret == name || fingerprint(&s.secret) == name.to_ascii_lowercase());
        match target {
            Some(s) if store.revoke_secret(&partner, &s.secret)? => {
                say!("secret {} revoked", fingerprint(&s.secret))
            }
            _ => {
                return Err(Failure::usage(format!(
                    "no active secret of partner {partner} has the fingerprint or text given \
                     (`pec partner secrets {partner}` lists them)"
                )))
            }
        }
        print_json(&listing(ctx, &partner, None)?)?;
        return Ok(ExitStatus::Success);
    }
    let secret = match given {
        Some(text) => {
            validate(&text).map_err(|e| Failure::usage(format!("SECRET: {e}")))?;
            text
        }
        None => {
            let mut key = [0u8; 32];
            getrandom::fill(&mut key)
                .map_err(|e| Failure::internal(format!("no randomness for a secret: {e}")))?;
            from_key(&key)
        }
    };
    let active = store.active_secrets(&partner)?;
    if active.iter().any(|s| s.secret == secret) {
        say!("secret {} already active", fingerprint(&secret));
    } else if active.len() >= 2 {
        return Err(Failure::usage(format!(
            "two secrets are already active: revoke one with `pec partner set-secret {partner} \
             FINGERPRINT --revoke` before adding another (`pec partner secrets {partner}` lists \
             them)"
        )));
    } else {
        store.add_secret(
            &partner,
            &WebhookSecret {
                secret: secret.clone(),
                added_at: Utc::now(),
            },
        )?;
        say!(
            "secret {} added ({} active)",
            fingerprint(&secret),
            active.len() + 1
        );
    }
    let shown = generate.then_some(secret.as_str());
    print_json(&listing(ctx, &partner, shown)?)?;
    Ok(ExitStatus::Success)
}

/// An alert URL: `https://`, or `http://` to this machine only (alerts carry figures).
fn validate_alert_url(url: &str) -> Result<String, Failure> {
    let u = url.trim();
    let bad = |why: &str| Failure::usage(format!("URL {u:?}: {why}"));
    let rest = if let Some(rest) = u.strip_prefix("https://") {
        rest
    } else if let Some(rest) = u.strip_prefix("http://") {
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
        let name = if host.starts_with('[') {
            host.split(']')
                .next()
                .map(|h| format!("{h}]"))
                .unwrap_or_default()
        } else {
            host.split(':').next().unwrap_or("").to_string()
        };
        if !matches!(name.as_str(), "localhost" | "127.0.0.1" | "[::1]") {
            return Err(bad(
                "http:// is allowed only to this machine (localhost, 127.0.0.1, [::1]); use https://",
            ));
        }
        rest
    } else {
        return Err(bad("must start with https:// (or http:// to this machine)"));
    };
    if rest.split(['/', '?', '#']).next().unwrap_or("").is_empty() {
        return Err(bad("has no host"));
    }
    if u.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("contains spaces or control characters"));
    }
    Ok(u.to_string())
}

#[cfg(test)]
mod tests {
    use super::validate_alert_url;

    #[test]
    fn alert_urls_are_https_or_local() {
        for ok in [
            "https://hooks.example.com/pec",
            "http://127.0.0.1:9000/alerts",
            "http://localhost/x",
            "http://[::1]:8080/",
        ] {
            assert_eq!(validate_alert_url(ok).ok().as_deref(), Some(ok));
        }
        for bad in [
            "http://example.com/x",
            "ftp://x",
            "hooks.example.com",
            "https://",
            "http://127.0.0.1.evil.com/",
            "http://evil.com@127.0.0.1.x/",
            "https://a b",
        ] {
            assert!(validate_alert_url(bad).is_err(), "{bad}");
        }
    }
}
