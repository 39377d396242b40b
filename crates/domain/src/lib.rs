//! Qiao's domain: the types, rules and limits every other crate builds on.
//!
//! Architecture invariant: this crate does no I/O, has no async and knows
//! nothing of HTTP, SQL or JSON. Values are built only through `parse`, so a
//! value of a domain type is always valid.

pub mod caps;
pub mod card;
pub mod conversation;
pub mod emvco;
pub mod error;
pub mod event;
pub mod fx;
pub mod identity;
pub mod ids;
pub mod journal;
pub mod ledger;
pub mod limits;
pub mod merchant;
pub mod message;
pub mod money;
pub mod payment;
pub mod payment_code;
pub mod pin;
pub mod red_packet;
pub mod verification;
pub mod webhook;

pub use error::Error;
