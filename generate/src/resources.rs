//! Billed resources and their meters: virtual machines, App Service sites, SQL databases,
//! storage accounts, and the lines without a resource (support, reservation purchases).

use crate::amounts::{div_round, local_price, micro_text, MICRO};
use crate::catalogue::{
    Product, Region, APP_SERVICE_PLANS, AZURE_PLAN, DB_NAMES, MARKETPLACE, RESERVED_VM, SITE_NAMES,
    TAGS, VM_ROLES, VM_SIZES,
};
use crate::model::{Benefit, Meter, Quantity, Resource, Subscription, VmVariant};
use crate::partners::PartnerCtx;
use crate::rng::{stable_guid, Rng};

#[allow(clippy::too_many_arguments)]
fn meter(
    product: Product,
    category: &'static str,
    sub_category: &str,
    name: &str,
    region: Region,
    unit: &'static str,
    consumed_service: &'static str,
    unit_price: i64,
    quantity: Quantity,
) -> Meter {
    Meter {
        product,
        meter_type: unit_meter_type(unit),
        category,
        sub_category: sub_category.to_string(),
        name: name.to_string(),
        id: stable_guid(&format!("{category}|{sub_category}|{name}|{}", region.1)),
        unit,
        consumed_service,
        charge_type: "new",
        unit_price,
        unit_price_text: micro_text(unit_price),
        quantity,
        benefit: Benefit::None,
        earns: product.publisher_name == "Microsoft",
        only_day: None,
    }
}

fn unit_meter_type(unit: &str) -> &'static str {
    match unit {
        "1 Hour" => "1 Compute Hour",
        "1 GB" => "1 GB",
        "1 GB/Month" => "1 GB/Month",
        "10K" => "10K Operations",
        _ => "1/Month",
    }
}

fn bandwidth(region: Region, currency: &str, service: &'static str) -> Meter {
    meter(
        AZURE_PLAN,
        "Bandwidth",
        "Rtn Preference: MGN",
        "Standard Data Transfer Out",
        region,
        "1 GB",
        service,
        local_price(87_000, currency),
        Quantity::Range {
            lo: 10_000,
            hi: 60 * MICRO,
        },
    )
}

pub(crate) fn vm(
    sub: &str,
    rg: &str,
    no: u32,
    variant: VmVariant,
    currency: &str,
    region: Region,
    rng: &mut Rng,
) -> Resource {
    let role = rng.pick(VM_ROLES);
    let uri = format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/vm-{role}-{no:02}");
    let &(size, series, service_type, vcpus, usd) = rng.pick(VM_SIZES);
    let spot = variant == VmVariant::Spot;
    let (name, price) = if spot {
        (format!("{size} Spot"), usd / 5)
    } else {
        (size.to_string(), usd)
    };
    let short = if spot { 30 } else { 10 };
    let mut compute = meter(
        AZURE_PLAN,
        "Virtual Machines",
        series,
        &name,
        region,
        "1 Hour",
        "Microsoft.Compute",
        local_price(price, currency),
        Quantity::Hours {
            full: 24 * MICRO,
            short_percent: short,
        },
    );
    compute.earns = !spot;
    match variant {
        VmVariant::Reservation => {
            compute.benefit = Benefit::Reservation {
                order_id: rng.guid(),
                benefit_id: rng.guid(),
            };
            compute.earns = false;
        }
        VmVariant::SavingsPlan => {
            compute.benefit = Benefit::SavingsPlan {
                order_id: rng.guid(),
                benefit_id: rng.guid(),
            };
            compute.earns = false;
        }
        _ => {}
    }
    let mut meters = vec![compute];
    if variant == VmVariant::ThirdParty {
        let &(product, usd_hour) = rng.pick(MARKETPLACE);
        meters.push(meter(
            product,
            "Virtual Machine Licenses",
            product.product_name,
            product.sku_name,
            region,
            "1 Hour",
            "Microsoft.Compute",
            local_price(usd_hour * i64::from(vcpus) / 2, currency),
            Quantity::Hours {
                full: 24 * MICRO,
                short_percent: 10,
            },
        ));
    } else if rng.chance(50) {
        meters.push(bandwidth(region, currency, "Microsoft.Compute"));
    }
    Resource {
        uri,
        resource_group: rg.to_string(),
        tags: rng.pick_copy(TAGS),
        additional_info: format!(r#"{{"ServiceType":"{service_type}","VCPUs":{vcpus}}}"#),
        meters,
        spans: Vec::new(),
    }
}

pub(crate) fn site(
    sub: &str,
    rg: &str,
    no: u32,
    currency: &str,
    region: Region,
    rng: &mut Rng,
) -> Resource {
    let uri = format!(
        "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Web/sites/app-{}-{no:02}",
        rng.pick(SITE_NAMES)
    );
    let &(plan, usd) = rng.pick(APP_SERVICE_PLANS);
    let instances = rng.between(1, 3);
    let mut meters = vec![meter(
        AZURE_PLAN,
        "Azure App Service",
        "Premium v3 Plan",
        plan,
        region,
        "1 Hour",
        "Microsoft.Web",
        local_price(usd, currency),
        Quantity::Hours {
            full: instances * 24 * MICRO,
            short_percent: 0,
        },
    )];
    if rng.chance(40) {
        meters.push(bandwidth(region, currency, "Microsoft.Web"));
    }
    Resource {
        uri,
        resource_group: rg.to_string(),
        tags: rng.pick_copy(TAGS),
        additional_info: String::new(),
        meters,
        spans: Vec::new(),
    }
}

pub(crate) fn sql_database(
    server: &str,
    rg: &str,
    no: u32,
    currency: &str,
    region: Region,
    rng: &mut Rng,
) -> Resource {
    let uri = format!("{server}/databases/{}-{no:02}", rng.pick(DB_NAMES));
    let vcores = *rng.pick(&[2, 4, 8]);
    let mut meters = vec![meter(
        AZURE_PLAN,
        "SQL Database",
        "General Purpose - Compute Gen5",
        "vCore",
        region,
        "1 Hour",
        "Microsoft.Sql",
        local_price(252_200, currency),
        Quantity::Hours {
            full: vcores * 24 * MICRO,
            short_percent: 0,
        },
    )];
    if rng.chance(70) {
        meters.push(meter(
            AZURE_PLAN,
            "SQL Database",
            "General Purpose - Storage",
            "Data Stored",
            region,
            "1 GB/Month",
            "Microsoft.Sql",
            local_price(115_000, currency),
            Quantity::PerMonth {
                amount: rng.between(32, 1024) * MICRO,
            },
        ));
    }
    Resource {
        uri,
        resource_group: rg.to_string(),
        tags: rng.pick_copy(TAGS),
        additional_info: String::new(),
        meters,
        spans: Vec::new(),
    }
}

pub(crate) fn storage_account(
    sub: &str,
    rg: &str,
    no: u32,
    currency: &str,
    region: Region,
    rng: &mut Rng,
) -> Resource {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let suffix: String = (0..8).map(|_| char::from(*rng.pick(ALPHABET))).collect();
    let uri =
        format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/st{suffix}{no:02}");
    let mut meters = vec![meter(
        AZURE_PLAN,
        "Storage",
        "Tiered Block Blob",
        "Hot LRS Data Stored",
        region,
        "1 GB/Month",
        "Microsoft.Storage",
        local_price(18_400, currency),
        Quantity::PerMonth {
            amount: rng.between(20, 8000) * MICRO,
        },
    )];
    if rng.chance(60) {
        meters.push(meter(
            AZURE_PLAN,
            "Storage",
            "Tiered Block Blob",
            "Hot LRS Write Operations",
            region,
            "10K",
            "Microsoft.Storage",
            local_price(55_000, currency),
            Quantity::Range {
                lo: 50_000,
                hi: 80 * MICRO,
            },
        ));
    }
    Resource {
        uri,
        resource_group: rg.to_string(),
        tags: rng.pick_copy(TAGS),
        additional_info: String::new(),
        meters,
        spans: Vec::new(),
    }
}

/// Lines without a resource: a daily support charge on the first subscription of some
/// customers; a reservation `purchase` on the first day and a `refund` on the last day (when
/// there are two days or more) where a VM runs on a reservation.
pub(crate) fn add_extras(
    ctx: &PartnerCtx,
    subs: &mut [Subscription],
    currency: &str,
    region: Region,
    rng: &mut Rng,
) {
    let days = ctx.options.days;
    let support = rng.chance(35);
    if let Some(first) = subs.first_mut() {
        if support || first.resources.is_empty() {
            first.extras.push(meter(
                AZURE_PLAN,
                "Support",
                "Developer Support",
                "Developer Support",
                region,
                "1/Month",
                "",
                local_price(29 * MICRO, currency),
                Quantity::MonthShare,
            ));
        }
    }
    for sub in subs.iter_mut() {
        let reserved: Vec<(String, i64)> = sub
            .resources
            .iter()
            .flat_map(|r| &r.meters)
            .filter(|m| matches!(m.benefit, Benefit::Reservation { .. }))
            .map(|m| (m.name.clone(), m.unit_price))
            .collect();
        let Some((size, hourly)) = reserved.first().cloned() else {
            continue;
        };
        // A one-year reservation billed monthly: 730 hours at about 60 % of the hourly price.
        let monthly = div_round(i128::from(hourly) * 730 * 60, 100);
        let make = |charge_type: &'static str, quantity: i64, day: u32, order_id: String| {
            let mut line = meter(
                RESERVED_VM,
                "Virtual Machines",
                "Reservation-Base VM",
                &format!("{size} Reservation"),
                region,
                "1/Month",
                "Microsoft.Capacity",
                monthly,
                Quantity::Fixed(quantity),
            );
            line.charge_type = charge_type;
            line.earns = false;
            line.only_day = Some(day);
            line.benefit = Benefit::Reservation {
                order_id,
                benefit_id: String::new(),
            };
            line
        };
        if days >= 1 {
            let order = rng.guid();
            sub.extras.push(make("purchase", MICRO, 0, order));
        }
        if days >= 2 {
            let order = rng.guid();
            sub.extras.push(make("refund", -MICRO, days - 1, order));
        }
    }
}
