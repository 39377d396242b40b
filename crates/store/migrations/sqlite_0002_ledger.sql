-- The double-entry ledger. Accounts carry running totals (a cache that
-- reconcile recomputes); transfers are the journal and are never changed.
CREATE TABLE ledger_accounts (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    owner TEXT NOT NULL,
    currency TEXT NOT NULL,
    credit_limit_minor INTEGER NOT NULL,
    debits_posted INTEGER NOT NULL DEFAULT 0,
    credits_posted INTEGER NOT NULL DEFAULT 0,
    debits_pending INTEGER NOT NULL DEFAULT 0,
    credits_pending INTEGER NOT NULL DEFAULT 0,
    created_at_ms INTEGER NOT NULL,
    UNIQUE (kind, owner, currency)
);

-- phase: 'posted' and 'pending' move money; 'post_pending' and 'void_pending'
-- settle the pending transfer named by pending_id, which is unique: once.
CREATE TABLE ledger_transfers (
    id INTEGER PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    debit_account_id INTEGER NOT NULL REFERENCES ledger_accounts(id),
    credit_account_id INTEGER NOT NULL REFERENCES ledger_accounts(id),
    amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
    currency TEXT NOT NULL,
    phase TEXT NOT NULL,
    pending_id INTEGER UNIQUE REFERENCES ledger_transfers(id),
    memo TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX ledger_transfers_debit ON ledger_transfers(debit_account_id);
CREATE INDEX ledger_transfers_credit ON ledger_transfers(credit_account_id);

CREATE TRIGGER ledger_transfers_no_update BEFORE UPDATE ON ledger_transfers
BEGIN SELECT RAISE(ABORT, 'the ledger journal is append-only'); END;
CREATE TRIGGER ledger_transfers_no_delete BEFORE DELETE ON ledger_transfers
BEGIN SELECT RAISE(ABORT, 'the ledger journal is append-only'); END;
