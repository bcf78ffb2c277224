//! `pec resources --partner P [--customer C] [--month YYYY-MM]`: the resources in the ledger with
//! the credit they earned and lost, to pick one for `pec explain`.

use super::{print_json, validate_partner, validate_tenant, Context};
use crate::{ExitStatus, Failure};
use pec_ledger::statement::Month;

/// The arguments of `pec resources`.
#[derive(clap::Args)]
pub struct ResourcesArgs {
    /// The partner's tenant id (a GUID).
    #[arg(long)]
    partner: String,
    /// Only this customer's resources (its tenant id, a GUID).
    #[arg(long)]
    customer: Option<String>,
    /// Only usage dates in this month, YYYY-MM (default: every month in the ledger).
    #[arg(long, value_parser = crate::commands::month_arg)]
    month: Option<Month>,
}

pub fn run(ctx: &Context, args: ResourcesArgs) -> Result<ExitStatus, Failure> {
    let ResourcesArgs {
        partner,
        customer,
        month,
    } = args;
    let partner = validate_partner(&partner)?;
    let customer = customer
        .map(|c| validate_tenant("--customer", &c))
        .transpose()?;
    let store = ctx.existing_store()?;
    let found = pec_ledger::resources::resources(store, &partner, customer.as_deref(), month)?;
    if found.is_empty() {
        say!("no resource of partner {partner} in the ledger for these filters");
    } else {
        say!(
            "{} resource(s); explain one with: pec explain --partner {partner} --resource <resourceId> --date <YYYY-MM-DD>",
            found.len()
        );
    }
    print_json(&serde_json::json!({
        "partnerId": partner,
        "customerId": customer,
        "month": month.map(|m| m.to_string()),
        "resources": found,
    }))?;
    Ok(ExitStatus::Success)
}
