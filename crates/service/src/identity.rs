//! Proving phone numbers and email addresses, and the daily budget of
//! looking people up. A number or address counts for sign-in, search and
//! contact discovery only once the one-time code sent to it comes back, so
//! nobody can take someone else's number, and enumerating numbers costs
//! more than one address or account may spend in a day.

use std::sync::Arc;

use qiao_domain::identity::{Language, Phone};
use qiao_domain::ids::UserId;
use qiao_domain::verification::{Code, IdentifierKind};
use qiao_domain::Error as Rule;
use qiao_store::{Confirmed, Store, UserRecord};
use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::notify::{EmailSender, SmsSender};
use crate::Result;

/// How many people an account, and an address, may look up per UTC day
/// (a search is one, a discovery request one per number).
#[derive(Debug, Clone, Copy)]
pub struct LookupBudgets {
    pub per_account_per_day: i64,
    pub per_address_per_day: i64,
}

pub struct Identity {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    sms: Arc<dyn SmsSender>,
    email: Arc<dyn EmailSender>,
    budgets: LookupBudgets,
}

/// What the database keeps of a code: it can't be read back.
fn code_hash(user: UserId, kind: IdentifierKind, code: &Code) -> String {
    hex::encode(Sha256::digest(
        format!("qiao-code:{}:{}:{}", user.0, kind.as_str(), code.as_str()).as_bytes(),
    ))
}

fn message(language: Language, code: &Code) -> (&'static str, String) {
    match language {
        Language::ZhCn => (
            "桥验证码",
            format!("【桥】你的验证码是 {}，10 分钟内有效。请勿告诉他人。", code.as_str()),
        ),
        Language::EnUs => (
            "Your Qiao code",
            format!(
                "Your Qiao code is {}. It expires in 10 minutes. Don't share it.",
                code.as_str()
            ),
        ),
    }
}

impl Identity {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        sms: Arc<dyn SmsSender>,
        email: Arc<dyn EmailSender>,
        budgets: LookupBudgets,
    ) -> Self {
        Self {
            store,
            clock,
            sms,
            email,
            budgets,
        }
    }

    /// Sends a new code to the user's claimed phone or email (at most one a
    /// minute and ten a day). The code is counted before it is sent, so a
    /// failing gateway can't be used to send without limit.
    pub async fn send_code(&self, user: UserId, kind: IdentifierKind) -> Result<()> {
        let record = self.store.user(user).await?;
        let code = Code::from_random(rand::random::<u32>());
        let claim = self
            .store
            .record_code(user, kind, &code_hash(user, kind, &code), self.clock.now_ms())
            .await?;
        let (subject, body) = message(record.language, &code);
        let sent = match kind {
            IdentifierKind::Phone => self.sms.send_sms(&claim.value, &body).await,
            IdentifierKind::Email => self.email.send_email(&claim.value, subject, &body).await,
        };
        sent.map_err(|e| {
            tracing::error!(user = user.0, kind = kind.as_str(), error = %e, "a verification code could not be sent");
            crate::Error::Internal(e.to_string())
        })
    }

    /// Checks a code. Right: the phone or email now counts, and the user is
    /// returned as they are now. Wrong: `VerificationCodeWrong`, one try used.
    pub async fn confirm(&self, user: UserId, kind: IdentifierKind, code: &str) -> Result<UserRecord> {
        let code = Code::parse(code)?;
        let claims = self.store.claims(user).await?;
        let claim = claims.iter().find(|c| c.kind == kind).ok_or(Rule::NothingToVerify)?;
        let phone_hash = match kind {
            IdentifierKind::Phone => Some(Phone::parse(&claim.value)?.discovery_hash()),
            IdentifierKind::Email => None,
        };
        let outcome = self
            .store
            .confirm_claim(
                user,
                kind,
                &code_hash(user, kind, &code),
                phone_hash.as_deref(),
                self.clock.now_ms(),
            )
            .await?;
        match outcome {
            Confirmed::Proven(user_record) => {
                tracing::info!(user = user.0, kind = kind.as_str(), "identifier proven");
                Ok(user_record)
            }
            Confirmed::Wrong => {
                tracing::warn!(user = user.0, kind = kind.as_str(), "wrong verification code");
                Err(Rule::VerificationCodeWrong.into())
            }
        }
    }

    /// Takes `lookups` from today's budgets of this account and this address.
    pub async fn spend_lookups(&self, user: UserId, address: std::net::IpAddr, lookups: usize) -> Result<()> {
        let day = qiao_domain::caps::utc_day(self.clock.now_ms());
        let amount = i64::try_from(lookups).unwrap_or(i64::MAX);
        let spent = async {
            self.store
                .spend_budget(
                    &format!("lookup:user:{}", user.0),
                    day,
                    amount,
                    self.budgets.per_account_per_day,
                )
                .await?;
            self.store
                .spend_budget(
                    &format!("lookup:address:{address}"),
                    day,
                    amount,
                    self.budgets.per_address_per_day,
                )
                .await
        };
        spent.await.map(|_| ()).map_err(|e| {
            tracing::warn!(user = user.0, %address, error = %e, "lookups refused");
            e.into()
        })
    }
}
