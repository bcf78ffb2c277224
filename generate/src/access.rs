//! Access: the role assignments that really existed, by scenario, and the spans of eligible
//! access they give a resource or subscription.

use crate::catalogue::{CONTRIBUTOR, OWNER, READER};
use crate::model::{Customer, Gap, Grant, Scenario, Span, Subscription};
use crate::partners::PartnerCtx;
use crate::rng::Rng;
use crate::time::day_start;
use chrono::{DateTime, Duration, Utc};
use pec_ledger::ids::{normalize_resource_id, scope_covers};
use pec_ledger::snapshot::{AccessType, Assignment, AssignmentType, PrincipalType};

/// An assignment to create: who holds which role where, and when it truly existed.
struct Access<'a> {
    scope: String,
    role: (&'static str, &'static str),
    principal: (&'a str, PrincipalType),
    access_type: AccessType,
    pal: Option<String>,
    assignment_type: AssignmentType,
    created_on: Option<DateTime<Utc>>,
    /// Held since; `MIN_UTC` = since long before the period.
    from: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
}

impl<'a> Access<'a> {
    /// Permanent, without Partner Admin Link or `createdOn`, held since long before the period.
    fn new(
        scope: impl Into<String>,
        role: (&'static str, &'static str),
        principal: (&'a str, PrincipalType),
        access_type: AccessType,
    ) -> Self {
        Access {
            scope: scope.into(),
            role,
            principal,
            access_type,
            pal: None,
            assignment_type: AssignmentType::Permanent,
            created_on: None,
            from: DateTime::<Utc>::MIN_UTC,
            until: None,
        }
    }

    fn pal(mut self, pal: Option<String>) -> Self {
        self.pal = pal;
        self
    }

    fn kind(mut self, assignment_type: AssignmentType) -> Self {
        self.assignment_type = assignment_type;
        self
    }

    /// Created (and held from) `at`, which the snapshots report as `createdOn`.
    fn created(mut self, at: DateTime<Utc>) -> Self {
        self.created_on = Some(at);
        self.from = at;
        self
    }

    /// Deleted at `at`.
    fn until(mut self, at: DateTime<Utc>) -> Self {
        self.until = Some(at);
        self
    }
}

/// Turns [`Access`] into grants for one customer, knowing which MPNs a link must name.
struct GrantMaker<'a> {
    mpn: &'a str,
    tier2: &'a str,
}

impl GrantMaker<'_> {
    fn grant(&self, rng: &mut Rng, access: Access) -> Grant {
        let pal_matches = access
            .pal
            .as_deref()
            .is_some_and(|p| p == self.mpn || (!self.tier2.is_empty() && p == self.tier2));
        let earns = matches!(access.role.0, "Owner" | "Contributor")
            && access.assignment_type == AssignmentType::Permanent
            && (access.access_type == AccessType::Aobo || pal_matches);
        let id = format!(
            "{}/providers/Microsoft.Authorization/roleAssignments/{}",
            access.scope,
            rng.guid()
        );
        Grant {
            scope_key: normalize_resource_id(&access.scope),
            assignment: Assignment {
                id,
                scope: access.scope,
                role_definition_id: access.role.1.to_string(),
                role_name: access.role.0.to_string(),
                principal_id: access.principal.0.to_string(),
                principal_type: access.principal.1,
                access_type: access.access_type,
                partner_admin_link_mpn_id: access.pal,
                assignment_type: access.assignment_type,
                created_on: access.created_on,
            },
            from: access.from,
            until: access.until,
            earns,
        }
    }

    /// The reseller's MPN most of the time when there is a reseller, else the partner's.
    fn pal(&self, rng: &mut Rng) -> Option<String> {
        if !self.tier2.is_empty() && rng.chance(70) {
            Some(self.tier2.to_string())
        } else {
            Some(self.mpn.to_string())
        }
    }
}

/// A random second-precision instant `lo_hours..hi_hours` after `base`.
fn instant(rng: &mut Rng, base: DateTime<Utc>, lo_hours: i64, hi_hours: i64) -> DateTime<Utc> {
    base + Duration::seconds(rng.between(lo_hours * 3600, hi_hours * 3600))
}

/// The customer's true assignments for its scenario, and the snapshot gap if it has one.
pub(crate) fn build_grants(
    ctx: &PartnerCtx,
    customer: &Customer,
    scenario: Scenario,
    rng: &mut Rng,
) -> (Vec<Grant>, Option<Gap>) {
    use AccessType::{Aobo, Gdap, Lighthouse};
    use AssignmentType::{Activated, Eligible};
    let options = ctx.options;
    let t0 = day_start(options.start);
    let days = i64::from(options.days.max(1));
    let make = GrantMaker {
        mpn: ctx.mpn,
        tier2: &customer.tier2_mpn,
    };
    let aobo = (ctx.admin_agents, PrincipalType::ForeignGroup);
    let gdap = (ctx.gdap_group, PrincipalType::ForeignGroup);
    let lighthouse = |i: usize| {
        (
            ctx.lighthouse_principals[i].0.as_str(),
            ctx.lighthouse_principals[i].1,
        )
    };
    // Some time in the 900 to 30 days before the period.
    let long_ago = |rng: &mut Rng| instant(rng, t0 - Duration::days(900), 0, 870 * 24);
    let sub_scope = |s: &Subscription| format!("/subscriptions/{}", s.id);
    let rg_scope = |s: &Subscription| {
        format!(
            "/subscriptions/{}/resourceGroups/{}",
            s.id, s.resource_groups[0]
        )
    };
    let mut grants = Vec::new();
    let mut snapshot_gap = None;

    match scenario {
        Scenario::Steady => {
            for sub in &customer.subscriptions {
                let created = long_ago(rng);
                grants.push(make.grant(
                    rng,
                    Access::new(sub_scope(sub), OWNER, aobo, Aobo).created(created),
                ));
            }
            if let Some(sub) = customer.subscriptions.first() {
                if rng.chance(30) {
                    let pal = Some(ctx.mpn.to_string());
                    let access = Access::new(rg_scope(sub), OWNER, gdap, Gdap)
                        .pal(pal)
                        .kind(Eligible);
                    grants.push(make.grant(rng, access));
                }
                if rng.chance(20) {
                    let pal = make.pal(rng);
                    grants.push(make.grant(
                        rng,
                        Access::new(sub_scope(sub), READER, lighthouse(1), Lighthouse).pal(pal),
                    ));
                }
            }
        }
        Scenario::RemovedAndRestored => {
            // Removed on a day that leaves room to see the restore when the period allows.
            let day = t0 + Duration::days(rng.below((days - 2).max(1) as u64) as i64);
            let removed = instant(rng, day, 6, 18);
            let restored = instant(rng, removed, 24, 60);
            for sub in &customer.subscriptions {
                let created = long_ago(rng);
                let before = Access::new(sub_scope(sub), OWNER, aobo, Aobo)
                    .created(created)
                    .until(removed);
                grants.push(make.grant(rng, before));
                grants.push(make.grant(
                    rng,
                    Access::new(sub_scope(sub), OWNER, aobo, Aobo).created(restored),
                ));
            }
        }
        Scenario::ReaderOnly => {
            for sub in &customer.subscriptions {
                let created = long_ago(rng);
                grants.push(make.grant(
                    rng,
                    Access::new(sub_scope(sub), READER, aobo, Aobo).created(created),
                ));
            }
        }
        Scenario::PimOnly => {
            for (i, sub) in customer.subscriptions.iter().enumerate() {
                let (created, pal) = (long_ago(rng), make.pal(rng));
                let access = Access::new(sub_scope(sub), OWNER, gdap, Gdap)
                    .pal(pal)
                    .kind(Eligible)
                    .created(created);
                grants.push(make.grant(rng, access));
                if i > 0 {
                    continue;
                }
                // Just-in-time activations of about eight hours on some days.
                for d in 0..days {
                    if rng.chance(50) {
                        let (on, pal) =
                            (instant(rng, t0 + Duration::days(d), 7, 12), make.pal(rng));
                        let access = Access::new(sub_scope(sub), OWNER, gdap, Gdap)
                            .pal(pal)
                            .kind(Activated);
                        grants.push(
                            make.grant(rng, access.created(on).until(on + Duration::hours(8))),
                        );
                    }
                }
            }
        }
        Scenario::LighthousePal | Scenario::LighthouseNoPal => {
            for sub in &customer.subscriptions {
                let principal =
                    lighthouse(rng.below(ctx.lighthouse_principals.len() as u64) as usize);
                let pal = if scenario == Scenario::LighthousePal {
                    make.pal(rng)
                } else if rng.chance(40) {
                    // Linked to some other partner: does not match.
                    Some(rng.between(1_000_000, 1_099_999).to_string())
                } else {
                    None
                };
                grants.push(make.grant(
                    rng,
                    Access::new(sub_scope(sub), CONTRIBUTOR, principal, Lighthouse).pal(pal),
                ));
                if rng.chance(50) {
                    // A monitoring tool's read access alongside.
                    let pal = Some(ctx.mpn.to_string());
                    grants.push(make.grant(
                        rng,
                        Access::new(sub_scope(sub), READER, lighthouse(2), Lighthouse).pal(pal),
                    ));
                }
            }
        }
        Scenario::GdapReseller => {
            let pal = if customer.tier2_mpn.is_empty() {
                ctx.mpn
            } else {
                customer.tier2_mpn.as_str()
            };
            for sub in &customer.subscriptions {
                let created = long_ago(rng);
                let access =
                    Access::new(sub_scope(sub), CONTRIBUTOR, gdap, Gdap).pal(Some(pal.to_string()));
                grants.push(make.grant(rng, access.created(created)));
            }
        }
        Scenario::Scoped => {
            for sub in &customer.subscriptions {
                let created = long_ago(rng);
                grants.push(make.grant(
                    rng,
                    Access::new(rg_scope(sub), CONTRIBUTOR, aobo, Aobo).created(created),
                ));
                // A SQL server (covering its databases), else a resource outside that group.
                let target = sub
                    .sql_servers
                    .first()
                    .or_else(|| {
                        sub.resources
                            .iter()
                            .find(|r| r.resource_group != sub.resource_groups[0])
                            .map(|r| &r.uri)
                    })
                    .or_else(|| sub.resources.first().map(|r| &r.uri));
                if let Some(scope) = target {
                    grants.push(make.grant(rng, Access::new(scope.as_str(), OWNER, aobo, Aobo)));
                }
            }
        }
        Scenario::SnapshotGap => {
            for sub in &customer.subscriptions {
                grants.push(make.grant(rng, Access::new(sub_scope(sub), OWNER, aobo, Aobo)));
            }
            // Skip every snapshot for 26–36 h after a retained one, keeping the last.
            if let Some(&last) = ctx.times.last() {
                let candidates: Vec<DateTime<Utc>> = ctx
                    .times
                    .iter()
                    .copied()
                    .filter(|&t| t + Duration::hours(26) < last)
                    .collect();
                if !candidates.is_empty() {
                    let from = *rng.pick(&candidates);
                    let to = instant(rng, from, 26, 36).min(last - Duration::seconds(1));
                    snapshot_gap = Some((from, to));
                }
            }
        }
    }
    (grants, snapshot_gap)
}

pub(crate) fn spans_over(grants: &[Grant], key: &str) -> Vec<Span> {
    let mut spans: Vec<Span> = grants
        .iter()
        .filter(|g| g.earns && scope_covers(&g.scope_key, key))
        .map(|g| (g.from, g.until))
        .collect();
    spans.sort();
    spans
}

/// Whether `spans` (sorted by start) cover `[from, to]`.
pub(crate) fn spans_cover(spans: &[Span], from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
    let mut reached = from;
    for &(start, until) in spans {
        if start > reached {
            return false;
        }
        match until {
            None => return true,
            Some(u) if u > reached => reached = u,
            Some(_) => {}
        }
        if reached >= to {
            return true;
        }
    }
    false
}
