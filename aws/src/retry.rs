//! Bounded exponential backoff with jitter, for what the SDK's own retries do not cover
//! (unprocessed batch items, cancelled transactions).

use std::time::Duration;

/// Waits before attempt `attempt` (1, 2, …): 25 ms × 2^(attempt−1), at most 3.2 s, plus up to
/// half of it again as jitter.
pub async fn backoff(attempt: u32) {
    tokio::time::sleep(delay(attempt)).await;
}

pub fn delay(attempt: u32) -> Duration {
    let base = 25u64.saturating_mul(1u64 << attempt.saturating_sub(1).min(7));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::from(d.subsec_nanos()))
        .unwrap_or(0);
    let jitter = if base > 1 { nanos % (base / 2 + 1) } else { 0 };
    Duration::from_millis(base + jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_bounded() {
        assert!(delay(1) >= Duration::from_millis(25) && delay(1) <= Duration::from_millis(38));
        assert!(delay(4) >= Duration::from_millis(200));
        assert!(delay(30) <= Duration::from_millis(4800));
    }
}
