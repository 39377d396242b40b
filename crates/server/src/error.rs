//! The one mapping from failures to HTTP: a status and `{code, message}` with
//! the message in the caller's language. Internal causes are logged, never sent.

use std::sync::{Arc, OnceLock};

use axum::extract::{FromRequest, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use qiao_api::ErrorBody;
use qiao_domain::identity::Language;
use qiao_domain::ids::UserId;
use qiao_domain::limits::MAX_JSON_BODY_BYTES;
use qiao_domain::Error;
use qiao_store::StoreError;

use crate::state::AppState;

/// A failed request. Carries only the code (and, for a code of another
/// payment scheme, the scheme's name); [`localize`] writes the body.
#[derive(Debug)]
pub struct ApiError(pub Error, pub Option<&'static str>);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e, None)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Rejected(code) => ApiError(code, None),
            StoreError::Backend(cause) | StoreError::NeedsExclusive(cause) => {
                tracing::error!(%cause, "store failure");
                ApiError(Error::Internal, None)
            }
            StoreError::Unavailable(cause) => {
                tracing::warn!(%cause, "database unavailable");
                ApiError(Error::Unavailable, None)
            }
        }
    }
}

impl From<qiao_service::Error> for ApiError {
    fn from(e: qiao_service::Error) -> Self {
        match e {
            qiao_service::Error::Rejected(code) => ApiError(code, None),
            qiao_service::Error::ForeignQr(scheme) => ApiError(Error::QrOtherScheme, Some(scheme.name())),
            qiao_service::Error::Internal(cause) => {
                tracing::error!(%cause, "service failure");
                ApiError(Error::Internal, None)
            }
            qiao_service::Error::Unavailable(cause) => {
                tracing::warn!(%cause, "database unavailable");
                ApiError(Error::Unavailable, None)
            }
        }
    }
}

pub fn status_of(error: Error) -> StatusCode {
    use Error::*;
    match error {
        InvalidRequest | InvalidPhone | InvalidEmail | InvalidPassword | InvalidQiaoId | InvalidDisplayName
        | InvalidRegion | InvalidLanguage | IdentifierRequired | TooLong | InvalidCursor | CannotAddSelf => {
            StatusCode::BAD_REQUEST
        }
        BadCredentials | Unauthorized => StatusCode::UNAUTHORIZED,
        Forbidden | NotMember | NotFriends | Blocked => StatusCode::FORBIDDEN,
        NotFound | UserNotFound | FriendRequestNotFound | ConversationNotFound | MessageNotFound | UploadNotFound => {
            StatusCode::NOT_FOUND
        }
        PhoneTaken | EmailTaken | QiaoIdTaken | QiaoIdAlreadySet | AlreadyFriends | FriendRequestHandled
        | AlreadyMember | OwnerMustTransfer | RecallWindowPassed | AlreadyRecalled | IdempotencyConflict
        | GroupFull | InsufficientFunds | CreditLimitExceeded | AlreadySettled => StatusCode::CONFLICT,
        CurrencyMismatch | AmountOverflow | InvalidCard => StatusCode::BAD_REQUEST,
        CardDeclined => StatusCode::PAYMENT_REQUIRED,
        FundingNotAllowed => StatusCode::FORBIDDEN,
        BankTimeout => StatusCode::GATEWAY_TIMEOUT,
        RateLimited => StatusCode::TOO_MANY_REQUESTS,
        UploadTooLarge | PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        InvalidAmount | UnknownCurrency | InvalidPin => StatusCode::BAD_REQUEST,
        PinNotSet | PinRequired | WrongPin | NoCreditLine => StatusCode::FORBIDDEN,
        PinLocked => StatusCode::LOCKED,
        PaymentNotFound => StatusCode::NOT_FOUND,
        PaymentExpired => StatusCode::GONE,
        PaymentHandled | RedPacketAlreadyOpened | RedPacketEmpty | RepaymentExceedsOwed => StatusCode::CONFLICT,
        AmountAboveLimit => StatusCode::BAD_REQUEST,
        DailyLimitReached => StatusCode::CONFLICT,
        StepUpRequired => StatusCode::FORBIDDEN,
        ResetProofRejected => StatusCode::FORBIDDEN,
        RecipientRequired => StatusCode::BAD_REQUEST,
        DirectPacketOneShare => StatusCode::BAD_REQUEST,
        CreditCardNotForStoredValue => StatusCode::FORBIDDEN,
        InvalidText => StatusCode::BAD_REQUEST,
        WrongPassword => StatusCode::FORBIDDEN,
        VerificationCodeWrong => StatusCode::BAD_REQUEST,
        VerificationCodeExpired => StatusCode::GONE,
        CodeSentRecently => StatusCode::TOO_MANY_REQUESTS,
        NothingToVerify => StatusCode::CONFLICT,
        LookupBudgetSpent => StatusCode::TOO_MANY_REQUESTS,
        SendingTooFast => StatusCode::TOO_MANY_REQUESTS,
        UploadQuotaExceeded => StatusCode::TOO_MANY_REQUESTS,
        UriTooLong => StatusCode::URI_TOO_LONG,
        QrMalformed => StatusCode::BAD_REQUEST,
        QrChecksum => StatusCode::BAD_REQUEST,
        QrMissingField => StatusCode::BAD_REQUEST,
        QrInvalidField => StatusCode::BAD_REQUEST,
        QrOtherScheme => StatusCode::UNPROCESSABLE_ENTITY,
        InvalidRate => StatusCode::BAD_REQUEST,
        RateUnavailable => StatusCode::UNPROCESSABLE_ENTITY,
        RefundExceedsPaid => StatusCode::CONFLICT,
        QuoteNotFound => StatusCode::NOT_FOUND,
        QuoteExpired => StatusCode::GONE,
        QuoteUsed => StatusCode::CONFLICT,
        OrderNotFound => StatusCode::NOT_FOUND,
        OrderExpired => StatusCode::GONE,
        OrderClosed => StatusCode::CONFLICT,
        OrderAlreadyPaid => StatusCode::CONFLICT,
        OrderNotPaid => StatusCode::CONFLICT,
        OrderNumberTaken => StatusCode::CONFLICT,
        MerchantNotFound => StatusCode::NOT_FOUND,
        InvalidApiKey => StatusCode::UNAUTHORIZED,
        StaffNotAllowed => StatusCode::FORBIDDEN,
        InvalidMcc => StatusCode::BAD_REQUEST,
        InvalidCountry => StatusCode::BAD_REQUEST,
        InvalidUrl => StatusCode::BAD_REQUEST,
        PaymentCodeInvalid => StatusCode::NOT_FOUND,
        PaymentCodeExpired => StatusCode::GONE,
        PaymentCodeUsed => StatusCode::CONFLICT,
        QrTampered => StatusCode::BAD_REQUEST,
        MerchantBalanceInsufficient => StatusCode::CONFLICT,
        InvalidOrderNumber => StatusCode::BAD_REQUEST,
        OrderNotAwaitingConfirmation => StatusCode::CONFLICT,
        Internal => StatusCode::INTERNAL_SERVER_ERROR,
        Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// Marks a response as an error whose body the localizing layer writes
/// (with a proper name to add to the message, such as a payment scheme's).
#[derive(Debug, Clone, Copy)]
pub struct ErrorMark(pub Error, pub Option<&'static str>);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = status_of(self.0).into_response();
        response.extensions_mut().insert(ErrorMark(self.0, self.1));
        response
    }
}

/// The body of an error in a language.
pub fn body(error: Error, language: Language) -> ErrorBody {
    body_naming(error, None, language)
}

/// The body of an error whose message names something (e.g. `(Pix)`).
pub fn body_naming(error: Error, name: Option<&str>, language: Language) -> ErrorBody {
    let text = crate::i18n::error_message(error, language);
    ErrorBody {
        code: error.code().to_owned(),
        message: match name {
            Some(name) if language == Language::ZhCn => format!("{text}（{name}）"),
            Some(name) => format!("{text} ({name})"),
            None => text.to_owned(),
        },
    }
}

/// Who a request turned out to come from, set by the `AuthUser` extractor,
/// so that [`localize`] can answer in the caller's own language.
#[derive(Debug, Clone, Default)]
pub struct Caller(Arc<OnceLock<UserId>>);

impl Caller {
    pub fn set(&self, user: UserId) {
        let _ = self.0.set(user);
    }
}

/// Middleware: fills in the `{code, message}` body of every error response,
/// including the framework's own 404/405, in the request's `Accept-Language`,
/// or, without one, in the signed-in caller's language (English for
/// anyone else).
pub async fn localize(State(app): State<AppState>, mut request: Request, next: axum::middleware::Next) -> Response {
    let asked = request
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(Language::from_accept_language);
    let caller = Caller::default();
    request.extensions_mut().insert(caller.clone());
    let response = next.run(request).await;
    let mark = response.extensions().get::<ErrorMark>().copied();
    let name = mark.and_then(|m| m.1);
    let error = match (mark, response.status()) {
        (Some(ErrorMark(error, _)), _) => error,
        (None, StatusCode::NOT_FOUND) if is_empty(&response) => Error::NotFound,
        (None, StatusCode::METHOD_NOT_ALLOWED) => Error::NotFound,
        (None, StatusCode::PAYLOAD_TOO_LARGE) => Error::PayloadTooLarge,
        (None, StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY) if !is_json(&response) => {
            Error::InvalidRequest
        }
        _ => return response,
    };
    let status = if mark.is_some() {
        response.status()
    } else {
        status_of(error)
    };
    let language = match (asked, caller.0.get()) {
        (Some(language), _) => language,
        (None, Some(user)) => crate::sessions::language_of(&app, *user).await,
        (None, None) => Language::default(),
    };
    (status, axum::Json(body_naming(error, name, language))).into_response()
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

fn is_empty(response: &Response) -> bool {
    response.headers().get(header::CONTENT_TYPE).is_none()
}

/// A JSON body extractor whose failures are answered in Qiao's error format,
/// with its own size limit (the router's limit is sized for uploads).
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .eq_ignore_ascii_case("application/json")
            });
        if !is_json {
            return Err(ApiError::from(Error::InvalidRequest));
        }
        let bytes = axum::body::to_bytes(req.into_body(), MAX_JSON_BODY_BYTES)
            .await
            .map_err(|_| ApiError::from(Error::PayloadTooLarge))?;
        // Bodies are objects with named fields: serde would also take a JSON
        // array as the fields in order, which no client means.
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|_| ApiError::from(Error::InvalidRequest))?;
        if !value.is_object() {
            return Err(ApiError::from(Error::InvalidRequest));
        }
        serde_json::from_value(value)
            .map(ApiJson)
            .map_err(|_| ApiError::from(Error::InvalidRequest))
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_maps_to_an_error_status() {
        for error in Error::ALL {
            let status = status_of(*error);
            assert!(status.is_client_error() || status.is_server_error(), "{error:?}");
        }
    }
}
