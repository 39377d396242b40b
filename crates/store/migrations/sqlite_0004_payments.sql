-- Payment PINs, and money sent inside chats (transfers and red packets).
CREATE TABLE payment_pins (
    user_id INTEGER PRIMARY KEY REFERENCES users(id),
    pin_hash TEXT NOT NULL,
    wrong_tries INTEGER NOT NULL DEFAULT 0,
    locked_until_ms INTEGER,
    no_pin_limit_minor INTEGER NOT NULL DEFAULT 0,
    updated_at_ms INTEGER NOT NULL
);

-- One row per transfer or red packet. The money sits in escrow while the
-- status is 'pending' (transfer) or 'open' (red packet); the journal has
-- every movement, this row the state the chat shows.
CREATE TABLE chat_payments (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    sender_id INTEGER NOT NULL REFERENCES users(id),
    client_key TEXT NOT NULL,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id),
    message_id INTEGER,
    recipient_id INTEGER,
    split TEXT,
    currency TEXT NOT NULL,
    total_minor INTEGER NOT NULL CHECK (total_minor > 0),
    shares INTEGER NOT NULL,
    opened_count INTEGER NOT NULL DEFAULT 0,
    opened_minor INTEGER NOT NULL DEFAULT 0,
    note TEXT NOT NULL,
    source_account_id INTEGER NOT NULL REFERENCES ledger_accounts(id),
    status TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    settled_at_ms INTEGER,
    UNIQUE (sender_id, client_key)
);
CREATE INDEX chat_payments_live ON chat_payments(expires_at_ms) WHERE status IN ('pending', 'open');

-- The shares of a red packet, cut when it is sent; opened in index order.
CREATE TABLE red_packet_shares (
    payment_id INTEGER NOT NULL REFERENCES chat_payments(id),
    idx INTEGER NOT NULL,
    amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
    opened_by INTEGER,
    opened_at_ms INTEGER,
    PRIMARY KEY (payment_id, idx)
);
CREATE UNIQUE INDEX red_packet_shares_once ON red_packet_shares(payment_id, opened_by) WHERE opened_by IS NOT NULL;

ALTER TABLE messages ADD COLUMN payment_id INTEGER;
