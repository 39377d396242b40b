//! User-facing texts of the server, in every supported language. The match is
//! exhaustive, so a new error code cannot ship without both texts.

use qiao_domain::identity::Language;
use qiao_domain::Error;

/// The localized message for an error code.
pub fn error_message(error: Error, language: Language) -> &'static str {
    let (en, zh) = texts(error);
    match language {
        Language::EnUs => en,
        Language::ZhCn => zh,
    }
}

fn texts(error: Error) -> (&'static str, &'static str) {
    match error {
        Error::InvalidRequest => (
            "The request is malformed or a field is missing or invalid.",
            "请求格式错误，或有字段缺失、无效。",
        ),
        Error::InvalidPhone => (
            "Enter the phone number with its country code, e.g. +8613800138000.",
            "请输入带国家代码的手机号，例如 +8613800138000。",
        ),
        Error::InvalidEmail => ("That email address is not valid.", "邮箱地址无效。"),
        Error::InvalidPassword => (
            "The password must be 8 to 128 characters.",
            "密码长度须为 8 到 128 个字符。",
        ),
        Error::InvalidQiaoId => (
            "A Qiao ID is 6–20 letters, digits, _ or -, starting with a letter.",
            "桥号须为 6–20 位字母、数字、下划线或减号，并以字母开头。",
        ),
        Error::InvalidDisplayName => ("The name must be 1 to 64 characters.", "名字长度须为 1 到 64 个字符。"),
        Error::InvalidRegion => ("That region is not supported.", "不支持该地区。"),
        Error::InvalidLanguage => ("That language is not supported.", "不支持该语言。"),
        Error::IdentifierRequired => ("Give a phone number or an email address.", "请填写手机号或邮箱。"),
        Error::PhoneTaken => ("That phone number is already registered.", "该手机号已注册。"),
        Error::EmailTaken => ("That email address is already registered.", "该邮箱已注册。"),
        Error::QiaoIdTaken => ("That Qiao ID is taken.", "该桥号已被占用。"),
        Error::QiaoIdAlreadySet => (
            "Your Qiao ID is already set and cannot be changed.",
            "桥号已设置，无法更改。",
        ),
        Error::BadCredentials => ("Wrong account or password.", "账号或密码错误。"),
        Error::Unauthorized => ("Please sign in again.", "请重新登录。"),
        Error::RateLimited => ("Too many attempts. Try again later.", "尝试次数过多，请稍后再试。"),
        Error::NotFound => ("Not found.", "未找到。"),
        Error::UserNotFound => ("No such user.", "用户不存在。"),
        Error::CannotAddSelf => ("You cannot do that to yourself.", "不能对自己执行此操作。"),
        Error::AlreadyFriends => ("You are already friends.", "你们已经是好友。"),
        Error::NotFriends => ("You are not friends with this person.", "你们还不是好友。"),
        Error::Blocked => ("This person cannot be reached.", "无法联系此人。"),
        Error::FriendRequestNotFound => ("No such friend request.", "好友申请不存在。"),
        Error::FriendRequestHandled => ("This friend request has already been answered.", "该好友申请已处理。"),
        Error::TooLong => ("The text is too long.", "内容过长。"),
        Error::ConversationNotFound => ("No such conversation.", "会话不存在。"),
        Error::NotMember => ("You are not a member of this conversation.", "你不是该会话的成员。"),
        Error::Forbidden => ("You are not allowed to do that.", "你没有权限执行此操作。"),
        Error::GroupFull => ("A group can have at most 500 members.", "群成员最多 500 人。"),
        Error::AlreadyMember => ("Already a member of this group.", "已经是群成员。"),
        Error::OwnerMustTransfer => (
            "Transfer ownership before leaving the group.",
            "请先转让群主再退出群聊。",
        ),
        Error::MessageNotFound => ("No such message.", "消息不存在。"),
        Error::RecallWindowPassed => (
            "Messages can only be recalled within 2 minutes.",
            "只能撤回 2 分钟内的消息。",
        ),
        Error::AlreadyRecalled => ("This message was already recalled.", "该消息已撤回。"),
        Error::IdempotencyConflict => (
            "This request id was already used for a different request.",
            "该请求编号已用于其他请求。",
        ),
        Error::UploadTooLarge => ("The file is too large.", "文件过大。"),
        Error::UnsupportedMediaType => ("This file type is not supported.", "不支持该文件类型。"),
        Error::UploadNotFound => ("No such file.", "文件不存在。"),
        Error::InvalidCursor => ("The sync cursor is invalid.", "同步游标无效。"),
        Error::PayloadTooLarge => ("The request is too large.", "请求内容过大。"),
        Error::InsufficientFunds => ("Not enough balance.", "余额不足。"),
        Error::CreditLimitExceeded => ("This would exceed your credit limit.", "超出信用额度。"),
        Error::CurrencyMismatch => ("The currencies do not match.", "币种不一致。"),
        Error::AmountOverflow => ("The amount is too large.", "金额过大。"),
        Error::AlreadySettled => ("This payment has already been settled.", "该笔款项已处理。"),
        Error::InvalidCard => ("That card number is not valid.", "银行卡号无效。"),
        Error::CardDeclined => ("The bank declined this card.", "银行拒绝了这张卡。"),
        Error::BankTimeout => (
            "The bank did not answer in time; no money moved. Try again.",
            "银行响应超时，资金未变动，请重试。",
        ),
        Error::FundingNotAllowed => (
            "This kind of card is not available in your region.",
            "你所在的地区不支持此类银行卡。",
        ),
        Error::InvalidAmount => ("Enter an amount greater than zero.", "请输入大于零的金额。"),
        Error::UnknownCurrency => ("That currency is not supported.", "不支持该币种。"),
        Error::InvalidPin => ("A payment PIN is 6 digits.", "支付密码须为 6 位数字。"),
        Error::PinNotSet => ("Set a payment PIN first.", "请先设置支付密码。"),
        Error::PinRequired => ("Enter your payment PIN.", "请输入支付密码。"),
        Error::WrongPin => ("Wrong payment PIN.", "支付密码错误。"),
        Error::PinLocked => (
            "Too many wrong PINs. Payments are locked for a while; try again later.",
            "支付密码错误次数过多，已暂时锁定，请稍后再试。",
        ),
        Error::PaymentNotFound => ("No such payment.", "该付款不存在。"),
        Error::PaymentExpired => (
            "This has expired; the money went back to the sender.",
            "已过期，款项已退回给发送者。",
        ),
        Error::PaymentHandled => ("This transfer has already been handled.", "该转账已处理。"),
        Error::RedPacketAlreadyOpened => ("You have already opened this red packet.", "你已经领取过这个红包。"),
        Error::RedPacketEmpty => ("Too late: all the red packets are gone.", "手慢了，红包派完了。"),
        Error::NoCreditLine => (
            "You have no pay-later credit line. Bind a credit card first.",
            "你还没有先用后付额度，请先绑定信用卡。",
        ),
        Error::RepaymentExceedsOwed => ("That is more than you owe.", "还款金额超过了欠款。"),
        Error::AmountAboveLimit => (
            "That is more than one payment may move. Use a smaller amount.",
            "单笔金额超过上限，请减少金额。",
        ),
        Error::DailyLimitReached => (
            "This would pass your daily limit. Try again tomorrow.",
            "超出当日限额，请明天再试。",
        ),
        Error::StepUpRequired => (
            "Confirm this with your payment PIN or your password.",
            "请输入支付密码或登录密码确认此操作。",
        ),
        Error::ResetProofRejected => (
            "The password or the card number does not match this account.",
            "登录密码或银行卡号与本账户不符。",
        ),
        Error::RecipientRequired => (
            "In a group, choose the member who receives the transfer.",
            "在群聊中转账，请选择收款的群成员。",
        ),
        Error::DirectPacketOneShare => (
            "In a one-to-one chat a red packet has exactly one share.",
            "单聊红包只能有一个。",
        ),
        Error::CreditCardNotForStoredValue => (
            "A credit card pays later; top up and withdraw with a debit card.",
            "信用卡用于先用后付，充值和提现请使用借记卡。",
        ),
        Error::InvalidText => (
            "The text contains characters that cannot be sent.",
            "内容包含无法发送的字符。",
        ),
        Error::WrongPassword => ("Wrong password.", "登录密码错误。"),
        Error::VerificationCodeWrong => (
            "That code is not right. Check the latest code we sent.",
            "验证码不正确，请查看最新收到的验证码。",
        ),
        Error::VerificationCodeExpired => (
            "That code has expired or was tried too often. Ask for a new one.",
            "验证码已过期或尝试次数过多，请重新获取。",
        ),
        Error::CodeSentRecently => (
            "A code was just sent. Wait a minute before asking for another.",
            "验证码刚刚已发送，请一分钟后再获取。",
        ),
        Error::NothingToVerify => (
            "There is no phone number or email address of this kind waiting to be verified.",
            "没有待验证的手机号或邮箱。",
        ),
        Error::LookupBudgetSpent => (
            "You have looked up too many people today. Try again tomorrow.",
            "今日查找次数已用完，请明天再试。",
        ),
        Error::SendingTooFast => ("You are sending too fast. Wait a moment.", "发送太频繁，请稍候。"),
        Error::UploadQuotaExceeded => (
            "You have uploaded a lot in the last hour. Try again later.",
            "一小时内上传过多，请稍后再试。",
        ),
        Error::UriTooLong => ("The request address is too long.", "请求地址过长。"),
        Error::QrMalformed => ("This is not a valid payment QR code.", "这不是有效的付款二维码。"),
        Error::QrChecksum => (
            "The QR code is damaged or was altered (its checksum does not match).",
            "二维码已损坏或被篡改（校验码不符）。",
        ),
        Error::QrMissingField => (
            "The QR code lacks a field every payment code must have.",
            "二维码缺少付款码必备的字段。",
        ),
        Error::QrInvalidField => (
            "A field of the QR code has a value payment codes do not allow.",
            "二维码中某个字段的值不符合规范。",
        ),
        Error::QrOtherScheme => (
            "This QR code belongs to another payment scheme; Qiao cannot pay it.",
            "这是其他支付机构的二维码，桥无法支付。",
        ),
        Error::InvalidRate => ("The exchange rate is not valid.", "汇率无效。"),
        Error::RateUnavailable => (
            "There is no exchange rate between these currencies right now.",
            "暂时没有这两种货币之间的汇率。",
        ),
        Error::RefundExceedsPaid => (
            "The refund is more than what is left of the payment.",
            "退款金额超过了可退金额。",
        ),
        Error::QuoteNotFound => ("The exchange quote was not found.", "找不到该汇率报价。"),
        Error::QuoteExpired => (
            "The exchange quote has expired; get a new one.",
            "汇率报价已过期，请重新获取。",
        ),
        Error::QuoteUsed => ("The exchange quote has already been used.", "该汇率报价已被使用。"),
        Error::OrderNotFound => ("The order was not found.", "找不到该订单。"),
        Error::OrderExpired => ("The order has expired.", "订单已过期。"),
        Error::OrderClosed => ("The order has been closed by the merchant.", "订单已被商户关闭。"),
        Error::OrderAlreadyPaid => ("The order has already been paid.", "订单已支付。"),
        Error::OrderNotPaid => ("The order has not been paid.", "订单尚未支付。"),
        Error::OrderNumberTaken => (
            "This merchant order number is already used by another order.",
            "该商户订单号已被其他订单使用。",
        ),
        Error::MerchantNotFound => ("The merchant was not found.", "找不到该商户。"),
        Error::InvalidApiKey => (
            "The API key is missing, wrong or revoked.",
            "API 密钥缺失、错误或已被吊销。",
        ),
        Error::StaffNotAllowed => (
            "Only the merchant's owner may do this.",
            "只有商户所有者可以进行此操作。",
        ),
        Error::InvalidMcc => (
            "The merchant category code must be four digits.",
            "商户类别码必须是四位数字。",
        ),
        Error::InvalidCountry => (
            "The country must be a two-letter ISO code.",
            "国家/地区必须是两位字母的 ISO 代码。",
        ),
        Error::InvalidUrl => (
            "The notification URL must be an http(s) address.",
            "通知地址必须是 http(s) 网址。",
        ),
        Error::PaymentCodeInvalid => ("The payment code is not valid.", "付款码无效。"),
        Error::PaymentCodeExpired => (
            "The payment code has expired; ask the customer to refresh it.",
            "付款码已过期，请让顾客刷新。",
        ),
        Error::PaymentCodeUsed => ("The payment code has already been used.", "付款码已被使用。"),
        Error::QrTampered => (
            "The QR code does not match the merchant's records; it may have been altered.",
            "二维码与商户记录不符，可能已被篡改。",
        ),
        Error::MerchantBalanceInsufficient => (
            "The merchant's unsettled balance is too low for this refund.",
            "商户未结算余额不足以退款。",
        ),
        Error::InvalidOrderNumber => (
            "Order and refund numbers are 1 to 64 letters, digits, '-' or '_'.",
            "订单号和退款单号为 1 至 64 位字母、数字、“-”或“_”。",
        ),
        Error::OrderNotAwaitingConfirmation => (
            "The payment is not waiting for your confirmation.",
            "该付款不在等待您确认。",
        ),
        Error::Internal => (
            "Something went wrong on our side. Please try again.",
            "服务器出错了，请重试。",
        ),
        Error::Unavailable => (
            "The service is briefly unavailable. Please try again in a moment.",
            "服务暂时不可用，请稍后重试。",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_distinct_texts_in_both_languages() {
        for error in Error::ALL {
            let en = error_message(*error, Language::EnUs);
            let zh = error_message(*error, Language::ZhCn);
            assert!(!en.is_empty() && !zh.is_empty());
            assert_ne!(en, zh, "{error:?} is not translated");
            assert!(
                zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{error:?} zh text has no Chinese"
            );
        }
    }
}
