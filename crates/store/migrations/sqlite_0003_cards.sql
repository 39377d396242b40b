-- Cards bound to a user: the connector's token and what may be shown, never the number.
CREATE TABLE cards (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    connector TEXT NOT NULL,
    token TEXT NOT NULL,
    last4 TEXT NOT NULL,
    brand TEXT NOT NULL,
    funding TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX cards_user ON cards(user_id);
