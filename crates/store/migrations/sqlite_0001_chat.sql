-- Qiao chat schema for SQLite. Times are milliseconds since the Unix epoch.
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    qiao_id TEXT UNIQUE,
    phone TEXT UNIQUE,
    phone_hash TEXT,
    email TEXT UNIQUE,
    password_hash TEXT NOT NULL,
    display_name TEXT NOT NULL,
    avatar TEXT,
    region TEXT NOT NULL,
    language TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX users_phone_hash ON users(phone_hash);

CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    token_hash TEXT NOT NULL UNIQUE,
    device_name TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    last_seen_at_ms INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE friend_requests (
    id INTEGER PRIMARY KEY,
    from_id INTEGER NOT NULL REFERENCES users(id),
    to_id INTEGER NOT NULL REFERENCES users(id),
    greeting TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX friend_requests_to ON friend_requests(to_id);
CREATE INDEX friend_requests_from ON friend_requests(from_id);

CREATE TABLE conversations (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    direct_key TEXT UNIQUE,
    name TEXT NOT NULL,
    announcement TEXT,
    owner_id INTEGER,
    created_at_ms INTEGER NOT NULL
);

CREATE TABLE friendships (
    user_id INTEGER NOT NULL REFERENCES users(id),
    friend_id INTEGER NOT NULL REFERENCES users(id),
    remark TEXT,
    since_ms INTEGER NOT NULL,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id),
    PRIMARY KEY (user_id, friend_id)
);

CREATE TABLE blocks (
    blocker_id INTEGER NOT NULL,
    blocked_id INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);

CREATE TABLE members (
    conversation_id INTEGER NOT NULL REFERENCES conversations(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    role TEXT NOT NULL,
    joined_at_ms INTEGER NOT NULL,
    joined_pos INTEGER NOT NULL,
    joined_seq INTEGER NOT NULL,
    left_pos INTEGER,
    last_read_seq INTEGER NOT NULL,
    last_delivered_seq INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX members_user ON members(user_id);

CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    sender_id INTEGER NOT NULL,
    client_msg_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    text TEXT,
    blob TEXT,
    file_name TEXT,
    mime TEXT,
    size INTEGER,
    reply_to INTEGER,
    mentions TEXT NOT NULL,
    sent_at_ms INTEGER NOT NULL,
    recalled INTEGER NOT NULL DEFAULT 0,
    UNIQUE (conversation_id, seq),
    UNIQUE (sender_id, client_msg_id)
);

CREATE TABLE uploads (
    hash TEXT PRIMARY KEY,
    mime TEXT NOT NULL,
    size INTEGER NOT NULL,
    kind TEXT NOT NULL,
    uploader_id INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL
);

CREATE TABLE blob_refs (
    hash TEXT NOT NULL,
    conversation_id INTEGER NOT NULL,
    PRIMARY KEY (hash, conversation_id)
);

-- Who may read a blob because they uploaded those bytes themselves.
CREATE TABLE upload_grants (
    hash TEXT NOT NULL,
    user_id INTEGER NOT NULL,
    PRIMARY KEY (hash, user_id)
);

-- The global event stream. user_id set: an event for that user only;
-- user_id null: an event for the members of conversation_id.
CREATE TABLE events (
    pos INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    conversation_id INTEGER,
    user_id INTEGER,
    message_id INTEGER,
    at_ms INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX events_conversation ON events(conversation_id, pos) WHERE user_id IS NULL;
CREATE INDEX events_user ON events(user_id, pos) WHERE user_id IS NOT NULL;
CREATE INDEX events_message ON events(message_id) WHERE message_id IS NOT NULL;
