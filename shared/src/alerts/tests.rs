//! The worked example, figure for figure, and the rules around it.

use super::*;
use crate::ingest::UsageGroups;
use crate::snapshot::parse_snapshot;
use crate::usage::read_usage_file;

const PARTNER: &str = "7a3c0000-0000-4000-8000-000000000001";
const SITE: &str = "/subscriptions/23b8c1e9-3924-46de-beb1-3b9046685257/resourcegroups/rg-web/providers/microsoft.web/sites/shop";
const DATABASE: &str = "/subscriptions/23b8c1e9-3924-46de-beb1-3b9046685257/resourcegroups/rg-data/providers/microsoft.sql/servers/sql1/databases/orders";

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn example_usage(config: &Config) -> Vec<UsageAggregate> {
    let file = include_bytes!("../../../fixtures/examples/daily-rated-usage.csv");
    let mut groups = UsageGroups::default();
    read_usage_file(&file[..], PARTNER, |line| {
        groups.add(line, config);
        Ok::<_, ()>(())
    })
    .unwrap();
    groups.drain_sorted()
}

fn example_snapshots() -> Vec<Snapshot> {
    let files: [&[u8]; 5] = [
        include_bytes!("../../../fixtures/examples/snapshot-0.json"),
        include_bytes!("../../../fixtures/examples/snapshot-1.json"),
        include_bytes!("../../../fixtures/examples/snapshot-2.json"),
        include_bytes!("../../../fixtures/examples/snapshot-3.json"),
        include_bytes!("../../../fixtures/examples/snapshot-4.json"),
    ];
    let now = t("2030-01-01T00:00:00Z");
    files
        .iter()
        .map(|f| parse_snapshot(f, now).unwrap())
        .collect()
}

/// `snapshot-4` without its subscription-wide AOBO Owner assignment, taken an hour later.
fn snapshot_5(four: &Snapshot) -> Snapshot {
    let mut five = four.clone();
    five.snapshot_id = "5a5a5a5a-0000-4000-8000-000000000005".into();
    five.taken_at = t("2026-09-03T06:05:00Z");
    five.assignments
        .retain(|a| !(a.role_name == "Owner" && a.scope.to_lowercase().ends_with("3b9046685257")));
    assert_eq!(five.assignments.len(), four.assignments.len() - 1);
    five
}

/// Plays snapshots in order, as the store would keep the watch.
fn play(snapshots: &[Snapshot], usage: &[UsageAggregate], config: &Config) -> Vec<Observed> {
    let roles = config.role_table();
    let mut watch = Watch::default();
    let mut previous: Option<&Snapshot> = None;
    let mut out = Vec::new();
    for s in snapshots {
        let o = observe(
            &Seen {
                snapshot: s,
                previous,
                usage,
                watch: &watch,
                now: s.taken_at + Duration::minutes(1),
            },
            config,
            &roles,
        );
        watch = o.watch.clone();
        if watch.newest == Some(SnapshotPosition::of(s)) {
            previous = Some(s);
        }
        out.push(o);
    }
    out
}

#[test]
fn the_worked_example_opens_one_alert_worth_4_66848_a_day() {
    let config = Config::default();
    let usage = example_usage(&config);
    let mut snapshots = example_snapshots();
    let five = snapshot_5(&snapshots[4]);
    snapshots.push(five.clone());
    let observed = play(&snapshots, &usage, &config);
    for (i, o) in observed[..5].iter().enumerate() {
        assert!(
            o.events.is_empty(),
            "snapshot-{i} opens nothing: {:?}",
            o.events
        );
        assert_eq!(o.watch.open, None);
    }
    let events = &observed[5].events;
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert_eq!(e.event_type, EventType::AccessLost);
    let a = &e.alert;
    assert_eq!(a.status, AlertStatus::Open);
    assert_eq!(a.snapshot_id, five.snapshot_id);
    assert_eq!(a.taken_at, t("2026-09-03T06:05:00Z"));
    assert_eq!(a.detected_at, t("2026-09-03T06:06:00Z"));
    let resources: Vec<(&str, LossReason)> = a
        .resources
        .iter()
        .map(|r| (r.resource_id.as_str(), r.reason))
        .collect();
    // The database keeps an Owner assignment that is only PIM-eligible; the site keeps nothing.
    assert_eq!(
        resources,
        vec![
            (DATABASE, LossReason::NotPermanent),
            (SITE, LossReason::NoAccess)
        ]
    );
    for r in &a.resources {
        assert_eq!(r.last_covered_at, t("2026-09-03T00:05:00Z"));
        assert_eq!(r.lost_at, t("2026-09-03T06:05:00Z"));
        assert_eq!(r.mpn_id, "4100001");
    }
    // 15 % × (2 × (6.912 + 24.2112)) / 2.
    assert_eq!(
        a.credit_at_stake_per_day,
        BTreeMap::from([("USD".to_string(), "4.66848".to_string())])
    );
    assert_eq!(observed[5].watch.open.as_ref(), Some(a));
}

#[test]
fn a_covering_snapshot_restores_and_counts_the_days_lost() {
    let config = Config::default();
    let roles = config.role_table();
    let usage = example_usage(&config);
    let mut snapshots = example_snapshots();
    let five = snapshot_5(&snapshots[4]);
    // Two days later the Owner assignment is back.
    let mut six = snapshots[4].clone();
    six.snapshot_id = "6a6a6a6a-0000-4000-8000-000000000006".into();
    six.taken_at = t("2026-09-05T09:00:00Z");
    snapshots.push(five);
    snapshots.push(six.clone());
    let observed = play(&snapshots, &usage, &config);
    let events = &observed[6].events;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].event_type, EventType::AccessRestored);
    let closed = &events[0].alert;
    assert_eq!(closed.status, AlertStatus::Restored);
    assert_eq!(closed.restored_at, Some(six.taken_at));
    assert_eq!(
        closed.restored_by_snapshot_id.as_deref(),
        Some(six.snapshot_id.as_str())
    );
    assert_eq!(observed[6].watch.open, None);
    assert_ne!(events[0].event_id, observed[5].events[0].event_id);

    // The example's usage is on 1–2 September only: no resource-day of 3–5 September is lost.
    let days = resource_days_lost(closed, &snapshots[..6], &six, &usage, &config, &roles);
    assert!(days.is_empty(), "{days:?}");
    // Usage on 3–6 September too.
    let mut later = usage.clone();
    for u in &usage {
        if u.key.usage_date == NaiveDate::from_ymd_opt(2026, 9, 2).unwrap() {
            for d in 3..=6 {
                let mut v = u.clone();
                v.key.usage_date = NaiveDate::from_ymd_opt(2026, 9, d).unwrap();
                later.push(v);
            }
        }
    }
    // The same assignment (id and createdOn) came back: SPEC 3.3 holds it all along, and
    // settlement will find nothing lost.
    let days = resource_days_lost(closed, &snapshots[..6], &six, &later, &config, &roles);
    assert!(days.is_empty(), "{days:?}");
    // A new assignment granted at 08:50 on 5 September: the database and the site lose 3, 4
    // and 5 September (the 5th in part), and keep the 6th.
    let mut regranted = six.clone();
    for a in &mut regranted.assignments {
        if a.role_name == "Owner" && a.assignment_type == crate::snapshot::AssignmentType::Permanent
        {
            a.id.push_str("-new");
            a.created_on = Some(t("2026-09-05T08:50:00Z"));
        }
    }
    let days = resource_days_lost(closed, &snapshots[..6], &regranted, &later, &config, &roles);
    let mut expected = Vec::new();
    for id in [DATABASE, SITE] {
        for d in 3..=5 {
            expected.push(ResourceDay {
                resource_id: id.to_string(),
                usage_date: NaiveDate::from_ymd_opt(2026, 9, d).unwrap(),
            });
        }
    }
    expected.sort();
    assert_eq!(days, expected);
}

#[test]
fn late_and_repeated_snapshots_change_nothing_and_losses_add_to_the_open_alert() {
    let config = Config::default();
    let roles = config.role_table();
    let usage = example_usage(&config);
    let snapshots = example_snapshots();
    let five = snapshot_5(&snapshots[4]);
    let observed = play(
        &[snapshots[3].clone(), snapshots[4].clone(), five.clone()],
        &usage,
        &config,
    );
    let watch = observed[2].watch.clone();
    // snapshot-2, older than the newest, arrives late: nothing changes.
    for late in [&snapshots[2], &five] {
        let o = observe(
            &Seen {
                snapshot: late,
                previous: Some(&five),
                usage: &usage,
                watch: &watch,
                now: t("2026-09-03T07:00:00Z"),
            },
            &config,
            &roles,
        );
        assert!(o.events.is_empty());
        assert_eq!(o.watch, watch);
    }
    // Only the site lost at first (the database's resource group keeps a Lighthouse
    // Contributor with its Partner Admin Link in snapshot-1); then the database goes too: it is
    // added to the open alert, which stays the customer's only one.
    let one = &snapshots[1];
    let mut site_only = one.clone();
    site_only.snapshot_id = "77777777-0000-4000-8000-000000000007".into();
    site_only.taken_at = t("2026-09-01T13:00:00Z");
    site_only.assignments.retain(|a| {
        !(a.role_name == "Owner" && a.assignment_type == crate::snapshot::AssignmentType::Permanent)
    });
    let mut nothing = site_only.clone();
    nothing.snapshot_id = "88888888-0000-4000-8000-000000000008".into();
    nothing.taken_at = t("2026-09-01T14:00:00Z");
    nothing.assignments.clear();
    let observed = play(&[one.clone(), site_only, nothing], &usage, &config);
    let first = &observed[1].events[0].alert;
    assert_eq!(
        first
            .resources
            .iter()
            .map(|r| r.resource_id.as_str())
            .collect::<Vec<_>>(),
        vec![SITE]
    );
    // 15 % × 6.912 × 2 / 2 (the window of 1 September has usage on that date only: 1 day).
    assert_eq!(first.credit_at_stake_per_day["USD"], "1.0368");
    let second = &observed[2].events;
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].event_type, EventType::AccessLost);
    assert_eq!(second[0].alert.alert_id, first.alert_id);
    assert_eq!(
        second[0]
            .alert
            .resources
            .iter()
            .map(|r| (r.resource_id.as_str(), r.reason))
            .collect::<Vec<_>>(),
        vec![
            (SITE, LossReason::NoAccess),
            (DATABASE, LossReason::NoAccess)
        ]
    );
    // 15 % × (6.912 + 24.2112) on the one date with usage.
    assert_eq!(second[0].alert.credit_at_stake_per_day["USD"], "4.66848");
}

#[test]
fn an_older_snapshot_with_the_same_time_orders_by_id() {
    let a = SnapshotPosition {
        taken_at: t("2026-09-01T00:00:00Z"),
        snapshot_id: "a".into(),
    };
    let b = SnapshotPosition {
        taken_at: t("2026-09-01T00:00:00Z"),
        snapshot_id: "b".into(),
    };
    assert!(a < b);
    assert!(
        b < SnapshotPosition {
            taken_at: t("2026-09-01T00:00:01Z"),
            snapshot_id: "0".into()
        }
    );
}
