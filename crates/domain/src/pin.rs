//! The payment PIN (支付密码): six digits, separate from the password,
//! required to move money out of a wallet, and locked after too many wrong
//! tries. Hashing happens at the edge; this module is the rules.

use crate::Error;

/// Wrong tries in a row that lock the PIN.
pub const MAX_WRONG_TRIES: u32 = 5;

/// A syntactically valid PIN: exactly six ASCII digits. `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct Pin(String);

impl std::fmt::Debug for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pin(******)")
    }
}

impl Pin {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        if raw.len() == 6 && raw.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(Error::InvalidPin)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where a user's PIN stands between tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PinState {
    /// Wrong tries since the last right one or the last lock.
    pub wrong_tries: u32,
    /// Locked until this instant (ms), if locked.
    pub locked_until_ms: Option<i64>,
}

impl PinState {
    /// `PinLocked` while locked; a lock that has run out no longer counts.
    pub fn may_try(&self, now_ms: i64) -> Result<(), Error> {
        match self.locked_until_ms {
            Some(until) if now_ms < until => Err(Error::PinLocked),
            _ => Ok(()),
        }
    }

    /// The state after a try: a right PIN clears the count; the fifth wrong
    /// one in a row locks for `lock_ms` and starts the count again.
    pub fn after_try(self, right: bool, now_ms: i64, lock_ms: i64) -> PinState {
        if right {
            return PinState::default();
        }
        let expired_lock = self.locked_until_ms.is_some_and(|until| now_ms >= until);
        let wrong_tries = if expired_lock { 1 } else { self.wrong_tries + 1 };
        if wrong_tries >= MAX_WRONG_TRIES {
            PinState {
                wrong_tries: 0,
                locked_until_ms: Some(now_ms.saturating_add(lock_ms)),
            }
        } else {
            PinState {
                wrong_tries,
                locked_until_ms: None,
            }
        }
    }
}

/// The largest small-amount no-PIN limit a user may choose, in minor units.
pub const MAX_NO_PIN_LIMIT_MINOR: i64 = 100_000;

/// A no-PIN limit a user may choose: 0 (off) up to [`MAX_NO_PIN_LIMIT_MINOR`].
pub fn no_pin_limit(limit_minor: i64) -> Result<i64, Error> {
    if (0..=MAX_NO_PIN_LIMIT_MINOR).contains(&limit_minor) {
        Ok(limit_minor)
    } else {
        Err(Error::InvalidAmount)
    }
}

/// Whether a payment of `amount_minor` needs the PIN, given the user's
/// small-amount no-PIN limit (0: always, the default).
pub fn needs_pin(amount_minor: i64, no_pin_limit_minor: i64) -> bool {
    amount_minor > no_pin_limit_minor
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_pin_limits_are_kept_as_chosen() {
        assert_eq!(no_pin_limit(0), Ok(0));
        assert_eq!(no_pin_limit(500), Ok(500));
        assert_eq!(no_pin_limit(MAX_NO_PIN_LIMIT_MINOR), Ok(MAX_NO_PIN_LIMIT_MINOR));
        assert_eq!(no_pin_limit(MAX_NO_PIN_LIMIT_MINOR + 1), Err(Error::InvalidAmount));
        assert_eq!(no_pin_limit(-1), Err(Error::InvalidAmount));
    }

    #[test]
    fn six_digits_only() {
        assert!(Pin::parse("012345").is_ok());
        for bad in ["12345", "1234567", "12345a", "１２３４５６", "", " 12345"] {
            assert_eq!(Pin::parse(bad), Err(Error::InvalidPin), "{bad:?}");
        }
        assert_eq!(format!("{:?}", Pin::parse("123456").expect("valid")), "Pin(******)");
    }

    #[test]
    fn five_wrong_tries_lock_for_the_configured_time() {
        let mut state = PinState::default();
        for _ in 0..4 {
            state = state.after_try(false, 1_000, 60_000);
            assert_eq!(state.may_try(1_000), Ok(()));
        }
        state = state.after_try(false, 1_000, 60_000);
        assert_eq!(state.may_try(1_000), Err(Error::PinLocked));
        assert_eq!(state.may_try(60_999), Err(Error::PinLocked));
        assert_eq!(state.may_try(61_000), Ok(()));
        // After the lock, one wrong try is one, not six.
        let after = state.after_try(false, 61_000, 60_000);
        assert_eq!(after.wrong_tries, 1);
        assert_eq!(after.locked_until_ms, None);
        assert_eq!(after.after_try(true, 61_001, 60_000), PinState::default());
    }

    #[test]
    fn no_pin_limit_is_off_by_default() {
        assert!(needs_pin(1, 0));
        assert!(!needs_pin(500, 500));
        assert!(needs_pin(501, 500));
    }
}
