//! Progress bars on stderr for the long commands (`usage upload`, `settle`, `demo`), drawn only
//! when stderr is a terminal and logs are not JSON: piped or redirected, `pec` writes no bar and
//! no escape code.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::atomic::{AtomicBool, Ordering};

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Turns bars on when stderr is a terminal and `json_logs` is false (JSON log lines on stderr
/// must stay one object per line).
pub fn configure(stderr_is_terminal: bool, json_logs: bool) {
    ENABLED.store(stderr_is_terminal && !json_logs, Ordering::Relaxed);
}

fn bar(len: u64, template: &str, what: &str) -> ProgressBar {
    if !ENABLED.load(Ordering::Relaxed) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar.tick();
    bar
}

/// A bar over the bytes of a file being read; `what` (the file name) is cut to fit the line.
pub fn bytes(len: u64, what: &str) -> ProgressBar {
    bar(
        len,
        "{wide_msg} [{bar:25}] {bytes}/{total_bytes} eta {eta}",
        what,
    )
}

/// A bar over items (files, customers); `unit` names them.
pub fn items(len: u64, what: &str, unit: &str) -> ProgressBar {
    bar(
        len,
        &format!("{{msg}} [{{bar:25}}] {{pos}}/{{len}} {unit} {{elapsed}}"),
        what,
    )
}

/// The bar of a settlement run (over its customers).
pub fn settling() -> ProgressBar {
    items(0, "settling", "customers")
}

/// The `progress(done, total)` callback of a settlement run, moving `bar`.
pub fn track(bar: &ProgressBar) -> impl FnMut(usize, usize) + '_ {
    move |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    }
}
