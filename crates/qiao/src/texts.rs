//! What the command-line client itself prints, in US English and
//! Simplified Chinese, chosen by `--lang` (the server's own messages follow
//! the same flag through `Accept-Language`).

/// Defines one method per text: its English and its Chinese form.
macro_rules! texts {
    ($($name:ident($($arg:ident: $ty:ty),*) => $en:expr, $zh:expr;)+) => {
        impl Texts {
            $(
                // A line with many parts takes them all, in the order the text names them.
                #[allow(clippy::too_many_arguments)]
                pub fn $name(&self, $($arg: $ty),*) -> String {
                    if self.zh { format!($zh) } else { format!($en) }
                }
            )+
        }
    };
}

/// The client's texts in one language.
#[derive(Debug, Clone, Copy)]
pub struct Texts {
    zh: bool,
}

impl Texts {
    /// `zh-CN` (or any `zh`) picks Chinese; anything else English.
    pub fn for_lang(lang: &str) -> Self {
        Self {
            zh: lang.to_ascii_lowercase().starts_with("zh"),
        }
    }
}

texts! {
    registered(name: &str, id: i64) => "registered and signed in as {name} (user id {id})", "注册成功，已登录：{name}（用户 {id}）";
    verify_first(to: &str) => "a code was sent to {to}; prove it with `qiao verify phone CODE` (or `email`)", "验证码已发送至 {to}，请用 `qiao verify phone 验证码`（或 email）验证";
    signed_in(name: &str, id: i64) => "signed in as {name} (user id {id})", "已登录：{name}（用户 {id}）";
    signed_out() => "signed out", "已退出登录";
    whoami(name: &str, id: i64, qiao_id: &str, region: &str) => "{name} (user id {id}, Qiao ID {qiao_id}, region {region})", "{name}（用户 {id}，桥号 {qiao_id}，地区 {region}）";
    unverified(kind: &str, value: &str) => "not yet verified: {kind} {value}", "尚未验证：{kind} {value}";
    code_sent(kind: &str) => "a new code was sent to your {kind}", "新的验证码已发送到你的{kind}";
    verified(value: &str) => "verified: {value}", "已验证：{value}";
    qiao_id_is(id: &str) => "your Qiao ID is {id}", "你的桥号是 {id}";
    this_device() => "(this device)", "（本机）";
    last_seen(at: &str) => "last seen {at}", "最近使用 {at}";
    request_sent(id: i64, name: &str) => "friend request {id} sent to {name}", "好友申请 {id} 已发送给 {name}";
    request_from(id: i64, name: &str, status: &str, greeting: &str) => "{id}\tfrom {name}\t{status}\t{greeting}", "{id}\t来自 {name}\t{status}\t{greeting}";
    request_to(id: i64, name: &str, status: &str) => "{id}\tto {name}\t{status}", "{id}\t发给 {name}\t{status}";
    now_friends(name: &str, conversation: i64) => "now friends with {name}; conversation {conversation}", "已和 {name} 成为好友；会话 {conversation}";
    declined() => "declined", "已拒绝";
    contact(id: i64, name: &str, conversation: i64) => "{id}\t{name}\tconversation {conversation}", "{id}\t{name}\t会话 {conversation}";
    chat(id: i64, name: &str, unread: i64, last: &str) => "{id}\t{name}\t{unread} unread\t{last}", "{id}\t{name}\t{unread} 条未读\t{last}";
    group_created(id: i64, members: usize) => "group {id} created with {members} members", "群聊 {id} 已创建，{members} 人";
    sent(seq: i64, id: i64) => "sent #{seq} (message {id})", "已发送 #{seq}（消息 {id}）";
    recalled() => "recalled", "已撤回";
    recalled_message() => "(recalled)", "（已撤回）";
    image(blob: &str) => "[image {blob}]", "[图片 {blob}]";
    file(name: &str) => "[file {name}]", "[文件 {name}]";
    transfer_message(id: i64) => "[transfer {id}]", "[转账 {id}]";
    red_packet_message(id: i64) => "[red packet {id}]", "[红包 {id}]";
    message(seq: i64, id: i64, at: &str, who: &str, body: &str) => "#{seq} [message {id}] {at} {who}: {body}", "#{seq} [消息 {id}] {at} {who}：{body}";
    live() => "-- live --", "-- 实时 --";
    me() => "me", "我";
    balance(currency: &str, amount: &str, available: &str) => "{currency} {amount} (available {available})", "{currency} {amount}（可用 {available}）";
    card(id: i64, brand: &str, last4: &str, funding: &str) => "card {id}\t{brand} **** {last4}\t{funding}", "银行卡 {id}\t{brand} **** {last4}\t{funding}";
    limit(kind: &str, per_operation: &str, per_day: &str, used: &str) => "limit {kind}: {per_operation} each, {per_day} a day, {used} used today", "{kind} 限额：单笔 {per_operation}，每日 {per_day}，今日已用 {used}";
    bound_card(id: i64, brand: &str, last4: &str, funding: &str) => "bound card {id} ({brand} **** {last4}, {funding})", "已绑定银行卡 {id}（{brand} **** {last4}，{funding}）";
    topped_up(amount: &str, balance: &str) => "topped up {amount}; balance {balance}", "已充值 {amount}；余额 {balance}";
    withdrew(amount: &str, balance: &str) => "withdrew {amount}; balance {balance}", "已提现 {amount}；余额 {balance}";
    pin_set() => "payment PIN set", "支付密码已设置";
    pin_reset() => "payment PIN reset; the lock is lifted", "支付密码已重置，锁定已解除";
    no_pin_limit(amount: &str) => "payments up to {amount} need no PIN", "{amount} 以内的付款无需支付密码";
    no_pin_off() => "every payment needs the PIN", "每笔付款都需要支付密码";
    payment(kind: &str, id: i64, conversation: i64, amount: &str, status: &str, opened: u32, shares: u32) => "{kind} {id} in conversation {conversation}: {amount} ({status}), {opened}/{shares} opened", "{kind} {id}（会话 {conversation}）：{amount}（{status}），已领 {opened}/{shares}";
    opened_share(who: &str, amount: &str, at: &str) => "  {who}\t{amount}\t{at}", "  {who}\t{amount}\t{at}";
    best_luck() => "  best luck", "  手气最佳";
    you_got(amount: &str) => "you got {amount}", "你领到了 {amount}";
    wrote(path: &str) => "wrote {path}", "已写入 {path}";
    older(before: i64) => "older: --before {before}", "更早：--before {before}";
    statement_line(id: i64, at: &str, purpose: &str, reference: &str, amount: &str, status: &str, account: &str) => "{id}\t{at}\t{purpose} {reference}\t{amount}\t{status}\t{account}", "{id}\t{at}\t{purpose} {reference}\t{amount}\t{status}\t{account}";
    credit_line(limit: &str, owed: &str, available: &str) => "limit {limit}, owed {owed}, available {available}", "额度 {limit}，待还 {owed}，可用 {available}";
    credit_month(month: &str, opening: &str, spent: &str, repaid: &str, closing: &str, due: &str) => "{month}: opening {opening}, spent {spent}, repaid {repaid}, closing {closing} due {due}", "{month}：期初 {opening}，消费 {spent}，已还 {repaid}，期末 {closing}，还款日 {due}";
    repaid(amount: &str, owed: &str) => "repaid {amount}; still owed {owed}", "已还款 {amount}；尚欠 {owed}";
    retrying(key: &str) => "an earlier try got no answer: retrying it (key {key})", "上次尝试没有收到答复：重试同一笔（编号 {key}）";
    ask_password() => "Password: ", "登录密码：";
    ask_pin() => "Payment PIN: ", "支付密码：";
    ask_pin_or_password() => "Payment PIN or password: ", "支付密码或登录密码：";
    not_signed_in() => "not signed in; run `qiao login` or `qiao register`", "尚未登录，请运行 `qiao login` 或 `qiao register`";
    no_terminal(flag: &str) => "no terminal to ask on: give {flag}", "无法在终端中输入：请使用 {flag}";
    no_such_user() => "no such user", "没有这个用户";
    merchant_card(name: &str, city: &str, country: &str, number: &str) => "{name}, {city} {country} (merchant {number})", "{name}，{city} {country}（商户 {number}）";
    merchant_verified() => "  verified by Qiao", "  已通过桥认证";
    merchant_not_verified() => "  not verified", "  未认证";
    order_for(description: &str, number: &str) => "  order {number}: {description}", "  订单 {number}：{description}";
    amount_to_pay(amount: &str) => "to pay: {amount}", "应付：{amount}";
    quote_line(debit: &str, fee: &str, rate: &str, until: &str) => "you pay {debit} (fee {fee} included) at {rate}; valid until {until}", "您将支付 {debit}（含手续费 {fee}），汇率 {rate}；有效期至 {until}";
    ask_confirm() => "Pay? [y/N] ", "确认付款？[y/N] ";
    not_paid() => "not paid", "未付款";
    need_yes() => "no terminal to confirm on: give --yes", "无法在终端中确认：请使用 --yes";
    paid(amount: &str, merchant: &str, status: &str) => "paid {amount} to {merchant} ({status})", "已向 {merchant} 付款 {amount}（{status}）";
    paid_from(amount: &str) => "  from your wallet: {amount}", "  钱包支出：{amount}";
    a_person(id: i64) => "this is a person's code (user {id}); add them with `qiao add-friend`", "这是个人二维码（用户 {id}），可用 `qiao add-friend` 添加好友";
    payment_code(code: &str, until: &str) => "payment code {code}, valid until {until}; show it to the cashier", "付款码 {code}，有效期至 {until}，请出示给收银员";
    converted(from: &str, to: &str) => "converted {from} into {to}", "已将 {from} 兑换为 {to}";
    merchant_created(id: i64, number: &str, name: &str) => "merchant {id} ({number}): {name}", "商户 {id}（{number}）：{name}";
    signing_secret(secret: &str) => "notification signing secret (shown once): {secret}", "通知签名密钥（仅显示一次）：{secret}";
    merchant_line(id: i64, number: &str, name: &str, currency: &str, role: &str) => "merchant {id}\t{number}\t{name}\t{currency}\t{role}", "商户 {id}\t{number}\t{name}\t{currency}\t{role}";
    api_key(id: i64, prefix: &str, label: &str, state: &str) => "key {id}\t{prefix}…\t{label}\t{state}", "密钥 {id}\t{prefix}…\t{label}\t{state}";
    api_key_created(secret: &str) => "API key (shown once, keep it secret): {secret}", "API 密钥（仅显示一次，请妥善保管）：{secret}";
    revoked() => "revoked", "已吊销";
    active() => "active", "有效";
    order_line(id: i64, number: &str, status: &str, amount: &str, payer: &str) => "order {id}\t{number}\t{status}\t{amount}\t{payer}", "订单 {id}\t{number}\t{status}\t{amount}\t{payer}";
    order_code(payload: &str) => "code to show the customer: {payload}", "请向顾客出示此码：{payload}";
    refunded(amount: &str, payer_amount: &str, status: &str) => "refunded {amount} ({payer_amount} back to the payer); order {status}", "已退款 {amount}（付款人收回 {payer_amount}）；订单{status}";
    report(day: &str, paid: &str, count: i64, refunded: &str, net: &str) => "{day}: {count} payments, {paid} paid, {refunded} refunded, net {net}", "{day}：{count} 笔付款，收款 {paid}，退款 {refunded}，净额 {net}";
    payout(amount: &str, status: &str) => "  payout {amount} ({status})", "  结算 {amount}（{status}）";
    held(amount: &str) => "  held now, not yet paid out: {amount}", "  当前待结算：{amount}";
    cashier_added(name: &str) => "{name} is now a cashier", "{name} 已成为收银员";
    not_an_amount(amount: &str, currency: &str) => "{amount} is not an amount of {currency}", "{amount} 不是有效的 {currency} 金额";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_follow_the_language() {
        assert_eq!(Texts::for_lang("en-US").signed_out(), "signed out");
        assert_eq!(Texts::for_lang("zh-CN").signed_out(), "已退出登录");
        assert_eq!(Texts::for_lang("ZH").you_got("8.88 CNY"), "你领到了 8.88 CNY");
    }
}
