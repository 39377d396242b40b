//! Proving a phone number or an email address is yours: a one-time code is
//! sent to it, and it counts (for sign-in, search and contact discovery)
//! only once the code comes back. Until then it is a claim, which blocks
//! nobody else from the same number. These are the rules of codes and
//! claims; sending and storing are elsewhere.

use crate::Error;

/// How long a code is good for.
pub const CODE_TTL_MS: i64 = 10 * 60 * 1000;
/// Wrong codes allowed for one sent code; then a new one must be sent.
pub const MAX_CODE_TRIES: u32 = 5;
/// The least time between two codes to one identifier.
pub const RESEND_AFTER_MS: i64 = 60 * 1000;
/// Codes one account may have sent per UTC day (SMS and email cost money
/// and can be abused to flood someone else's phone).
pub const MAX_SENDS_PER_DAY: u32 = 10;

/// What is being verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdentifierKind {
    Phone,
    Email,
}

impl IdentifierKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IdentifierKind::Phone => "phone",
            IdentifierKind::Email => "email",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, Error> {
        match raw {
            "phone" => Ok(IdentifierKind::Phone),
            "email" => Ok(IdentifierKind::Email),
            _ => Err(Error::InvalidRequest),
        }
    }
}

/// A code as typed: six ASCII digits. `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct Code(String);

impl std::fmt::Debug for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Code(******)")
    }
}

impl Code {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let raw = raw.trim();
        if raw.len() == 6 && raw.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(Error::VerificationCodeWrong)
        }
    }

    /// A code from six random decimal digits (the caller brings the randomness).
    pub fn from_random(random: u32) -> Self {
        Self(format!("{:06}", random % 1_000_000))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where a claim stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClaimState {
    /// When the last code was sent (0: never).
    pub last_sent_at_ms: i64,
    /// When the last code stops working.
    pub expires_at_ms: i64,
    /// Wrong codes tried against the last code.
    pub tries: u32,
    /// Codes sent on `sent_day` (a UTC day number).
    pub sends_today: u32,
    pub sent_day: i64,
}

impl ClaimState {
    /// Whether a new code may be sent now; the state after sending it.
    pub fn send(self, now_ms: i64) -> Result<ClaimState, Error> {
        if self.last_sent_at_ms > 0 && now_ms - self.last_sent_at_ms < RESEND_AFTER_MS {
            return Err(Error::CodeSentRecently);
        }
        let today = crate::caps::utc_day(now_ms);
        let sends_today = if self.sent_day == today { self.sends_today } else { 0 };
        if sends_today >= MAX_SENDS_PER_DAY {
            return Err(Error::RateLimited);
        }
        Ok(ClaimState {
            last_sent_at_ms: now_ms,
            expires_at_ms: now_ms.saturating_add(CODE_TTL_MS),
            tries: 0,
            sends_today: sends_today + 1,
            sent_day: today,
        })
    }

    /// Whether a code may be checked now (not expired, tries left).
    pub fn may_confirm(&self, now_ms: i64) -> Result<(), Error> {
        // Spent tries end a code like time does: a new one must be sent.
        let ended = self.last_sent_at_ms == 0 || now_ms >= self.expires_at_ms || self.tries >= MAX_CODE_TRIES;
        if ended {
            Err(Error::VerificationCodeExpired)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_limits_and_names() {
        assert_eq!(CODE_TTL_MS, 600_000, "ten minutes");
        assert_eq!(RESEND_AFTER_MS, 60_000, "one minute");
        for kind in [IdentifierKind::Phone, IdentifierKind::Email] {
            assert_eq!(IdentifierKind::parse(kind.as_str()), Ok(kind));
        }
        assert_eq!(IdentifierKind::Email.as_str(), "email");
        assert_eq!(IdentifierKind::Phone.as_str(), "phone");
        assert_eq!(IdentifierKind::parse("fax"), Err(Error::InvalidRequest));
    }

    const DAY_MS: i64 = 24 * 60 * 60 * 1000;

    #[test]
    fn codes_are_six_digits() {
        assert!(Code::parse("012345").is_ok());
        assert_eq!(
            Code::parse(" 123456 ").map(|c| c.as_str().to_owned()),
            Ok("123456".into())
        );
        for bad in ["12345", "1234567", "12a456", "", "１２３４５６"] {
            assert_eq!(Code::parse(bad), Err(Error::VerificationCodeWrong), "{bad:?}");
        }
        assert_eq!(Code::from_random(42).as_str(), "000042");
        assert_eq!(Code::from_random(4_294_967_295).as_str(), "967295");
        assert_eq!(format!("{:?}", Code::from_random(1)), "Code(******)");
    }

    #[test]
    fn sending_waits_between_codes_and_stops_for_the_day() {
        let t0 = 100 * DAY_MS;
        let state = ClaimState::default().send(t0).expect("first");
        assert_eq!(state.send(t0 + RESEND_AFTER_MS - 1), Err(Error::CodeSentRecently));
        let mut state = state;
        for n in 1..MAX_SENDS_PER_DAY {
            state = state
                .send(t0 + i64::from(n) * RESEND_AFTER_MS)
                .expect("within the day's sends");
        }
        assert_eq!(state.send(t0 + 60 * RESEND_AFTER_MS), Err(Error::RateLimited));
        let tomorrow = state.send(t0 + DAY_MS).expect("a new day");
        assert_eq!(tomorrow.sends_today, 1);
    }

    #[test]
    fn a_code_expires_and_allows_few_tries() {
        let state = ClaimState::default().send(1_000).expect("sent");
        assert_eq!(state.may_confirm(1_000 + CODE_TTL_MS - 1), Ok(()));
        assert_eq!(
            state.may_confirm(1_000 + CODE_TTL_MS),
            Err(Error::VerificationCodeExpired)
        );
        let spent = ClaimState {
            tries: MAX_CODE_TRIES,
            ..state
        };
        assert_eq!(spent.may_confirm(1_001), Err(Error::VerificationCodeExpired));
        assert_eq!(
            ClaimState::default().may_confirm(1),
            Err(Error::VerificationCodeExpired)
        );
        assert_eq!(IdentifierKind::parse("phone"), Ok(IdentifierKind::Phone));
        assert_eq!(IdentifierKind::parse("fax"), Err(Error::InvalidRequest));
    }
}
