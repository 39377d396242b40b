-- Merchants, their stores (shops), staff and API keys; orders and refunds;
-- FX rates and quotes; customers' payment codes; notifications to merchants'
-- servers (a durable outbox). Money itself moves only in the ledger.
CREATE TABLE merchants (
    id INTEGER PRIMARY KEY,
    owner_id INTEGER NOT NULL REFERENCES users(id),
    legal_name TEXT NOT NULL,
    display_name TEXT NOT NULL,
    country TEXT NOT NULL,
    city TEXT NOT NULL,
    mcc TEXT NOT NULL,
    currency TEXT NOT NULL,
    settlement_card_id INTEGER NOT NULL REFERENCES cards(id),
    notify_url TEXT,
    signing_secret TEXT NOT NULL,
    verified INTEGER NOT NULL DEFAULT 0,
    created_at_ms INTEGER NOT NULL
);

CREATE TABLE merchant_shops (
    id INTEGER PRIMARY KEY,
    merchant_id INTEGER NOT NULL REFERENCES merchants(id),
    name TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
);

CREATE TABLE merchant_staff (
    merchant_id INTEGER NOT NULL REFERENCES merchants(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    role TEXT NOT NULL,
    shop_id INTEGER REFERENCES merchant_shops(id),
    added_at_ms INTEGER NOT NULL,
    PRIMARY KEY (merchant_id, user_id)
);
CREATE INDEX merchant_staff_user ON merchant_staff(user_id);

-- Only the key's SHA-256 is kept; the prefix helps a person tell keys apart.
CREATE TABLE merchant_api_keys (
    id INTEGER PRIMARY KEY,
    merchant_id INTEGER NOT NULL REFERENCES merchants(id),
    key_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    label TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    revoked_at_ms INTEGER
);

-- One row per order: created by the merchant's API (kind 'order'), by a
-- customer paying a static code ('static'), or by a point of sale charging a
-- payment code ('code'). The payer's side (currency, debit, fee, rate) is
-- written when it is paid; refunded totals grow with each refund.
CREATE TABLE merchant_orders (
    id INTEGER PRIMARY KEY,
    merchant_id INTEGER NOT NULL REFERENCES merchants(id),
    shop_id INTEGER REFERENCES merchant_shops(id),
    kind TEXT NOT NULL,
    out_trade_no TEXT NOT NULL,
    token TEXT NOT NULL UNIQUE,
    amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
    currency TEXT NOT NULL,
    description TEXT NOT NULL,
    notify_url TEXT,
    status TEXT NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL,
    paid_at_ms INTEGER,
    payer_id INTEGER REFERENCES users(id),
    payer_key TEXT,
    code_hash TEXT,
    payer_currency TEXT,
    payer_debit_minor INTEGER,
    payer_converted_minor INTEGER,
    payer_fee_minor INTEGER,
    rate_scaled INTEGER,
    quote_id INTEGER,
    refunded_minor INTEGER NOT NULL DEFAULT 0,
    payer_refunded_minor INTEGER NOT NULL DEFAULT 0,
    UNIQUE (merchant_id, out_trade_no)
);
CREATE UNIQUE INDEX merchant_orders_payer_key ON merchant_orders(payer_id, payer_key) WHERE payer_key IS NOT NULL;
CREATE INDEX merchant_orders_live ON merchant_orders(expires_at_ms) WHERE status IN ('created', 'awaiting_confirmation');
CREATE INDEX merchant_orders_by_merchant ON merchant_orders(merchant_id, id);

CREATE TABLE merchant_refunds (
    id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES merchant_orders(id),
    merchant_id INTEGER NOT NULL REFERENCES merchants(id),
    out_refund_no TEXT NOT NULL,
    amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
    payer_amount_minor INTEGER NOT NULL,
    reason TEXT NOT NULL,
    created_by INTEGER REFERENCES users(id),
    created_at_ms INTEGER NOT NULL,
    UNIQUE (merchant_id, out_refund_no)
);
CREATE INDEX merchant_refunds_order ON merchant_refunds(order_id);

-- The operator's mid rates: units of quote_currency for one base_currency, times 10^8.
CREATE TABLE fx_rates (
    base_currency TEXT NOT NULL,
    quote_currency TEXT NOT NULL,
    rate_scaled INTEGER NOT NULL CHECK (rate_scaled > 0),
    updated_at_ms INTEGER NOT NULL,
    PRIMARY KEY (base_currency, quote_currency)
);

-- A price shown to a payer before they confirm; used at most once.
CREATE TABLE fx_quotes (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    from_currency TEXT NOT NULL,
    to_currency TEXT NOT NULL,
    debit_minor INTEGER NOT NULL,
    converted_minor INTEGER NOT NULL,
    fee_minor INTEGER NOT NULL,
    credit_minor INTEGER NOT NULL,
    rate_scaled INTEGER NOT NULL,
    mid_scaled INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    used_at_ms INTEGER
);

-- A customer's one-time payment code, by its SHA-256; bound to the session
-- (device) that showed it.
CREATE TABLE payment_codes (
    code_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    session_id INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    used_at_ms INTEGER
);
CREATE INDEX payment_codes_session ON payment_codes(session_id);

-- Notifications to merchants' servers, written in the same transaction as
-- the payment or refund they report, delivered (and retried) from here.
CREATE TABLE merchant_notifications (
    id INTEGER PRIMARY KEY,
    merchant_id INTEGER NOT NULL REFERENCES merchants(id),
    event_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    url TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at_ms INTEGER,
    delivered_at_ms INTEGER,
    last_status INTEGER,
    last_error TEXT,
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX merchant_notifications_due ON merchant_notifications(next_at_ms) WHERE next_at_ms IS NOT NULL;
CREATE INDEX merchant_notifications_by_merchant ON merchant_notifications(merchant_id, id);

-- A user's conversion between two of their wallets.
CREATE TABLE conversions (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    client_key TEXT NOT NULL,
    quote_id INTEGER NOT NULL REFERENCES fx_quotes(id),
    created_at_ms INTEGER NOT NULL,
    UNIQUE (user_id, client_key)
);

-- The rates a transfer or red packet converts at, for each currency of its
-- recipients other than its own: taken when it is sent, so what arrives is
-- what the sender was shown. A transfer sent with a quote keeps its credit.
CREATE TABLE payment_fx (
    payment_id INTEGER NOT NULL REFERENCES chat_payments(id),
    to_currency TEXT NOT NULL,
    mid_scaled INTEGER NOT NULL,
    spread_bps INTEGER NOT NULL,
    fee_bps INTEGER NOT NULL,
    quote_id INTEGER,
    PRIMARY KEY (payment_id, to_currency)
);
