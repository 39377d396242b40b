//! Notifications to a merchant's server: the retry schedule and what is
//! signed. The merchant verifies `Qiao-Signature` = `v1=` + hex of
//! HMAC-SHA256(signing secret, `{timestamp}\n{nonce}\n{body}`), checks the
//! timestamp is recent, and deduplicates by `Qiao-Event-Id` (a delivery can
//! arrive more than once).

/// Waits between attempts after a failure (non-2xx or no answer), in seconds:
/// 15 s, 15 s, 30 s, 3 m, 10 m, 20 m, 30 m, 30 m, 30 m, 60 m, 3 h, 3 h, 3 h, 6 h, 6 h.
pub const BACKOFF_SECONDS: [i64; 15] = [
    15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600,
];
/// How long one attempt waits for an answer.
pub const ATTEMPT_TIMEOUT_MS: i64 = 10_000;
/// How far a receiver should let the timestamp be from its clock.
pub const MAX_SKEW_SECONDS: i64 = 300;

pub const HEADER_SIGNATURE: &str = "Qiao-Signature";
pub const HEADER_TIMESTAMP: &str = "Qiao-Timestamp";
pub const HEADER_NONCE: &str = "Qiao-Nonce";
pub const HEADER_EVENT_ID: &str = "Qiao-Event-Id";

/// When to try again after `failed` attempts have failed; `None` once the
/// schedule is spent (the notification is then given up, and the merchant
/// console shows it for a manual resend).
pub fn retry_after_ms(failed: u32) -> Option<i64> {
    let index = usize::try_from(failed).ok()?.checked_sub(1)?;
    BACKOFF_SECONDS.get(index).map(|s| s * 1000)
}

/// The text the signature covers.
pub fn signing_input(timestamp: i64, nonce: &str, body: &str) -> String {
    format!("{timestamp}\n{nonce}\n{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_is_the_documented_one() {
        assert_eq!(retry_after_ms(0), None, "nothing failed yet");
        assert_eq!(retry_after_ms(1), Some(15_000));
        assert_eq!(retry_after_ms(3), Some(30_000));
        assert_eq!(retry_after_ms(15), Some(21_600_000));
        assert_eq!(retry_after_ms(16), None);
        let total: i64 = BACKOFF_SECONDS.iter().sum();
        assert_eq!(total, 24 * 3600 + 4 * 60, "a day and four minutes of retries");
        assert_eq!(signing_input(1, "n", "{}"), "1\nn\n{}");
    }
}
