//! The catalogue: partner and customer names, countries, regions, products, VM sizes, App
//! Service plans, resource names and the role definitions.

pub(crate) const PARTNER_NAMES: &[&str] = &[
    "Northwind Cloud Partner",
    "Contoso Cloud Services",
    "Fabrikam Managed IT",
    "Adventure Works Consulting",
    "Tailspin Technologies",
    "Litware Solutions",
    "Proseware Systems",
    "Wide World IT Services",
];

pub(crate) const CUSTOMER_NAMES: &[&str] = &[
    "Alpine Ski House",
    "Coho Winery",
    "Woodgrove Bank",
    "Trey Research",
    "Lucerne Publishing",
    "Margie's Travel",
    "Blue Yonder Airlines",
    "Humongous Insurance",
    "Graphic Design Institute",
    "Relecloud",
    "VanArsdel",
    "Wingtip Toys",
    "Southridge Video",
    "Fourth Coffee",
    "A. Datum Corporation",
    "Bellows College",
    "First Up Consultants",
    "Lamna Healthcare",
    "Munson's Pickle Jar",
    "Nod Publishers",
    "Olympia Sports",
    "Consolidated Messenger",
    "City Power & Light",
    "Contoso, Ltd.",
];

pub(crate) const USD_COUNTRIES: &[&str] = &["US", "US", "US", "CA", "SE", "NO", "CH", "AU", "SG"];
pub(crate) const EUR_COUNTRIES: &[&str] = &["DE", "FR", "NL", "IE", "FI", "AT", "ES", "IT", "BE"];

/// (ResourceLocation, MeterRegion)
pub(crate) type Region = (&'static str, &'static str);
pub(crate) const USD_REGIONS: &[Region] = &[
    ("eastus", "US East"),
    ("eastus2", "US East 2"),
    ("westus2", "US West 2"),
    ("centralus", "US Central"),
    ("swedencentral", "SE Central"),
];
pub(crate) const EUR_REGIONS: &[Region] = &[
    ("westeurope", "EU West"),
    ("northeurope", "EU North"),
    ("germanywestcentral", "DE West Central"),
    ("francecentral", "FR Central"),
];

pub(crate) const SOURCES: &[&str] = &[
    "Lighthouse Access Inventory 2.4",
    "CSP Access Sync 1.9",
    "partner-access-exporter/0.7",
];

pub(crate) const TAGS: &[&str] = &[
    "",
    "",
    r#"{"env":"prod"}"#,
    r#"{"env":"dev","owner":"data-team"}"#,
    r#"{"costCenter":"CC-1042","env":"prod"}"#,
];

/// The product columns of a line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Product {
    pub(crate) product_id: &'static str,
    pub(crate) sku_id: &'static str,
    pub(crate) availability_id: &'static str,
    pub(crate) sku_name: &'static str,
    pub(crate) product_name: &'static str,
    pub(crate) publisher_name: &'static str,
    pub(crate) publisher_id: &'static str,
}

pub(crate) const AZURE_PLAN: Product = Product {
    product_id: "DZH318Z0BQPS",
    sku_id: "0001",
    availability_id: "DZH318Z0BQ3Q",
    sku_name: "Azure plan",
    product_name: "Azure plan",
    publisher_name: "Microsoft",
    publisher_id: "",
};

pub(crate) const RESERVED_VM: Product = Product {
    product_id: "DZH318Z0BQ5F",
    sku_id: "02RV",
    availability_id: "DZH318Z0BQ6K",
    sku_name: "Reserved VM Instance, 1 Year",
    product_name: "Reserved VM Instances",
    publisher_name: "Microsoft",
    publisher_id: "",
};

/// Marketplace software billed per VM hour, with the USD price per hour.
pub(crate) const MARKETPLACE: &[(Product, i64)] = &[
    (
        Product {
            product_id: "DZH318Z0BNVX",
            sku_id: "0003",
            availability_id: "DZH318Z0BNW2",
            sku_name: "FortiGate PAYG 2 vCPU",
            product_name: "FortiGate Next-Generation Firewall",
            publisher_name: "Fortinet",
            publisher_id: "fortinet",
        },
        300_000,
    ),
    (
        Product {
            product_id: "DZH318Z0BP4T",
            sku_id: "0001",
            availability_id: "DZH318Z0BP4V",
            sku_name: "Ubuntu Pro 22.04 LTS",
            product_name: "Ubuntu Pro",
            publisher_name: "Canonical",
            publisher_id: "canonical",
        },
        12_000,
    ),
    (
        Product {
            product_id: "DZH318Z0BPKM",
            sku_id: "0002",
            availability_id: "DZH318Z0BPKN",
            sku_name: "WordPress packaged by Bitnami",
            product_name: "WordPress with NGINX and SSL",
            publisher_name: "Bitnami by VMware",
            publisher_id: "bitnami",
        },
        20_000,
    ),
];

/// (MeterName, MeterSubCategory, ServiceType, vCPUs, USD per hour in millionths)
pub(crate) const VM_SIZES: &[(&str, &str, &str, u32, i64)] = &[
    ("D2s v5", "Dsv5 Series", "Standard_D2s_v5", 2, 96_000),
    ("D4s v5", "Dsv5 Series", "Standard_D4s_v5", 4, 192_000),
    ("D8s v5", "Dsv5 Series", "Standard_D8s_v5", 8, 384_000),
    ("B2ms", "BS Series", "Standard_B2ms", 2, 83_200),
    ("E4s v5", "Esv5 Series", "Standard_E4s_v5", 4, 252_000),
];

/// (MeterName, USD per hour in millionths)
pub(crate) const APP_SERVICE_PLANS: &[(&str, i64)] = &[
    ("P0 v3 App", 84_000),
    ("P1 v3 App", 288_000),
    ("P2 v3 App", 576_000),
];

pub(crate) const VM_ROLES: &[&str] = &["web", "app", "batch", "build", "jump", "api", "etl"];
pub(crate) const SITE_NAMES: &[&str] = &["shop", "portal", "api", "crm", "intranet", "booking"];
pub(crate) const SQL_NAMES: &[&str] = &["core", "sales", "ops", "erp"];
pub(crate) const DB_NAMES: &[&str] = &[
    "orders",
    "customers",
    "inventory",
    "billing",
    "reporting",
    "audit",
];
pub(crate) const RG_BASES: &[&str] = &["rg-web", "rg-data", "rg-app", "rg-shared"];
pub(crate) const ENVIRONMENTS: &[&str] = &["", "-dev", "-test", "-stage", "-dr"];

pub(crate) const OWNER: (&str, &str) = ("Owner", "8e3af657-a8ff-443c-a75c-2fe8c4bcb635");
pub(crate) const CONTRIBUTOR: (&str, &str) =
    ("Contributor", "b24988ac-6180-42a0-ab88-20f7382dd24c");
pub(crate) const READER: (&str, &str) = ("Reader", "acdd72a7-3385-48ef-bd42-f606fba81ae7");
