//! Structured logs. The domain crate emits `tracing` events (upload, snapshot, settlement,
//! verification) with their ids as fields; this module turns them into one flat JSON object per
//! line — `{"timestamp","level","message",…the event's fields…,…its spans' fields…,"target"}` —
//! which is what CloudWatch Logs Insights reads best. The functions write these lines to stdout
//! (Lambda sends stdout to CloudWatch Logs) and carry the Lambda runtime's `requestId`, taken
//! from the invocation span the runtime opens; `pec` writes them to stderr with
//! `--log-format json`.
#![forbid(unsafe_code)]

use std::fmt;
use std::io::IsTerminal;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

/// Our crates at `info`, everything else (the AWS SDK, hyper) at `warn`; the Lambda runtime at
/// `info`, so its invocation span (which carries `requestId`) is kept.
pub const DEFAULT_FILTER: &str =
    "warn,pec=info,pec_ledger=info,pec_embedded=info,pec_http=info,pec_aws=info,lambda_runtime=info";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// `tracing`'s human format (colours only on a terminal).
    Text,
    /// One flat JSON object per line ([`FlatJson`]).
    Json,
}

/// A level filter from `spec` — comma-separated directives, each a level (`warn`: everything not
/// named otherwise) or `target=level` (`pec_ledger=debug`; a target covers its submodules) — or
/// `default` when `spec` is `None` or blank. This is the target/level part of `RUST_LOG`'s
/// syntax; span and field filters (`[span{field}]`) are not supported and are refused.
pub fn filter(spec: Option<&str>, default: &str) -> Result<Targets, FilterError> {
    let spec = spec.map(str::trim).filter(|s| !s.is_empty());
    let text = spec.unwrap_or(default);
    // `Targets` would take `pec_ledger[settle]=debug` as a target of that name that matches
    // nothing: refuse it instead of silently logging less than asked.
    if text.contains(['[', ']', '{', '}']) {
        return Err(FilterError::SpanOrField(text.to_string()));
    }
    text.parse::<Targets>()
        .map_err(|e| FilterError::Invalid(text.to_string(), e.to_string()))
}

/// A log filter (`PEC_LOG`, `RUST_LOG`) that is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error(
        "{0:?} is not a log filter (span and field filters are not supported); examples: info, \
         warn, warn,pec_ledger=debug"
    )]
    SpanOrField(String),
    #[error("{0:?} is not a log filter ({1}); examples: info, warn, warn,pec_ledger=debug")]
    Invalid(String, String),
}

/// The first of the environment variables `names` that is set and not blank.
pub fn env_spec(names: &[&str]) -> Option<String> {
    names
        .iter()
        .filter_map(|n| std::env::var(n).ok())
        .find(|v| !v.trim().is_empty())
}

/// Installs the process's log subscriber: `format` lines through `writer`, filtered by
/// `filter`. A second call does nothing.
pub fn init<W>(format: LogFormat, filter: Targets, writer: W, ansi: bool)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let layer = tracing_subscriber::fmt::layer().with_writer(writer);
    let _ = match format {
        LogFormat::Text => tracing_subscriber::registry()
            .with(layer.with_ansi(ansi).with_target(false))
            .with(filter)
            .try_init(),
        LogFormat::Json => tracing_subscriber::registry()
            .with(
                layer
                    .with_ansi(false)
                    .fmt_fields(JsonFields::new())
                    .event_format(FlatJson),
            )
            .with(filter)
            .try_init(),
    };
}

/// The functions' logs: JSON lines on stdout, filtered by `PEC_LOG` or `RUST_LOG` (default
/// [`DEFAULT_FILTER`]; a filter that does not parse falls back to it, with a warning).
pub fn init_lambda() {
    let spec = env_spec(&["PEC_LOG", "RUST_LOG"]);
    let (f, problem) = match filter(spec.as_deref(), DEFAULT_FILTER) {
        Ok(f) => (f, None),
        Err(e) => (
            DEFAULT_FILTER.parse().unwrap_or_else(|_| Targets::new()),
            Some(e),
        ),
    };
    init(LogFormat::Json, f, std::io::stdout, false);
    if let Some(e) = problem {
        tracing::warn!(error = %e, "log filter ignored");
    }
}

/// The text format's colours: only when stderr is a terminal.
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// The flat JSON line format: span fields (outermost first), then the event's own fields, each
/// a top-level member; a later member of the same name replaces an earlier one.
pub struct FlatJson;

impl<S, N> FormatEvent<S, N> for FlatJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut fields = Fields::default();
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let ext = span.extensions();
                let Some(formatted) = ext.get::<FormattedFields<N>>() else {
                    continue;
                };
                // With JsonFields, a span's fields are kept as a JSON object.
                if let Ok(serde_json::Value::Object(map)) =
                    serde_json::from_str::<serde_json::Value>(&formatted.fields)
                {
                    for (k, v) in map {
                        fields.put(&k, v);
                    }
                }
            }
        }
        event.record(&mut fields);
        let meta = event.metadata();
        let mut line = String::with_capacity(256);
        let mut member = |name: &str, value: &serde_json::Value| {
            line.push(if line.is_empty() { '{' } else { ',' });
            line.push_str(&serde_json::Value::from(name).to_string());
            line.push(':');
            line.push_str(&value.to_string());
        };
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        member("timestamp", &now.into());
        member("level", &meta.level().as_str().into());
        if let Some(i) = fields.0.iter().position(|(k, _)| k == "message") {
            let (k, v) = fields.0.remove(i);
            member(&k, &v);
        }
        for (k, v) in &fields.0 {
            member(k, v);
        }
        member("target", &meta.target().into());
        line.push('}');
        writeln!(writer, "{line}")
    }
}

/// Field values as JSON: numbers and booleans as such, everything else as text.
#[derive(Default)]
struct Fields(Vec<(String, serde_json::Value)>);

impl Fields {
    fn put(&mut self, name: &str, value: serde_json::Value) {
        match self.0.iter_mut().find(|(k, _)| k == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name.to_string(), value)),
        }
    }
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field.name(), format!("{value:?}").into());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field.name(), value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field.name(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field.name(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field.name(), value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        // JSON has no NaN or infinity: those are written as text.
        let v = serde_json::Number::from_f64(value)
            .map(serde_json::Value::Number)
            .unwrap_or_else(|| value.to_string().into());
        self.put(field.name(), v);
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field.name(), value.to_string().into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("buffer").extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn lines(filter_spec: &str, f: impl FnOnce()) -> Vec<Value> {
        let buffer = Buffer::default();
        let out = buffer.clone();
        use tracing_subscriber::layer::SubscriberExt;
        let subscriber = tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(move || out.clone())
                    .fmt_fields(JsonFields::new())
                    .event_format(FlatJson),
            )
            .with(filter(Some(filter_spec), DEFAULT_FILTER).expect("filter"));
        tracing::subscriber::with_default(subscriber, f);
        let text = String::from_utf8(buffer.0.lock().expect("buffer").clone()).expect("utf-8");
        // timestamp, level and message lead each line.
        for l in text.lines() {
            assert!(l.starts_with(r#"{"timestamp":""#), "{l}");
            assert!(l.contains(r#"Z","level":""#), "{l}");
        }
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    #[test]
    fn events_are_flat_json_with_the_span_fields() {
        let got = lines("info", || {
            let span = tracing::info_span!("Lambda runtime invoke", requestId = "req-1");
            let _g = span.enter();
            tracing::info!(
                upload_id = "u-1",
                rows = 8u64,
                ok = true,
                share = 0.5,
                "usage upload {}",
                "accepted"
            );
            tracing::debug!("not at info");
        });
        assert_eq!(got.len(), 1, "{got:?}");
        let line = &got[0];
        assert_eq!(line["message"], "usage upload accepted");
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["requestId"], "req-1");
        assert_eq!(line["upload_id"], "u-1");
        assert_eq!(line["rows"], 8);
        assert_eq!(line["ok"], true);
        assert_eq!(line["share"], 0.5);
        assert_eq!(line["target"], "pec_telemetry::tests");
        let ts = line["timestamp"].as_str().expect("timestamp");
        assert!(chrono::DateTime::parse_from_rfc3339(ts).is_ok(), "{ts}");
        assert_eq!(
            line.as_object().map(|o| o.len()),
            Some(9),
            "nothing else: {line}"
        );
    }

    #[test]
    fn filters_parse_or_say_what_is_wrong() {
        assert!(filter(None, "warn").is_ok());
        assert!(filter(Some("  "), "warn").is_ok());
        assert!(filter(Some("debug,pec_ledger=trace"), "warn").is_ok());
        for spans in [
            "pec_ledger[settle]=debug",
            "[{run_id=x}]=info",
            "warn,pec_aws{bucket}=info",
        ] {
            let e = filter(Some(spans), "warn").expect_err("span and field filters");
            assert!(e.to_string().contains("span and field filters"), "{e}");
        }
        let e = filter(Some("pec_ledger=loud"), "warn").expect_err("bad level");
        assert!(
            e.to_string()
                .contains("\"pec_ledger=loud\" is not a log filter"),
            "{e}"
        );
        // A target covers its submodules; the bare level is everything else.
        let t = filter(Some("warn,pec_ledger=debug"), "error").expect("filter");
        assert!(t.would_enable("pec_ledger::settle", &tracing::Level::DEBUG));
        assert!(!t.would_enable("pec_ledger::settle", &tracing::Level::TRACE));
        assert!(!t.would_enable("aws_smithy_runtime", &tracing::Level::INFO));
        assert!(t.would_enable("aws_smithy_runtime", &tracing::Level::WARN));
        let d = filter(None, DEFAULT_FILTER).expect("default filter");
        assert!(d.would_enable("lambda_runtime", &tracing::Level::INFO));
        assert!(!d.would_enable("hyper_util::client", &tracing::Level::INFO));
        let got = lines("warn", || tracing::info!("quiet"));
        assert!(got.is_empty());
    }
}
