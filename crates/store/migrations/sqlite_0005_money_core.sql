-- Money core: account totals become nets, so money that goes round (a top-up
-- withdrawn again, a transfer through escrow) no longer grows them; and a
-- daily total per user, currency and kind for the spending caps.
ALTER TABLE ledger_accounts ADD COLUMN posted_balance INTEGER NOT NULL DEFAULT 0;
UPDATE ledger_accounts SET posted_balance = credits_posted - debits_posted;
ALTER TABLE ledger_accounts DROP COLUMN debits_posted;
ALTER TABLE ledger_accounts DROP COLUMN credits_posted;

-- What each user moved per UTC day (days since the epoch) and kind
-- (top_up, withdrawal, payment): reservations count, voids give back.
CREATE TABLE daily_usage (
    user_id INTEGER NOT NULL REFERENCES users(id),
    currency TEXT NOT NULL,
    kind TEXT NOT NULL,
    day INTEGER NOT NULL,
    used_minor INTEGER NOT NULL CHECK (used_minor >= 0),
    PRIMARY KEY (user_id, currency, kind, day)
);

-- Finding bank movements left pending (by a crash) without a full scan.
CREATE INDEX ledger_transfers_pending ON ledger_transfers(created_at_ms) WHERE phase = 'pending';

-- The bank connector's fingerprint of a card's number (never the number):
-- a PIN reset proves "a card you bound" by it. NULL for cards bound before.
ALTER TABLE cards ADD COLUMN fingerprint TEXT;
