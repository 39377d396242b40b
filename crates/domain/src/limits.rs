//! A limit on everything: each bound a request can hit is named here, and
//! each has a test of the error just past it.

/// Longest text message, in Unicode scalar values.
pub const MAX_TEXT_CHARS: usize = 4096;
/// Most members in a group, owner included.
pub const MAX_GROUP_MEMBERS: usize = 500;
/// A sender may recall a message for this long after it was sent.
pub const RECALL_WINDOW_MS: i64 = 2 * 60 * 1000;
/// Longest friend-request greeting.
pub const MAX_GREETING_CHARS: usize = 200;
/// Longest remark (the name you give a friend).
pub const MAX_REMARK_CHARS: usize = 64;
/// Longest group name.
pub const MAX_GROUP_NAME_CHARS: usize = 64;
/// Longest group announcement.
pub const MAX_ANNOUNCEMENT_CHARS: usize = 2000;
/// Longest file name of an uploaded file.
pub const MAX_FILE_NAME_CHARS: usize = 255;
/// Most @mentions in one message.
pub const MAX_MENTIONS: usize = 100;
/// Most phone hashes in one contact-discovery request.
pub const MAX_DISCOVERY_HASHES: usize = 1000;
/// Largest page of events a sync returns.
pub const MAX_SYNC_PAGE: usize = 500;
/// Default page size for sync and history.
pub const DEFAULT_PAGE: usize = 100;
/// Most members named in one invite.
pub const MAX_INVITE_BATCH: usize = 100;
/// Largest JSON request body, in bytes.
pub const MAX_JSON_BODY_BYTES: usize = 256 * 1024;
