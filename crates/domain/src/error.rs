//! The stable error codes of Qiao. Each variant is one rejection a client can
//! see; `code()` is the wire identifier and never changes once shipped.

/// Every reason Qiao refuses a request. Internal failures are not here: they
/// are logged by the server and reported as `internal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Error {
    #[error("invalid request")]
    InvalidRequest,
    #[error("invalid phone number")]
    InvalidPhone,
    #[error("invalid email address")]
    InvalidEmail,
    #[error("password too short or too long")]
    InvalidPassword,
    #[error("invalid Qiao ID")]
    InvalidQiaoId,
    #[error("invalid display name")]
    InvalidDisplayName,
    #[error("unsupported region")]
    InvalidRegion,
    #[error("unsupported language")]
    InvalidLanguage,
    #[error("phone or email required")]
    IdentifierRequired,
    #[error("phone already registered")]
    PhoneTaken,
    #[error("email already registered")]
    EmailTaken,
    #[error("Qiao ID already taken")]
    QiaoIdTaken,
    #[error("Qiao ID can be set only once")]
    QiaoIdAlreadySet,
    #[error("wrong credentials")]
    BadCredentials,
    #[error("missing or invalid token")]
    Unauthorized,
    #[error("too many attempts")]
    RateLimited,
    #[error("not found")]
    NotFound,
    #[error("user not found")]
    UserNotFound,
    #[error("cannot befriend yourself")]
    CannotAddSelf,
    #[error("already friends")]
    AlreadyFriends,
    #[error("not friends")]
    NotFriends,
    #[error("blocked")]
    Blocked,
    #[error("friend request not found")]
    FriendRequestNotFound,
    #[error("friend request already handled")]
    FriendRequestHandled,
    #[error("text too long")]
    TooLong,
    #[error("conversation not found")]
    ConversationNotFound,
    #[error("not a member")]
    NotMember,
    #[error("not permitted")]
    Forbidden,
    #[error("group is full")]
    GroupFull,
    #[error("already a member")]
    AlreadyMember,
    #[error("the owner must transfer ownership before leaving")]
    OwnerMustTransfer,
    #[error("message not found")]
    MessageNotFound,
    #[error("recall window has passed")]
    RecallWindowPassed,
    #[error("message already recalled")]
    AlreadyRecalled,
    #[error("idempotency key reused with different parameters")]
    IdempotencyConflict,
    #[error("upload too large")]
    UploadTooLarge,
    #[error("unsupported upload type")]
    UnsupportedMediaType,
    #[error("upload not found")]
    UploadNotFound,
    #[error("invalid cursor")]
    InvalidCursor,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("insufficient funds")]
    InsufficientFunds,
    #[error("credit limit exceeded")]
    CreditLimitExceeded,
    #[error("currency mismatch")]
    CurrencyMismatch,
    #[error("amount overflow")]
    AmountOverflow,
    #[error("pending transfer already settled")]
    AlreadySettled,
    #[error("invalid card number")]
    InvalidCard,
    #[error("card declined")]
    CardDeclined,
    #[error("the bank did not answer in time")]
    BankTimeout,
    #[error("this kind of card is not available in your region")]
    FundingNotAllowed,
    #[error("the amount must be a positive whole number of minor units")]
    InvalidAmount,
    #[error("unknown currency")]
    UnknownCurrency,
    #[error("a payment PIN is six digits")]
    InvalidPin,
    #[error("set a payment PIN first")]
    PinNotSet,
    #[error("payment PIN required")]
    PinRequired,
    #[error("wrong payment PIN")]
    WrongPin,
    #[error("payment PIN locked after too many wrong tries")]
    PinLocked,
    #[error("payment not found")]
    PaymentNotFound,
    #[error("payment expired")]
    PaymentExpired,
    #[error("payment already accepted, declined or refunded")]
    PaymentHandled,
    #[error("red packet already opened by this user")]
    RedPacketAlreadyOpened,
    #[error("no shares left in this red packet")]
    RedPacketEmpty,
    #[error("no pay-later credit line")]
    NoCreditLine,
    #[error("repayment larger than what is owed")]
    RepaymentExceedsOwed,
    #[error("amount above the per-operation limit")]
    AmountAboveLimit,
    #[error("daily limit reached")]
    DailyLimitReached,
    #[error("confirm with the payment PIN or the password")]
    StepUpRequired,
    #[error("the password or card number does not match")]
    ResetProofRejected,
    #[error("choose who receives the transfer")]
    RecipientRequired,
    #[error("a red packet in a direct chat has one share")]
    DirectPacketOneShare,
    #[error("credit cards pay later; they do not top up or withdraw")]
    CreditCardNotForStoredValue,
    #[error("text contains characters that cannot be sent")]
    InvalidText,
    #[error("wrong password")]
    WrongPassword,
    #[error("wrong verification code")]
    VerificationCodeWrong,
    #[error("the verification code expired")]
    VerificationCodeExpired,
    #[error("a code was sent less than a minute ago")]
    CodeSentRecently,
    #[error("nothing of this kind waits to be verified")]
    NothingToVerify,
    #[error("today's lookups are used up")]
    LookupBudgetSpent,
    #[error("sending too fast")]
    SendingTooFast,
    #[error("upload quota for this hour used up")]
    UploadQuotaExceeded,
    #[error("the address is too long")]
    UriTooLong,
    #[error("malformed QR payload")]
    QrMalformed,
    #[error("QR checksum does not match")]
    QrChecksum,
    #[error("QR payload lacks a mandatory field")]
    QrMissingField,
    #[error("QR payload has an invalid field")]
    QrInvalidField,
    #[error("QR code of another payment scheme")]
    QrOtherScheme,
    #[error("invalid exchange rate")]
    InvalidRate,
    #[error("no exchange rate for these currencies")]
    RateUnavailable,
    #[error("refund exceeds what was paid")]
    RefundExceedsPaid,
    #[error("quote not found")]
    QuoteNotFound,
    #[error("quote expired")]
    QuoteExpired,
    #[error("quote already used")]
    QuoteUsed,
    #[error("order not found")]
    OrderNotFound,
    #[error("order expired")]
    OrderExpired,
    #[error("order closed")]
    OrderClosed,
    #[error("order already paid")]
    OrderAlreadyPaid,
    #[error("order not paid")]
    OrderNotPaid,
    #[error("merchant order number already used")]
    OrderNumberTaken,
    #[error("merchant not found")]
    MerchantNotFound,
    #[error("missing, wrong or revoked API key")]
    InvalidApiKey,
    #[error("staff may not do this")]
    StaffNotAllowed,
    #[error("invalid merchant category code")]
    InvalidMcc,
    #[error("invalid country code")]
    InvalidCountry,
    #[error("invalid notification URL")]
    InvalidUrl,
    #[error("unknown payment code")]
    PaymentCodeInvalid,
    #[error("payment code expired")]
    PaymentCodeExpired,
    #[error("payment code already used")]
    PaymentCodeUsed,
    #[error("QR code does not match the merchant or order")]
    QrTampered,
    #[error("merchant balance too low")]
    MerchantBalanceInsufficient,
    #[error("invalid order or refund number")]
    InvalidOrderNumber,
    #[error("order is not waiting for confirmation")]
    OrderNotAwaitingConfirmation,
    #[error("internal error")]
    Internal,
    /// The database cannot be reached right now. The request may or may not
    /// have been carried out; retrying it with the same idempotency key is
    /// safe and gives the one outcome.
    #[error("service temporarily unavailable")]
    Unavailable,
}

impl Error {
    /// Every variant, for exhaustive checks (each code has texts in every language).
    pub const ALL: &'static [Error] = &[
        Error::InvalidRequest,
        Error::InvalidPhone,
        Error::InvalidEmail,
        Error::InvalidPassword,
        Error::InvalidQiaoId,
        Error::InvalidDisplayName,
        Error::InvalidRegion,
        Error::InvalidLanguage,
        Error::IdentifierRequired,
        Error::PhoneTaken,
        Error::EmailTaken,
        Error::QiaoIdTaken,
        Error::QiaoIdAlreadySet,
        Error::BadCredentials,
        Error::Unauthorized,
        Error::RateLimited,
        Error::NotFound,
        Error::UserNotFound,
        Error::CannotAddSelf,
        Error::AlreadyFriends,
        Error::NotFriends,
        Error::Blocked,
        Error::FriendRequestNotFound,
        Error::FriendRequestHandled,
        Error::TooLong,
        Error::ConversationNotFound,
        Error::NotMember,
        Error::Forbidden,
        Error::GroupFull,
        Error::AlreadyMember,
        Error::OwnerMustTransfer,
        Error::MessageNotFound,
        Error::RecallWindowPassed,
        Error::AlreadyRecalled,
        Error::IdempotencyConflict,
        Error::UploadTooLarge,
        Error::UnsupportedMediaType,
        Error::UploadNotFound,
        Error::InvalidCursor,
        Error::PayloadTooLarge,
        Error::InsufficientFunds,
        Error::CreditLimitExceeded,
        Error::CurrencyMismatch,
        Error::AmountOverflow,
        Error::AlreadySettled,
        Error::InvalidCard,
        Error::CardDeclined,
        Error::BankTimeout,
        Error::FundingNotAllowed,
        Error::InvalidAmount,
        Error::UnknownCurrency,
        Error::InvalidPin,
        Error::PinNotSet,
        Error::PinRequired,
        Error::WrongPin,
        Error::PinLocked,
        Error::PaymentNotFound,
        Error::PaymentExpired,
        Error::PaymentHandled,
        Error::RedPacketAlreadyOpened,
        Error::RedPacketEmpty,
        Error::NoCreditLine,
        Error::RepaymentExceedsOwed,
        Error::AmountAboveLimit,
        Error::DailyLimitReached,
        Error::StepUpRequired,
        Error::ResetProofRejected,
        Error::RecipientRequired,
        Error::DirectPacketOneShare,
        Error::CreditCardNotForStoredValue,
        Error::InvalidText,
        Error::WrongPassword,
        Error::VerificationCodeWrong,
        Error::VerificationCodeExpired,
        Error::CodeSentRecently,
        Error::NothingToVerify,
        Error::LookupBudgetSpent,
        Error::SendingTooFast,
        Error::UploadQuotaExceeded,
        Error::UriTooLong,
        Error::QrMalformed,
        Error::QrChecksum,
        Error::QrMissingField,
        Error::QrInvalidField,
        Error::QrOtherScheme,
        Error::InvalidRate,
        Error::RateUnavailable,
        Error::RefundExceedsPaid,
        Error::QuoteNotFound,
        Error::QuoteExpired,
        Error::QuoteUsed,
        Error::OrderNotFound,
        Error::OrderExpired,
        Error::OrderClosed,
        Error::OrderAlreadyPaid,
        Error::OrderNotPaid,
        Error::OrderNumberTaken,
        Error::MerchantNotFound,
        Error::InvalidApiKey,
        Error::StaffNotAllowed,
        Error::InvalidMcc,
        Error::InvalidCountry,
        Error::InvalidUrl,
        Error::PaymentCodeInvalid,
        Error::PaymentCodeExpired,
        Error::PaymentCodeUsed,
        Error::QrTampered,
        Error::MerchantBalanceInsufficient,
        Error::InvalidOrderNumber,
        Error::OrderNotAwaitingConfirmation,
        Error::Internal,
        Error::Unavailable,
    ];

    /// The stable wire code.
    pub fn code(self) -> &'static str {
        match self {
            Error::InvalidRequest => "invalid_request",
            Error::InvalidPhone => "invalid_phone",
            Error::InvalidEmail => "invalid_email",
            Error::InvalidPassword => "invalid_password",
            Error::InvalidQiaoId => "invalid_qiao_id",
            Error::InvalidDisplayName => "invalid_display_name",
            Error::InvalidRegion => "invalid_region",
            Error::InvalidLanguage => "invalid_language",
            Error::IdentifierRequired => "identifier_required",
            Error::PhoneTaken => "phone_taken",
            Error::EmailTaken => "email_taken",
            Error::QiaoIdTaken => "qiao_id_taken",
            Error::QiaoIdAlreadySet => "qiao_id_already_set",
            Error::BadCredentials => "bad_credentials",
            Error::Unauthorized => "unauthorized",
            Error::RateLimited => "rate_limited",
            Error::NotFound => "not_found",
            Error::UserNotFound => "user_not_found",
            Error::CannotAddSelf => "cannot_add_self",
            Error::AlreadyFriends => "already_friends",
            Error::NotFriends => "not_friends",
            Error::Blocked => "blocked",
            Error::FriendRequestNotFound => "friend_request_not_found",
            Error::FriendRequestHandled => "friend_request_handled",
            Error::TooLong => "too_long",
            Error::ConversationNotFound => "conversation_not_found",
            Error::NotMember => "not_member",
            Error::Forbidden => "forbidden",
            Error::GroupFull => "group_full",
            Error::AlreadyMember => "already_member",
            Error::OwnerMustTransfer => "owner_must_transfer",
            Error::MessageNotFound => "message_not_found",
            Error::RecallWindowPassed => "recall_window_passed",
            Error::AlreadyRecalled => "already_recalled",
            Error::IdempotencyConflict => "idempotency_conflict",
            Error::UploadTooLarge => "upload_too_large",
            Error::UnsupportedMediaType => "unsupported_media_type",
            Error::UploadNotFound => "upload_not_found",
            Error::InvalidCursor => "invalid_cursor",
            Error::PayloadTooLarge => "payload_too_large",
            Error::InsufficientFunds => "insufficient_funds",
            Error::CreditLimitExceeded => "credit_limit_exceeded",
            Error::CurrencyMismatch => "currency_mismatch",
            Error::AmountOverflow => "amount_overflow",
            Error::AlreadySettled => "already_settled",
            Error::InvalidCard => "invalid_card",
            Error::CardDeclined => "card_declined",
            Error::BankTimeout => "bank_timeout",
            Error::FundingNotAllowed => "funding_not_allowed",
            Error::InvalidAmount => "invalid_amount",
            Error::UnknownCurrency => "unknown_currency",
            Error::InvalidPin => "invalid_pin",
            Error::PinNotSet => "pin_not_set",
            Error::PinRequired => "pin_required",
            Error::WrongPin => "wrong_pin",
            Error::PinLocked => "pin_locked",
            Error::PaymentNotFound => "payment_not_found",
            Error::PaymentExpired => "payment_expired",
            Error::PaymentHandled => "payment_handled",
            Error::RedPacketAlreadyOpened => "red_packet_already_opened",
            Error::RedPacketEmpty => "red_packet_empty",
            Error::NoCreditLine => "no_credit_line",
            Error::RepaymentExceedsOwed => "repayment_exceeds_owed",
            Error::AmountAboveLimit => "amount_above_limit",
            Error::DailyLimitReached => "daily_limit_reached",
            Error::StepUpRequired => "step_up_required",
            Error::ResetProofRejected => "reset_proof_rejected",
            Error::RecipientRequired => "recipient_required",
            Error::DirectPacketOneShare => "direct_red_packet_one_share",
            Error::CreditCardNotForStoredValue => "credit_card_not_for_stored_value",
            Error::InvalidText => "invalid_text",
            Error::WrongPassword => "wrong_password",
            Error::VerificationCodeWrong => "verification_code_wrong",
            Error::VerificationCodeExpired => "verification_code_expired",
            Error::CodeSentRecently => "code_sent_recently",
            Error::NothingToVerify => "nothing_to_verify",
            Error::LookupBudgetSpent => "lookup_budget_spent",
            Error::SendingTooFast => "sending_too_fast",
            Error::UploadQuotaExceeded => "upload_quota_exceeded",
            Error::UriTooLong => "uri_too_long",
            Error::QrMalformed => "qr_malformed",
            Error::QrChecksum => "qr_checksum",
            Error::QrMissingField => "qr_missing_field",
            Error::QrInvalidField => "qr_invalid_field",
            Error::QrOtherScheme => "qr_other_scheme",
            Error::InvalidRate => "invalid_rate",
            Error::RateUnavailable => "rate_unavailable",
            Error::RefundExceedsPaid => "refund_exceeds_paid",
            Error::QuoteNotFound => "quote_not_found",
            Error::QuoteExpired => "quote_expired",
            Error::QuoteUsed => "quote_used",
            Error::OrderNotFound => "order_not_found",
            Error::OrderExpired => "order_expired",
            Error::OrderClosed => "order_closed",
            Error::OrderAlreadyPaid => "order_already_paid",
            Error::OrderNotPaid => "order_not_paid",
            Error::OrderNumberTaken => "order_number_taken",
            Error::MerchantNotFound => "merchant_not_found",
            Error::InvalidApiKey => "invalid_api_key",
            Error::StaffNotAllowed => "staff_not_allowed",
            Error::InvalidMcc => "invalid_mcc",
            Error::InvalidCountry => "invalid_country",
            Error::InvalidUrl => "invalid_url",
            Error::PaymentCodeInvalid => "payment_code_invalid",
            Error::PaymentCodeExpired => "payment_code_expired",
            Error::PaymentCodeUsed => "payment_code_used",
            Error::QrTampered => "qr_tampered",
            Error::MerchantBalanceInsufficient => "merchant_balance_insufficient",
            Error::InvalidOrderNumber => "invalid_order_number",
            Error::OrderNotAwaitingConfirmation => "order_not_awaiting",
            Error::Internal => "internal",
            Error::Unavailable => "unavailable",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_and_snake_case() {
        let codes: HashSet<_> = Error::ALL.iter().map(|e| e.code()).collect();
        assert_eq!(codes.len(), Error::ALL.len());
        for code in codes {
            assert!(code.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{code}");
        }
    }
}
