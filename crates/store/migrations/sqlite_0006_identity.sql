-- Phone numbers and email addresses count (for sign-in, search, discovery)
-- only once proven with a one-time code. users.phone and users.email hold
-- the proven ones (those of accounts made before this migration count as
-- proven); a claim waits here with its code's hash until then. Claims are
-- not unique: someone else claiming your number blocks nothing.
CREATE TABLE identity_claims (
    user_id INTEGER NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    code_hash TEXT,
    last_sent_at_ms INTEGER NOT NULL DEFAULT 0,
    expires_at_ms INTEGER NOT NULL DEFAULT 0,
    tries INTEGER NOT NULL DEFAULT 0,
    sends_today INTEGER NOT NULL DEFAULT 0,
    sent_day INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, kind)
);

-- Daily budgets shared by every node (e.g. lookups of people per account
-- and per address), counted in the writer.
CREATE TABLE usage_budgets (
    budget TEXT NOT NULL,
    day INTEGER NOT NULL,
    used INTEGER NOT NULL,
    PRIMARY KEY (budget, day)
);
