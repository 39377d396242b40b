//! The wallet: bind cards (as the region allows), top up from and withdraw to
//! a debit card, and see balances, the credit line and the PIN's state.
//!
//! Money that crosses to a bank never moves half-way: Qiao first reserves it
//! as a pending transfer, then asks the bank, then posts the transfer (the
//! bank moved the money) or voids it (the bank said no or did not answer; the
//! sandbox never moves money on a timeout). The client's idempotency key runs
//! through all three steps, so a retry after a crash at any point finishes
//! the same operation, never a second one.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use qiao_api as api;
use qiao_domain::card::{CardNumber, Funding};
use qiao_domain::ids::{ClientMsgId, UserId};
use qiao_domain::ledger::{user_owner, AccountKind};
use qiao_domain::money::{Amount, Currency};
use qiao_domain::Error;
use qiao_store::{CardRecord, LedgerAccount, LedgerAccountId, NewTransfer, TransferPhase};

use crate::auth::AuthUser;
use crate::bank::BankError;
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::state::AppState;

pub fn card_view(card: &CardRecord) -> api::Card {
    api::Card {
        id: card.id,
        last4: card.last4.clone(),
        brand: card.brand.clone(),
        funding: card.funding.as_str().to_owned(),
        created_at_ms: card.created_at_ms,
    }
}

/// The currency a request names, which must be the wallet's; absent means the wallet's.
pub fn request_currency(given: Option<&str>, wallet: Currency) -> ApiResult<Currency> {
    match given {
        None => Ok(wallet),
        Some(code) if Currency::parse(code)? == wallet => Ok(wallet),
        Some(_) => Err(Error::CurrencyMismatch.into()),
    }
}

#[utoipa::path(post, path = "/api/wallet/cards", tag = "wallet", request_body = api::BindCardRequest,
    responses((status = 201, body = api::Card), (status = 400, body = api::ErrorBody), (status = 402, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn bind_card(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiJson(req): ApiJson<api::BindCardRequest>,
) -> ApiResult<(StatusCode, Json<api::Card>)> {
    let number = CardNumber::parse(&req.number)?;
    let funding = Funding::parse(&req.funding)?;
    let user = app.store.user(auth.user).await?;
    if !app.config.funding_allowed(user.region.code(), funding.as_str()) {
        return Err(Error::FundingNotAllowed.into());
    }
    let token = app.bank.tokenize(&number, funding).await.map_err(Error::from)?;
    let now = app.clock.now_ms();
    let card = app
        .store
        .add_card(CardRecord {
            id: 0,
            user_id: auth.user,
            connector: app.bank.name().to_owned(),
            token: token.token,
            last4: token.last4,
            brand: token.brand.to_owned(),
            funding,
            created_at_ms: now,
        })
        .await?;
    if funding == Funding::Credit {
        // A credit card opens the pay-later line (once; later cards keep it).
        let currency = user.region.currency();
        let limit_minor = app
            .config
            .pay_later_limit_minor
            .get(currency.code())
            .copied()
            .unwrap_or(0);
        app.store
            .ledger_account(
                AccountKind::CreditLine { limit_minor },
                &user_owner(auth.user),
                currency,
                now,
            )
            .await?;
    }
    Ok((StatusCode::CREATED, Json(card_view(&card))))
}

#[utoipa::path(get, path = "/api/wallet/cards", tag = "wallet", responses((status = 200, body = Vec<api::Card>)),
    security(("bearer" = [])))]
pub async fn cards(State(app): State<AppState>, auth: AuthUser) -> ApiResult<Json<Vec<api::Card>>> {
    Ok(Json(app.store.cards(auth.user).await?.iter().map(card_view).collect()))
}

#[utoipa::path(get, path = "/api/wallet/cards/{id}", tag = "wallet", params(("id" = i64, Path)),
    responses((status = 200, body = api::Card), (status = 404, body = api::ErrorBody)), security(("bearer" = [])))]
pub async fn card(State(app): State<AppState>, auth: AuthUser, Path(id): Path<i64>) -> ApiResult<Json<api::Card>> {
    Ok(Json(card_view(&app.store.card(auth.user, id).await?)))
}

/// The user's wallet account in `currency`, opened on first use.
pub async fn wallet_account(app: &AppState, user: UserId, currency: Currency) -> ApiResult<LedgerAccount> {
    Ok(app
        .store
        .ledger_account(AccountKind::Wallet, &user_owner(user), currency, app.clock.now_ms())
        .await?)
}

/// The user's accounts that exist (wallets, one per currency, and the
/// pay-later line), in one read; reading never opens one.
pub async fn user_accounts(app: &AppState, user: UserId) -> ApiResult<Vec<LedgerAccount>> {
    Ok(app.store.ledger_accounts_of(&user_owner(user)).await?)
}

/// The user's pay-later line, if a credit card opened one.
pub async fn credit_line(app: &AppState, user: UserId, currency: Currency) -> ApiResult<Option<LedgerAccount>> {
    Ok(app
        .store
        .find_ledger_account(AccountKind::CreditLine { limit_minor: 0 }, &user_owner(user), currency)
        .await?)
}

pub fn credit_view(line: &LedgerAccount) -> ApiResult<api::CreditLine> {
    let totals = line.account.totals;
    let limit_minor = match line.account.kind {
        AccountKind::CreditLine { limit_minor } => limit_minor,
        _ => 0,
    };
    let posted = totals.posted_balance().ok_or(ApiError(Error::AmountOverflow))?;
    let available = totals.available().ok_or(ApiError(Error::AmountOverflow))?;
    Ok(api::CreditLine {
        currency: line.account.currency.code().to_owned(),
        limit_minor,
        owed_minor: (-posted).max(0),
        available_minor: limit_minor.saturating_add(available).max(0),
    })
}

#[utoipa::path(get, path = "/api/wallet", tag = "wallet", responses((status = 200, body = api::Wallet)),
    security(("bearer" = [])))]
pub async fn wallet(State(app): State<AppState>, auth: AuthUser) -> ApiResult<Json<api::Wallet>> {
    let user = app.store.user(auth.user).await?;
    let currency = user.region.currency();
    // Reading never opens an account: a wallet nobody paid into is zero. The
    // region's currency always shows; others once money arrived in them.
    let accounts = user_accounts(&app, auth.user).await?;
    let mut balances = Vec::new();
    let mut credit_line = None;
    for account in &accounts {
        match account.account.kind {
            AccountKind::Wallet => {
                let totals = account.account.totals;
                balances.push(api::Balance {
                    currency: account.account.currency.code().to_owned(),
                    balance_minor: totals.posted_balance().ok_or(ApiError(Error::AmountOverflow))?,
                    available_minor: totals.available().ok_or(ApiError(Error::AmountOverflow))?,
                });
            }
            AccountKind::CreditLine { .. } if account.account.currency == currency => {
                credit_line = Some(credit_view(account)?);
            }
            _ => {}
        }
    }
    if let Some(i) = balances.iter().position(|b| b.currency == currency.code()) {
        balances.swap(0, i);
    } else {
        balances.insert(
            0,
            api::Balance {
                currency: currency.code().to_owned(),
                balance_minor: 0,
                available_minor: 0,
            },
        );
    }
    let pin = app.store.pin(auth.user).await?;
    Ok(Json(api::Wallet {
        balances,
        credit_line,
        pin: crate::http::pin::status(pin.as_ref(), app.clock.now_ms()),
    }))
}

/// Which way money crosses to the bank.
#[derive(Clone, Copy)]
pub enum BankMove {
    /// The bank pays Qiao (top-up, repayment by card).
    Charge,
    /// Qiao pays the bank (withdrawal).
    Payout,
}

/// One movement across the bank boundary: reserve, ask the bank, post or void.
pub struct ThroughBank<'a> {
    pub card: &'a CardRecord,
    pub amount: Amount,
    /// Unique per operation; derived from the client's idempotency key.
    pub pending_key: String,
    pub debit: LedgerAccountId,
    pub credit: LedgerAccountId,
    pub direction: BankMove,
    pub memo: String,
}

/// The stable code a voided movement answers with on every retry.
fn void_reason(error: &BankError) -> &'static str {
    Error::from(error.clone()).code()
}

/// Runs a movement to the end; `Err` with the bank's answer if it was voided.
pub async fn through_bank(app: &AppState, m: ThroughBank<'_>) -> ApiResult<()> {
    let reserve = NewTransfer {
        key: m.pending_key.clone(),
        debit: m.debit,
        credit: m.credit,
        amount: m.amount,
        pending: true,
        memo: m.memo,
    };
    app.store.transfer(reserve, app.clock.now_ms()).await?;
    let settled = match app.store.settlement_of(&m.pending_key).await? {
        Some(done) => done,
        None => {
            let answer = match m.direction {
                BankMove::Charge => app.bank.charge(&m.card.token, m.amount, &m.pending_key).await,
                BankMove::Payout => app.bank.payout(&m.card.token, m.amount, &m.pending_key).await,
            };
            let (post, memo) = match &answer {
                Ok(receipt) => (true, receipt.reference.clone()),
                Err(e) => (false, void_reason(e).to_owned()),
            };
            let key = format!("{}:{}", m.pending_key, if post { "post" } else { "void" });
            app.store
                .settle(&key, &m.pending_key, post, &memo, app.clock.now_ms())
                .await?
        }
    };
    if settled.phase == TransferPhase::VoidPending {
        let code = Error::ALL
            .iter()
            .copied()
            .find(|e| e.code() == settled.memo)
            .unwrap_or(Error::CardDeclined);
        return Err(code.into());
    }
    Ok(())
}

/// The connector's clearing account in `currency`.
pub async fn clearing_account(app: &AppState, card: &CardRecord, currency: Currency) -> ApiResult<LedgerAccount> {
    Ok(app
        .store
        .ledger_account(
            AccountKind::BankClearing,
            &format!("connector:{}", card.connector),
            currency,
            app.clock.now_ms(),
        )
        .await?)
}

/// A debit card of the caller's, for moving stored value.
async fn debit_card(app: &AppState, user: UserId, id: i64) -> ApiResult<CardRecord> {
    let card = app.store.card(user, id).await?;
    if card.funding != Funding::Debit {
        // Credit cards are for paying later, not for loading or unloading stored value.
        return Err(Error::FundingNotAllowed.into());
    }
    Ok(card)
}

#[utoipa::path(post, path = "/api/wallet/top-ups", tag = "wallet", request_body = api::TopUpRequest,
    responses((status = 201, body = api::TopUp), (status = 400, body = api::ErrorBody), (status = 402, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody), (status = 504, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn top_up(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiJson(req): ApiJson<api::TopUpRequest>,
) -> ApiResult<(StatusCode, Json<api::TopUp>)> {
    let (key, amount, balance_minor) = card_move(
        &app,
        auth.user,
        req.card_id,
        req.amount_minor,
        &req.idempotency_key,
        None,
        BankMove::Charge,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(api::TopUp {
            idempotency_key: key.as_str().to_owned(),
            amount_minor: amount.minor(),
            currency: amount.currency().code().to_owned(),
            status: "posted".to_owned(),
            balance_minor,
        }),
    ))
}

/// Stored value to or from one of the user's debit cards: a top-up
/// (`Charge`) or a withdrawal (`Payout`, which needs the PIN). Returns the
/// key, the amount and the wallet's balance after.
async fn card_move(
    app: &AppState,
    user: UserId,
    card_id: i64,
    amount_minor: i64,
    key: &str,
    pin: Option<&str>,
    direction: BankMove,
) -> ApiResult<(ClientMsgId, Amount, i64)> {
    let key = ClientMsgId::parse(key)?;
    let card = debit_card(app, user, card_id).await?;
    let region = app.store.user(user).await?.region;
    let amount = Amount::new(amount_minor, region.currency())?;
    if let BankMove::Payout = direction {
        crate::http::pin::authorize(app, user, pin, amount.minor()).await?;
    }
    let wallet = wallet_account(app, user, amount.currency()).await?;
    let clearing = clearing_account(app, &card, amount.currency()).await?;
    let (name, purpose, debit, credit) = match direction {
        BankMove::Charge => ("top-up", "top_up", clearing.id, wallet.id),
        BankMove::Payout => ("withdrawal", "withdrawal", wallet.id, clearing.id),
    };
    through_bank(
        app,
        ThroughBank {
            card: &card,
            amount,
            pending_key: format!("{name}:{}:{}", user.0, key.as_str()),
            debit,
            credit,
            direction,
            memo: format!("{purpose}:card-{}", card.id),
        },
    )
    .await?;
    let balance = app.store.ledger_account_by_id(wallet.id).await?.account.totals;
    Ok((
        key,
        amount,
        balance.posted_balance().ok_or(ApiError(Error::AmountOverflow))?,
    ))
}

#[utoipa::path(post, path = "/api/wallet/withdrawals", tag = "wallet", request_body = api::WithdrawRequest,
    responses((status = 201, body = api::Withdrawal), (status = 400, body = api::ErrorBody), (status = 402, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody), (status = 409, body = api::ErrorBody), (status = 423, body = api::ErrorBody),
        (status = 504, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn withdraw(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiJson(req): ApiJson<api::WithdrawRequest>,
) -> ApiResult<(StatusCode, Json<api::Withdrawal>)> {
    let (key, amount, balance_minor) = card_move(
        &app,
        auth.user,
        req.card_id,
        req.amount_minor,
        &req.idempotency_key,
        req.pin.as_deref(),
        BankMove::Payout,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(api::Withdrawal {
            idempotency_key: key.as_str().to_owned(),
            amount_minor: amount.minor(),
            currency: amount.currency().code().to_owned(),
            status: "posted".to_owned(),
            balance_minor,
        }),
    ))
}
