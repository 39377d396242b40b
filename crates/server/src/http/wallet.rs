//! The wallet's first slice: bind a card (as the region allows), top up from a
//! debit card, and see balances.
//!
//! A top-up never leaves money half-moved: Qiao first reserves it as a pending
//! transfer from the connector's clearing account to the wallet, then asks the
//! bank, then posts the transfer (the bank took the money) or voids it (the
//! bank said no or did not answer; the sandbox never charges on a timeout).
//! The client's idempotency key runs through all three steps, so a retry
//! after a crash at any point finishes the same top-up, never a second one.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use qiao_api as api;
use qiao_domain::card::{CardNumber, Funding};
use qiao_domain::ids::{ClientMsgId, UserId};
use qiao_domain::ledger::AccountKind;
use qiao_domain::money::{Amount, Currency};
use qiao_domain::Error;
use qiao_store::{CardRecord, LedgerAccount, NewTransfer, TransferPhase};

use crate::auth::AuthUser;
use crate::bank::BankError;
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::state::AppState;

fn card_view(card: &CardRecord) -> api::Card {
    api::Card {
        id: card.id,
        last4: card.last4.clone(),
        brand: card.brand.clone(),
        funding: card.funding.as_str().to_owned(),
        created_at_ms: card.created_at_ms,
    }
}

fn wallet_owner(user: UserId) -> String {
    format!("user:{}", user.0)
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
            created_at_ms: app.clock.now_ms(),
        })
        .await?;
    Ok((StatusCode::CREATED, Json(card_view(&card))))
}

#[utoipa::path(get, path = "/api/wallet/cards", tag = "wallet", responses((status = 200, body = Vec<api::Card>)),
    security(("bearer" = [])))]
pub async fn cards(State(app): State<AppState>, auth: AuthUser) -> ApiResult<Json<Vec<api::Card>>> {
    Ok(Json(app.store.cards(auth.user).await?.iter().map(card_view).collect()))
}

async fn wallet_account(app: &AppState, user: UserId, currency: Currency) -> ApiResult<LedgerAccount> {
    Ok(app
        .store
        .ledger_account(AccountKind::Wallet, &wallet_owner(user), currency, app.clock.now_ms())
        .await?)
}

#[utoipa::path(get, path = "/api/wallet", tag = "wallet", responses((status = 200, body = api::Wallet)),
    security(("bearer" = [])))]
pub async fn wallet(State(app): State<AppState>, auth: AuthUser) -> ApiResult<Json<api::Wallet>> {
    let user = app.store.user(auth.user).await?;
    let account = wallet_account(&app, auth.user, user.region.currency()).await?;
    let totals = account.account.totals;
    let balance = api::Balance {
        currency: account.account.currency.code().to_owned(),
        balance_minor: totals.posted_balance().ok_or(ApiError(Error::AmountOverflow))?,
        available_minor: totals.available().ok_or(ApiError(Error::AmountOverflow))?,
    };
    Ok(Json(api::Wallet {
        balances: vec![balance],
    }))
}

/// The stable code a voided top-up answers with on every retry.
fn void_reason(error: &BankError) -> &'static str {
    Error::from(error.clone()).code()
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
    let key = ClientMsgId::parse(&req.idempotency_key)?;
    let card = app.store.card(auth.user, req.card_id).await?;
    if card.funding != Funding::Debit {
        // Credit cards are for paying later, not for loading stored value.
        return Err(Error::FundingNotAllowed.into());
    }
    let user = app.store.user(auth.user).await?;
    let amount = Amount::new(req.amount_minor, user.region.currency())?;
    let now = app.clock.now_ms();
    let wallet = wallet_account(&app, auth.user, amount.currency()).await?;
    let clearing = app
        .store
        .ledger_account(
            AccountKind::BankClearing,
            &format!("connector:{}", card.connector),
            amount.currency(),
            now,
        )
        .await?;
    let pending_key = format!("top-up:{}:{}", auth.user.0, key.as_str());
    let reserve = NewTransfer {
        key: pending_key.clone(),
        debit: clearing.id,
        credit: wallet.id,
        amount,
        pending: true,
        memo: format!("top-up from card {}", card.id),
    };
    app.store.transfer(reserve, now).await?;

    let settled = match app.store.settlement_of(&pending_key).await? {
        Some(done) => done,
        None => {
            let answer = app.bank.charge(&card.token, amount, &pending_key).await;
            let (post, memo) = match &answer {
                Ok(receipt) => (true, receipt.reference.clone()),
                Err(e) => (false, void_reason(e).to_owned()),
            };
            let key = format!("{pending_key}:{}", if post { "post" } else { "void" });
            app.store
                .settle(&key, &pending_key, post, &memo, app.clock.now_ms())
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
    let balance = app.store.ledger_account_by_id(wallet.id).await?.account.totals;
    Ok((
        StatusCode::CREATED,
        Json(api::TopUp {
            idempotency_key: key.as_str().to_owned(),
            amount_minor: amount.minor(),
            currency: amount.currency().code().to_owned(),
            status: "posted".to_owned(),
            balance_minor: balance.posted_balance().ok_or(ApiError(Error::AmountOverflow))?,
        }),
    ))
}

#[utoipa::path(get, path = "/api/wallet/cards/{id}", tag = "wallet", params(("id" = i64, Path)),
    responses((status = 200, body = api::Card), (status = 404, body = api::ErrorBody)), security(("bearer" = [])))]
pub async fn card(State(app): State<AppState>, auth: AuthUser, Path(id): Path<i64>) -> ApiResult<Json<api::Card>> {
    Ok(Json(card_view(&app.store.card(auth.user, id).await?)))
}
