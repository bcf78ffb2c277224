//! Building a partner: its names and MPN IDs, resellers and principals, then its customers
//! and their subscriptions and resources, with each customer's access scenario.

use crate::access::{build_grants, spans_over};
use crate::catalogue::{
    Region, CUSTOMER_NAMES, ENVIRONMENTS, EUR_COUNTRIES, EUR_REGIONS, PARTNER_NAMES, RG_BASES,
    SOURCES, SQL_NAMES, USD_COUNTRIES, USD_REGIONS,
};
use crate::model::{Customer, Partner, Scenario, Subscription, VmVariant, SPECIAL_SCENARIOS};
use crate::options::GenerateOptions;
use crate::resources::{add_extras, site, sql_database, storage_account, vm};
use crate::rng::{Rng, STREAM_CUSTOMER, STREAM_PARTNER};
use chrono::{DateTime, Utc};
use pec_ledger::ids::normalize_resource_id;
use pec_ledger::snapshot::PrincipalType;
use std::collections::BTreeSet;

/// Naming and numbering shared across partners.
pub(crate) struct NameState {
    pub(crate) partner_offset: usize,
    pub(crate) customer_offset: usize,
    pub(crate) next_customer: u64,
    pub(crate) next_special: usize,
    pub(crate) used_mpns: BTreeSet<u64>,
}

impl NameState {
    pub(crate) fn unique_mpn(&mut self, rng: &mut Rng) -> String {
        loop {
            let mpn = rng.mpn();
            if self.used_mpns.insert(mpn) {
                return mpn.to_string();
            }
        }
    }
}

/// Per-partner facts the customer builder needs.
pub(crate) struct PartnerCtx<'a> {
    pub(crate) options: &'a GenerateOptions,
    pub(crate) mpn: &'a str,
    pub(crate) admin_agents: &'a str,
    pub(crate) gdap_group: &'a str,
    pub(crate) lighthouse_principals: &'a [(String, PrincipalType)],
    pub(crate) times: &'a [DateTime<Utc>],
    /// (partner-wide resource ordinal, VM variant) placed whatever the dice say.
    pub(crate) forced: &'a [(u64, VmVariant)],
}

pub(crate) fn build_partner(
    options: &GenerateOptions,
    p: u32,
    times: &[DateTime<Utc>],
    names: &mut NameState,
) -> Partner {
    let mut rng = Rng::derive(options.seed, &[STREAM_PARTNER, u64::from(p)]);
    let id = rng.guid();
    let base = PARTNER_NAMES[(names.partner_offset + p as usize) % PARTNER_NAMES.len()];
    let round = p as usize / PARTNER_NAMES.len();
    let name = if round == 0 {
        base.to_string()
    } else {
        format!("{base} {}", round + 1)
    };
    let mpn = names.unique_mpn(&mut rng);
    let indirect = p % 3 == 1;
    let resellers: Vec<String> = if indirect {
        (0..rng.between(2, 4))
            .map(|_| names.unique_mpn(&mut rng))
            .collect()
    } else {
        Vec::new()
    };
    let admin_agents = rng.guid();
    let gdap_group = rng.guid();
    let lighthouse_principals = vec![
        (rng.guid(), PrincipalType::Group),
        (rng.guid(), PrincipalType::User),
        (rng.guid(), PrincipalType::ServicePrincipal),
    ];
    let source = *rng.pick(SOURCES);

    // One reservation, savings plan, Spot and third-party VM per partner at random places.
    let total = u64::from(options.customers_per_partner)
        * u64::from(options.subscriptions_per_customer)
        * u64::from(options.resources_per_subscription);
    let mut forced: Vec<(u64, VmVariant)> = Vec::new();
    let variants = [
        VmVariant::Reservation,
        VmVariant::SavingsPlan,
        VmVariant::Spot,
        VmVariant::ThirdParty,
    ];
    for variant in variants.into_iter().take(total.min(4) as usize) {
        loop {
            let ordinal = rng.below(total);
            if forced.iter().all(|(o, _)| *o != ordinal) {
                forced.push((ordinal, variant));
                break;
            }
        }
    }

    let ctx = PartnerCtx {
        options,
        mpn: &mpn,
        admin_agents: &admin_agents,
        gdap_group: &gdap_group,
        lighthouse_principals: &lighthouse_principals,
        times,
        forced: &forced,
    };
    let mut customers = Vec::with_capacity(options.customers_per_partner as usize);
    for c in 0..options.customers_per_partner {
        let g = names.next_customer;
        names.next_customer += 1;
        let scenario = if matches!(g % 5, 1 | 3) {
            names.next_special += 1;
            SPECIAL_SCENARIOS[(names.next_special - 1) % SPECIAL_SCENARIOS.len()]
        } else {
            Scenario::Steady
        };
        let mut crng = Rng::derive(options.seed, &[STREAM_CUSTOMER, u64::from(p), u64::from(c)]);
        let tier2 = if resellers.is_empty() {
            String::new()
        } else {
            crng.pick(&resellers).clone()
        };
        let base = CUSTOMER_NAMES[(names.customer_offset + g as usize) % CUSTOMER_NAMES.len()];
        customers.push(build_customer(&ctx, c, g, base, scenario, tier2, &mut crng));
    }
    Partner {
        index: p,
        id,
        name,
        mpn,
        source,
        customers,
    }
}

fn build_customer(
    ctx: &PartnerCtx,
    c: u32,
    g: u64,
    base_name: &str,
    scenario: Scenario,
    tier2_mpn: String,
    rng: &mut Rng,
) -> Customer {
    let options = ctx.options;
    let round = g as usize / CUSTOMER_NAMES.len();
    let name = if round == 0 {
        base_name.to_string()
    } else {
        format!("{base_name} {}", round + 1)
    };
    let slug: String = base_name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_lowercase();
    let domain = if round == 0 {
        format!("{slug}.onmicrosoft.com")
    } else {
        format!("{slug}{}.onmicrosoft.com", round + 1)
    };
    let eur = match g {
        0 => false,
        1 => true,
        _ => rng.chance(25),
    };
    let (currency, country, regions) = if eur {
        ("EUR", *rng.pick(EUR_COUNTRIES), EUR_REGIONS)
    } else {
        ("USD", *rng.pick(USD_COUNTRIES), USD_REGIONS)
    };
    let region = *rng.pick(regions);
    let id = rng.guid();

    let mut subscriptions = Vec::new();
    for s in 0..options.subscriptions_per_customer {
        let first_ordinal = (u64::from(c) * u64::from(options.subscriptions_per_customer)
            + u64::from(s))
            * u64::from(options.resources_per_subscription);
        subscriptions.push(build_subscription(
            ctx,
            s,
            first_ordinal,
            currency,
            region,
            rng,
        ));
    }
    add_extras(ctx, &mut subscriptions, currency, region, rng);

    let mut customer = Customer {
        id,
        name,
        domain,
        country,
        currency,
        region,
        tier2_mpn,
        subscriptions,
        grants: Vec::new(),
        snapshot_gap: None,
    };
    let (grants, snapshot_gap) = build_grants(ctx, &customer, scenario, rng);
    customer.grants = grants;
    customer.snapshot_gap = snapshot_gap;
    // Pre-compute, per resource and subscription, the true eligible access over it.
    for sub in &mut customer.subscriptions {
        sub.spans = spans_over(
            &customer.grants,
            &normalize_resource_id(&format!("/subscriptions/{}", sub.id)),
        );
        for res in &mut sub.resources {
            res.spans = spans_over(&customer.grants, &normalize_resource_id(&res.uri));
        }
    }
    customer
}

fn build_subscription(
    ctx: &PartnerCtx,
    s: u32,
    first_ordinal: u64,
    currency: &'static str,
    region: Region,
    rng: &mut Rng,
) -> Subscription {
    let rps = ctx.options.resources_per_subscription;
    let id = rng.guid();
    let env = ENVIRONMENTS[s as usize % ENVIRONMENTS.len()];
    let rg_count = (rps / 4 + 1).clamp(1, RG_BASES.len() as u32) as usize;
    let resource_groups: Vec<String> = RG_BASES[..rg_count]
        .iter()
        .map(|b| format!("{b}{env}"))
        .collect();
    // Preferred resource group per kind: web sites rg-web, SQL rg-data, VMs rg-app, storage rg-shared.
    let rg_for = |preferred: usize| resource_groups[preferred % rg_count].clone();
    let mut sub = Subscription {
        id: id.clone(),
        resource_groups: resource_groups.clone(),
        sql_servers: Vec::new(),
        resources: Vec::new(),
        extras: Vec::new(),
        spans: Vec::new(),
    };
    // An open SQL server: (rg, server id, databases still to add).
    let mut open_server: Option<(String, String, u32)> = None;
    for r in 0..rps {
        let ordinal = first_ordinal + u64::from(r);
        let name_no = r + 1;
        if let Some(&(_, variant)) = ctx.forced.iter().find(|(o, _)| *o == ordinal) {
            let rg = rg_for(2);
            sub.resources
                .push(vm(&id, &rg, name_no, variant, currency, region, rng));
            continue;
        }
        if let Some((rg, server, left)) = open_server.as_mut() {
            if *left > 0 {
                *left -= 1;
                let db = sql_database(server, rg, name_no, currency, region, rng);
                sub.resources.push(db);
                continue;
            }
        }
        let roll = rng.below(100);
        let resource = if roll < 35 {
            let variant = match rng.below(100) {
                0..=7 => VmVariant::Reservation,
                8..=13 => VmVariant::SavingsPlan,
                14..=19 => VmVariant::Spot,
                20..=25 => VmVariant::ThirdParty,
                _ => VmVariant::Standard,
            };
            vm(&id, &rg_for(2), name_no, variant, currency, region, rng)
        } else if roll < 60 {
            site(&id, &rg_for(0), name_no, currency, region, rng)
        } else if roll < 80 {
            let rg = rg_for(1);
            let server = format!(
                "/subscriptions/{id}/resourceGroups/{rg}/providers/Microsoft.Sql/servers/sql-{}-{name_no:02}",
                rng.pick(SQL_NAMES)
            );
            sub.sql_servers.push(server.clone());
            let db = sql_database(&server, &rg, name_no, currency, region, rng);
            open_server = Some((rg, server, rng.between(0, 2) as u32));
            db
        } else {
            storage_account(&id, &rg_for(3), name_no, currency, region, rng)
        };
        sub.resources.push(resource);
    }
    sub
}
