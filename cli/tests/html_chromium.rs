//! The HTML statement as a browser shows it: `pec demo` writes `statement.html`; headless
//! Chromium (Debian's `chromium` package, which `tests/run.sh` installs) renders it to a PNG and
//! dumps the DOM it built. The screenshot must show a page (not blank, with the charts' colours)
//! and every figure in the rendered page must be the JSON statement's exact string.
//!
//! This test fails, rather than skips, when `chromium` is not installed.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The charts' fills (statement_html.rs): earned, lost.
const EARNED_RGB: [u8; 3] = [0x1b, 0x7f, 0x5b];
const LOST_RGB: [u8; 3] = [0xd1, 0x49, 0x5b];

fn chromium() -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "chromium is not installed: this test needs Debian's chromium package \
             (apt-get install chromium; tests/run.sh installs it)"
        )
    })
}

/// Runs a command with a time limit, killing it when it overruns.
fn run_with_timeout(cmd: &mut Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start command");
    // Drain the pipes on threads so a chatty child cannot block on a full pipe.
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut b).ok();
        b
    });
    let err = std::thread::spawn(move || {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut stderr, &mut b).ok();
        b
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} took more than {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

/// Headless Chromium on a local file, isolated (fresh profile, no network features).
fn chromium_on(page: &Path, extra: &[String]) -> Output {
    let profile = tempfile::tempdir().expect("profile dir");
    let url = format!("file://{}", page.display());
    let mut cmd = Command::new(chromium());
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .arg("--window-size=1240,1754")
    .args(extra)
    .arg(url);
    let out = run_with_timeout(&mut cmd, Duration::from_secs(180));
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The figures of a DOM dump: (key, exact value — `data-exact`, or the text where there is
/// none —, text shown).
fn figures_in(dom: &str) -> Vec<(String, String, String)> {
    pec_render::html::figures_in_page(dom)
        .into_iter()
        .map(|f| (f.key, f.exact, f.shown))
        .collect()
}

/// The figures the page must show, named as the page names them, read from the JSON.
fn json_figures(v: &Value) -> BTreeMap<String, String> {
    let s = |v: &Value| v.as_str().expect("a string").to_string();
    let mut out = BTreeMap::new();
    for k in ["partnerId", "month", "asOf"] {
        out.insert(k.to_string(), s(&v[k]));
    }
    // Names, where the JSON has them.
    let name = |out: &mut BTreeMap<String, String>, key: String, x: &Value| {
        if let Some(n) = x.as_str() {
            out.insert(key, n.to_string());
        }
    };
    name(&mut out, "partnerName".into(), &v["partnerName"]);
    name(
        &mut out,
        "scope.customerName".into(),
        &v["scope"]["customerName"],
    );
    name(
        &mut out,
        "scope.resellerName".into(),
        &v["scope"]["resellerName"],
    );
    let totals = |out: &mut BTreeMap<String, String>, base: String, t: &Value| {
        for (k, x) in t.as_object().expect("totals") {
            out.insert(format!("{base}.{k}"), s(x));
        }
    };
    for c in v["currencies"].as_array().expect("currencies") {
        let cur = s(&c["currency"]);
        totals(&mut out, format!("{cur}.totals"), &c["totals"]);
        for map in ["lostCreditByReason", "ineligibleByReason"] {
            for (k, x) in c[map].as_object().expect("reasons") {
                out.insert(format!("{cur}.{map}.{k}"), s(x));
            }
        }
        for cu in c["customers"].as_array().expect("customers") {
            let base = format!("{cur}.customers.{}", s(&cu["customerId"]));
            totals(&mut out, format!("{base}.totals"), &cu["totals"]);
            for f in ["customerName", "customerDomain", "resellerName"] {
                name(&mut out, format!("{base}.{f}"), &cu[f]);
            }
            for su in cu["subscriptions"].as_array().expect("subscriptions") {
                let sub = format!("{base}.subscriptions.{}", s(&su["subscriptionId"]));
                name(
                    &mut out,
                    format!("{sub}.subscriptionName"),
                    &su["subscriptionName"],
                );
                totals(&mut out, format!("{sub}.totals"), &su["totals"]);
            }
        }
        for d in c["days"].as_array().expect("days") {
            for f in ["earnedCredit", "lostCredit", "microsoftCredit"] {
                out.insert(format!("{cur}.days.{}.{f}", s(&d["date"])), s(&d[f]));
            }
        }
        for p in c["priorPeriodAdjustments"].as_array().expect("adjustments") {
            let m = s(&p["usageMonth"]);
            for f in ["earnedCredit", "lostCredit", "microsoftCredit"] {
                out.insert(format!("{cur}.priorPeriodAdjustments.{m}.{f}"), s(&p[f]));
                for cu in p["customers"].as_array().expect("adjustments") {
                    let id = s(&cu["customerId"]);
                    name(
                        &mut out,
                        format!("{cur}.priorPeriodAdjustments.{m}.customers.{id}.customerName"),
                        &cu["customerName"],
                    );
                    out.insert(
                        format!("{cur}.priorPeriodAdjustments.{m}.customers.{id}.{f}"),
                        s(&cu[f]),
                    );
                }
            }
        }
    }
    out
}

#[test]
fn the_demo_statement_renders_in_chromium_with_the_jsons_figures() {
    let chromium = chromium();
    let tmp = tempfile::tempdir().expect("temp dir");
    let demo = tmp.path().join("demo");
    let out = Command::new(env!("CARGO_BIN_EXE_pec"))
        .args(["demo", "--dir"])
        .arg(&demo)
        .output()
        .expect("run pec demo");
    assert!(
        out.status.success(),
        "pec demo: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let statement: Value = serde_json::from_slice(&out.stdout).expect("demo prints the JSON");
    let page = demo.join("statement.html");
    assert!(page.is_file(), "pec demo writes {}", page.display());
    assert!(String::from_utf8_lossy(&out.stderr).contains("statement.html"));
    for other in [
        "statement.csv",
        "statement.xlsx",
        "statement.json",
        "statement.pdf",
    ] {
        assert!(demo.join(other).is_file(), "{other}");
    }

    // The DOM Chromium built: every figure of the JSON, each equal to the JSON's string.
    let dom = chromium_on(&page, &["--dump-dom".to_string()]);
    let dom = String::from_utf8(dom.stdout).expect("utf-8 DOM");
    assert!(
        dom.contains("Partner Earned Credit statement"),
        "chromium ({}) dumped no statement: {dom:.500}",
        chromium.display()
    );
    let expected = json_figures(&statement);
    assert!(
        expected.contains_key("partnerName"),
        "the demo's usage files name the partner"
    );
    let shown = figures_in(&dom);
    let mut seen = BTreeSet::new();
    for (key, exact, text) in &shown {
        let want = expected
            .get(key)
            .unwrap_or_else(|| panic!("the page shows {key} = {exact}, which the JSON lacks"));
        assert_eq!(exact, want, "{key}: page vs JSON");
        // What the page shows is the JSON's figure rounded (cents; rates as percentages).
        let rounded = match pec_ledger::decimal::parse_stored(want) {
            Ok(d) if key.ends_with("effectiveRate") => pec_render::money::percent(d),
            Ok(d) => pec_render::money::money(d),
            Err(_) => want.clone(),
        };
        assert_eq!(text, &rounded, "{key}: shown vs the JSON rounded");
        seen.insert(key.as_str());
    }
    let missing: Vec<&String> = expected
        .keys()
        .filter(|k| !seen.contains(k.as_str()))
        .collect();
    assert!(missing.is_empty(), "figures not in the page: {missing:?}");
    assert!(
        expected.len() > 100,
        "the demo statement has many figures ({})",
        expected.len()
    );
    assert!(
        expected.keys().any(|k| k.contains(".days.")),
        "days are compared"
    );

    // The screenshot: an A4-shaped page that is not blank and shows the charts.
    let shot = tmp.path().join("statement.png");
    chromium_on(&page, &[format!("--screenshot={}", shot.display())]);
    let file = std::fs::File::open(&shot).expect("chromium wrote the screenshot");
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("frame size")];
    let info = reader.next_frame(&mut buf).expect("a frame");
    assert_eq!((info.width, info.height), (1240, 1754));
    let channels = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("unexpected colour type {other:?}"),
    };
    let pixels: Vec<[u8; 3]> = buf[..info.buffer_size()]
        .chunks_exact(channels)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    let colours: HashSet<[u8; 3]> = pixels.iter().copied().collect();
    let non_white = pixels.iter().filter(|p| **p != [255, 255, 255]).count();
    assert!(
        colours.len() > 100,
        "a rendered page has many colours, got {}",
        colours.len()
    );
    assert!(
        non_white * 20 > pixels.len(),
        "more than 5 % of the screenshot is not white ({non_white} of {})",
        pixels.len()
    );
    let count = |rgb: [u8; 3]| pixels.iter().filter(|p| **p == rgb).count();
    assert!(
        count(EARNED_RGB) > 500,
        "the earned-credit bars are drawn ({} pixels)",
        count(EARNED_RGB)
    );
    assert!(
        count(LOST_RGB) > 500,
        "the lost-credit bars are drawn ({} pixels)",
        count(LOST_RGB)
    );
}
