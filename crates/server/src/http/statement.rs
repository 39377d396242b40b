//! What the wallet shows of its past: the statement (paged, each entry's
//! detail, CSV export), the pay-later line with its monthly statements, and
//! repayment from the balance or a debit card.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use qiao_api as api;
use qiao_domain::card::Funding;
use qiao_domain::ids::{ClientMsgId, UserId};
use qiao_domain::ledger::AccountKind;
use qiao_domain::money::{Amount, Currency, Money};
use qiao_domain::Error;
use qiao_store::{wire, LedgerAccount, LedgerAccountId, NewTransfer, StatementEntry, StatementQuery, TransferPhase};
use serde::Deserialize;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::http::wallet::{
    card_view, clearing_account, credit_line, credit_view, through_bank, user_accounts, wallet_account, BankMove,
    ThroughBank,
};
use crate::state::AppState;

const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 200;
/// Most entries a CSV export or a monthly statement reads.
const MAX_EXPORT: usize = 10_000;

/// The user's accounts a statement covers (every wallet and the pay-later
/// line), each with its wire name.
async fn accounts(app: &AppState, user: UserId) -> ApiResult<HashMap<LedgerAccountId, &'static str>> {
    Ok(user_accounts(app, user)
        .await?
        .into_iter()
        .filter_map(|a| match a.account.kind {
            AccountKind::Wallet => Some((a.id, "wallet")),
            AccountKind::CreditLine { .. } => Some((a.id, "credit_line")),
            _ => None,
        })
        .collect())
}

/// One line per account of the user's the entry touches.
fn lines(entry: &StatementEntry, named: &HashMap<LedgerAccountId, &'static str>) -> Vec<api::StatementEntry> {
    let t = &entry.transfer;
    let status = match (&t.phase, &entry.settlement) {
        (TransferPhase::Pending, None) => "pending",
        (TransferPhase::Pending, Some(s)) if s.phase == TransferPhase::VoidPending => "voided",
        _ => "posted",
    };
    let (purpose, reference) = t.memo.split_once(':').unwrap_or((t.memo.as_str(), ""));
    [(t.debit, "out"), (t.credit, "in")]
        .into_iter()
        .filter_map(|(side, direction)| {
            named.get(&side).map(|account| api::StatementEntry {
                id: t.id,
                at_ms: t.created_at_ms,
                purpose: purpose.to_owned(),
                reference: reference.to_owned(),
                direction: direction.to_owned(),
                amount_minor: t.amount_minor,
                currency: t.currency.code().to_owned(),
                status: status.to_owned(),
                account: (*account).to_owned(),
            })
        })
        .collect()
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct PageQuery {
    /// Entries older than this id (from `next_before`).
    pub before: Option<i64>,
    pub limit: Option<usize>,
}

#[utoipa::path(get, path = "/api/wallet/statement", tag = "wallet", params(PageQuery),
    responses((status = 200, body = api::Statement), (status = 400, body = api::ErrorBody)), security(("bearer" = [])))]
pub async fn statement(
    State(app): State<AppState>,
    auth: AuthUser,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<api::Statement>> {
    let limit = q.limit.unwrap_or(DEFAULT_PAGE);
    if limit == 0 || limit > MAX_PAGE {
        return Err(Error::InvalidRequest.into());
    }
    let named = accounts(&app, auth.user).await?;
    let entries = app
        .store
        .statement(StatementQuery {
            accounts: named.keys().copied().collect(),
            before_id: q.before,
            from_ms: 0,
            until_ms: i64::MAX,
            limit,
        })
        .await?;
    let next_before = (entries.len() == limit)
        .then(|| entries.last().map(|e| e.transfer.id))
        .flatten();
    Ok(Json(api::Statement {
        entries: entries.iter().flat_map(|e| lines(e, &named)).collect(),
        next_before,
    }))
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct EntryDetail {
    /// One line per account of yours the entry touches.
    pub lines: Vec<api::StatementEntry>,
    /// The transfer or red packet it belongs to.
    pub payment: Option<api::ChatPayment>,
    /// The card it went to or came from.
    pub card: Option<api::Card>,
}

#[utoipa::path(get, path = "/api/wallet/statement/{id}", tag = "wallet", params(("id" = i64, Path)),
    responses((status = 200, body = EntryDetail), (status = 404, body = api::ErrorBody)), security(("bearer" = [])))]
pub async fn entry(State(app): State<AppState>, auth: AuthUser, Path(id): Path<i64>) -> ApiResult<Json<EntryDetail>> {
    let named = accounts(&app, auth.user).await?;
    let transfer = app.store.transfer_by_id(id).await?.ok_or(Error::NotFound)?;
    let settlement = match transfer.phase {
        TransferPhase::Pending => app.store.settlement_of(&transfer.key).await?,
        TransferPhase::Posted => None,
        // Settlement rows are shown through the entry they settle.
        _ => return Err(Error::NotFound.into()),
    };
    let entry = StatementEntry { transfer, settlement };
    let lines = lines(&entry, &named);
    if lines.is_empty() {
        // Someone else's money: the same answer as no entry at all.
        return Err(Error::NotFound.into());
    }
    let reference = lines[0].reference.clone();
    let payment = match reference.parse::<i64>() {
        Ok(payment) if matches!(lines[0].purpose.as_str(), "transfer" | "red_packet" | "refund") => app
            .store
            .payment(auth.user, payment)
            .await
            .ok()
            .map(|p| wire::payment(&p)),
        _ => None,
    };
    let card = match reference.strip_prefix("card-").map(str::parse::<i64>) {
        Some(Ok(card)) => app.store.card(auth.user, card).await.ok().map(|c| card_view(&c)),
        _ => None,
    };
    Ok(Json(EntryDetail { lines, payment, card }))
}

/// `2026-11-24T08:00:00Z`.
fn utc(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)).map_or_else(
        |_| ms.to_string(),
        |t| {
            format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        },
    )
}

fn decimal(minor: i64, currency: &str) -> String {
    match Currency::parse(currency) {
        Ok(currency) => Money { minor, currency }.to_decimal(),
        Err(_) => minor.to_string(),
    }
}

#[utoipa::path(get, path = "/api/wallet/statement.csv", tag = "wallet",
    responses((status = 200, content_type = "text/csv", body = String)), security(("bearer" = [])))]
pub async fn statement_csv(State(app): State<AppState>, auth: AuthUser) -> ApiResult<impl IntoResponse> {
    let named = accounts(&app, auth.user).await?;
    let entries = app
        .store
        .statement(StatementQuery {
            accounts: named.keys().copied().collect(),
            before_id: None,
            from_ms: 0,
            until_ms: i64::MAX,
            limit: MAX_EXPORT,
        })
        .await?;
    let mut csv = String::from("id,time_utc,purpose,reference,direction,amount,currency,status,account\r\n");
    for line in entries.iter().flat_map(|e| lines(e, &named)) {
        let signed = if line.direction == "out" {
            -line.amount_minor
        } else {
            line.amount_minor
        };
        // Every field is generated by Qiao (no user text), so none needs quoting.
        csv.push_str(&format!(
            "{},{},{},{},{},{},{},{},{}\r\n",
            line.id,
            utc(line.at_ms),
            line.purpose,
            line.reference,
            line.direction,
            decimal(signed, &line.currency),
            line.currency,
            line.status,
            line.account
        ));
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"qiao-statement.csv\"",
            ),
        ],
        csv,
    ))
}

async fn require_line(app: &AppState, user: UserId) -> ApiResult<LedgerAccount> {
    let currency = app.store.user(user).await?.region.currency();
    credit_line(app, user, currency)
        .await?
        .ok_or(ApiError(Error::NoCreditLine))
}

#[utoipa::path(get, path = "/api/wallet/credit", tag = "wallet",
    responses((status = 200, body = api::CreditLine), (status = 403, body = api::ErrorBody)), security(("bearer" = [])))]
pub async fn credit(State(app): State<AppState>, auth: AuthUser) -> ApiResult<Json<api::CreditLine>> {
    Ok(Json(credit_view(&require_line(&app, auth.user).await?)?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct MonthQuery {
    /// `YYYY-MM` (UTC); the current month when absent.
    pub month: Option<String>,
}

/// The first instant (ms) of a month and of the next one, and the due date.
fn month_bounds(year: i32, month: u8) -> Option<(i64, i64, String)> {
    let month = time::Month::try_from(month).ok()?;
    let start = time::Date::from_calendar_date(year, month, 1).ok()?;
    let (next_year, next_month) = if month == time::Month::December {
        (year + 1, time::Month::January)
    } else {
        (year, month.next())
    };
    let next = time::Date::from_calendar_date(next_year, next_month, 1).ok()?;
    let ms = |d: time::Date| d.midnight().assume_utc().unix_timestamp() * 1000;
    let due = format!("{:04}-{:02}-25", next_year, u8::from(next_month));
    Some((ms(start), ms(next), due))
}

fn parse_month(raw: Option<&str>, now_ms: i64) -> ApiResult<(String, i64, i64, String)> {
    let (year, month) = match raw {
        Some(raw) => {
            let (y, m) = raw.split_once('-').ok_or(Error::InvalidRequest)?;
            let year: i32 = y.parse().map_err(|_| Error::InvalidRequest)?;
            let month: u8 = m.parse().map_err(|_| Error::InvalidRequest)?;
            if y.len() != 4 || m.len() != 2 {
                return Err(Error::InvalidRequest.into());
            }
            (year, month)
        }
        None => {
            let now =
                time::OffsetDateTime::from_unix_timestamp(now_ms.div_euclid(1000)).map_err(|_| Error::Internal)?;
            (now.year(), u8::from(now.month()))
        }
    };
    let (from, until, due) = month_bounds(year, month).ok_or(Error::InvalidRequest)?;
    Ok((format!("{year:04}-{month:02}"), from, until, due))
}

#[utoipa::path(get, path = "/api/wallet/credit/statement", tag = "wallet", params(MonthQuery),
    responses((status = 200, body = api::CreditStatement), (status = 400, body = api::ErrorBody), (status = 403, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn credit_statement(
    State(app): State<AppState>,
    auth: AuthUser,
    Query(q): Query<MonthQuery>,
) -> ApiResult<Json<api::CreditStatement>> {
    let line = require_line(&app, auth.user).await?;
    let (month, from, until, due_date) = parse_month(q.month.as_deref(), app.clock.now_ms())?;
    let named: HashMap<_, _> = [(line.id, "credit_line")].into_iter().collect();
    let entries = app
        .store
        .statement(StatementQuery {
            accounts: vec![line.id],
            before_id: None,
            from_ms: 0,
            until_ms: until,
            limit: MAX_EXPORT,
        })
        .await?;
    let (mut opening, mut spent, mut repaid) = (0i64, 0i64, 0i64);
    let mut shown = Vec::new();
    for line in entries.iter().flat_map(|e| lines(e, &named)) {
        if line.status == "voided" {
            continue;
        }
        let signed = if line.direction == "out" {
            line.amount_minor
        } else {
            -line.amount_minor
        };
        if line.at_ms < from {
            opening = opening.saturating_add(signed);
        } else {
            if signed > 0 {
                spent = spent.saturating_add(signed);
            } else {
                repaid = repaid.saturating_add(-signed);
            }
            shown.push(line);
        }
    }
    Ok(Json(api::CreditStatement {
        month,
        currency: line.account.currency.code().to_owned(),
        opening_owed_minor: opening,
        spent_minor: spent,
        repaid_minor: repaid,
        closing_owed_minor: opening.saturating_add(spent).saturating_sub(repaid),
        due_date,
        entries: shown,
    }))
}

#[utoipa::path(post, path = "/api/wallet/credit/repayments", tag = "wallet", request_body = api::RepayRequest,
    responses((status = 201, body = api::Repayment), (status = 400, body = api::ErrorBody), (status = 403, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody), (status = 423, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn repay(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiJson(req): ApiJson<api::RepayRequest>,
) -> ApiResult<(StatusCode, Json<api::Repayment>)> {
    let key = ClientMsgId::parse(&req.idempotency_key)?;
    let line = require_line(&app, auth.user).await?;
    let amount = Amount::new(req.amount_minor, line.account.currency)?;
    let pending_key = format!("repayment:{}:{}", auth.user.0, key.as_str());
    // A retry of a repayment that went through must not trip the "more than owed" check.
    let done_before = app.store.transfer_by_key(&pending_key).await?.is_some();
    let owed = credit_view(&line)?.owed_minor;
    if !done_before && amount.minor() > owed {
        return Err(Error::RepaymentExceedsOwed.into());
    }
    match (req.source.as_str(), req.card_id) {
        ("balance", None) => {
            crate::http::pin::authorize(&app, auth.user, req.pin.as_deref(), amount.minor()).await?;
            let wallet = wallet_account(&app, auth.user, amount.currency()).await?;
            let new = NewTransfer {
                key: pending_key,
                debit: wallet.id,
                credit: line.id,
                amount,
                pending: false,
                memo: "repayment:balance".to_owned(),
            };
            app.store.transfer(new, app.clock.now_ms()).await?;
        }
        ("card", Some(card_id)) => {
            let card = app.store.card(auth.user, card_id).await?;
            if card.funding != Funding::Debit {
                return Err(Error::FundingNotAllowed.into());
            }
            let clearing = clearing_account(&app, &card, amount.currency()).await?;
            through_bank(
                &app,
                ThroughBank {
                    card: &card,
                    amount,
                    pending_key,
                    debit: clearing.id,
                    credit: line.id,
                    direction: BankMove::Charge,
                    memo: format!("repayment:card-{}", card.id),
                },
            )
            .await?;
        }
        _ => return Err(Error::InvalidRequest.into()),
    }
    let after = credit_view(&app.store.ledger_account_by_id(line.id).await?)?;
    Ok((
        StatusCode::CREATED,
        Json(api::Repayment {
            idempotency_key: key.as_str().to_owned(),
            amount_minor: amount.minor(),
            currency: amount.currency().code().to_owned(),
            owed_minor: after.owed_minor,
        }),
    ))
}
