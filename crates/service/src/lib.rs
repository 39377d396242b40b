//! Qiao's use cases. The money service layer ([`money::Money`]) owns every
//! rule about money that is not pure arithmetic: which cards a region may
//! bind, the PIN gate and step-up, how a movement crosses to a bank and how
//! one left half-way is finished, spending caps, chat transfers and red
//! packets, the pay-later line, statements and repayment. HTTP handlers and
//! the CLI only call it.
//!
//! Architecture invariants:
//! - No HTTP here, and no SQL: the store is reached through its trait.
//! - Every check that guards money runs inside the store's writer operation
//!   that moves it (the service passes ceilings and caps down; it never reads
//!   a balance and then decides to write).
//! - Pure rules live in `qiao-domain`; this crate sequences them with I/O
//!   (the bank, the clock, password hashing).

pub mod bank;
pub mod clock;
pub mod error;
pub mod identity;
pub mod money;
pub mod notify;
pub mod secrets;
pub mod webhooks;

pub use error::{Error, Result};
