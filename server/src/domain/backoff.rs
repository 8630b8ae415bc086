//! When to retry a failed delivery: exponential backoff with deterministic jitter.
//!
//! The jitter comes from a seed (e.g. a hash of the alert's key) instead of a global RNG, so
//! alerts that fail together spread out, yet a test knows every retry time exactly.

use jiff::{SignedDuration, Timestamp};

/// Attempts made before an alert is marked failed (the first one included).
pub const MAX_ATTEMPTS: u32 = 8;

/// Delay after the first failed attempt.
const BASE_MS: i64 = 30_000;

/// No delay is longer than this, jitter included.
const CAP_MS: i64 = 3_600_000;

/// The jitter takes at most this fraction (1/5 = 20%) off a delay.
const JITTER_DIVISOR: i64 = 5;

/// When to make the next attempt after attempt number `attempt` (counting from 0) failed at
/// `now`.
///
/// The delay is 30 s doubled per attempt and capped at one hour, minus a jitter of up to
/// 20% derived from `jitter_seed` and `attempt`. Jitter only shortens the delay, so the cap
/// holds and capped retries still spread out.
pub fn next_attempt(attempt: u32, now: Timestamp, jitter_seed: u64) -> Timestamp {
    let full = if attempt >= 20 {
        CAP_MS
    } else {
        (BASE_MS << attempt).min(CAP_MS)
    };
    let span = full / JITTER_DIVISOR + 1;
    let jitter = (mix(jitter_seed, attempt) % span.unsigned_abs()) as i64;
    now.checked_add(SignedDuration::from_millis(full - jitter))
        .unwrap_or(Timestamp::MAX)
}

/// SplitMix64 of the seed and attempt: well spread, and the same on every platform and
/// Rust version (unlike `std`'s hashers).
fn mix(seed: u64, attempt: u32) -> u64 {
    let mut z = seed
        .wrapping_add(u64::from(attempt).wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delay_ms(attempt: u32, seed: u64) -> i64 {
        let now: Timestamp = "2025-07-01T09:00:00Z".parse().unwrap();
        next_attempt(attempt, now, seed)
            .duration_since(now)
            .as_millis() as i64
    }

    #[test]
    fn first_attempts_have_exact_times() {
        // Worked out independently (in Python) from the formula: full delay minus
        // splitmix64(42 + (attempt + 1) * golden) mod (full / 5 + 1) milliseconds.
        let now: Timestamp = "2025-07-01T09:00:00Z".parse().unwrap();
        let got: Vec<String> = (0..5)
            .map(|a| next_attempt(a, now, 42).to_string())
            .collect();
        assert_eq!(
            got,
            [
                "2025-07-01T09:00:29.936Z",
                "2025-07-01T09:00:49.798Z",
                "2025-07-01T09:01:56.888Z",
                "2025-07-01T09:03:26.034Z",
                "2025-07-01T09:06:57.342Z",
            ]
        );
    }

    #[test]
    fn mix_is_splitmix64() {
        // The first output of the reference SplitMix64 seeded with 0.
        assert_eq!(mix(0, 0), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn delays_double_then_cap_at_one_hour() {
        for seed in [0, 1, 42, u64::MAX] {
            for attempt in 0..40 {
                let full = (BASE_MS * 2i64.pow(attempt.min(20))).min(CAP_MS);
                let d = delay_ms(attempt, seed);
                assert!(d <= full, "attempt {attempt}: {d} > {full}");
                assert!(
                    d >= full - full / 5,
                    "attempt {attempt}: {d} below 80% of {full}"
                );
            }
        }
        assert!(delay_ms(u32::MAX, 7) <= CAP_MS);
    }

    #[test]
    fn jitter_depends_on_seed_and_attempt() {
        let by_seed: std::collections::BTreeSet<i64> = (0..64).map(|s| delay_ms(3, s)).collect();
        assert!(
            by_seed.len() > 32,
            "seeds should spread retries: {by_seed:?}"
        );
        assert_ne!(delay_ms(10, 1), delay_ms(11, 1));
        assert_eq!(delay_ms(3, 9), delay_ms(3, 9));
    }

    #[test]
    fn far_future_saturates() {
        assert_eq!(next_attempt(7, Timestamp::MAX, 1), Timestamp::MAX);
    }
}
