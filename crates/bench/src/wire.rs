//! What the benchmark puts on and reads off the wire: the text of each
//! benchmark message (which carries its phase and send timestamp, so the
//! receiver can measure send→receive latency), and a minimal, borrowing view
//! of the server's WebSocket frames for the hot receive path.
//!
//! The full `qiao_api` types are used everywhere else (setup, send frames and
//! requests) and, in strict mode (`--smoke`), to check every received frame
//! against the published wire types as well.

use std::borrow::Cow;
use std::sync::OnceLock;
use std::time::Instant;

use serde::Deserialize;

/// The clock every timestamp in the process is read from: nanoseconds since
/// the first call. Senders and receivers live in the same process, so one
/// monotonic clock gives exact send→receive intervals.
pub fn now_ns() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let epoch = EPOCH.get_or_init(Instant::now);
    u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// Prefix of every message text the benchmark sends.
const MAGIC: &str = "qb:";

/// The text of a benchmark message: `qb:<phase>:<send ns>:` padded with `x`
/// to at least `len` characters (a realistic chat message is tens of bytes).
pub fn payload(phase: usize, sent_ns: u64, len: usize) -> String {
    let mut text = format!("{MAGIC}{phase}:{sent_ns}:");
    while text.len() < len {
        text.push('x');
    }
    text
}

/// Reads back `(phase, send ns)` from a benchmark message text.
pub fn parse_payload(text: &str) -> Option<(usize, u64)> {
    let rest = text.strip_prefix(MAGIC)?;
    let mut parts = rest.splitn(3, ':');
    let phase = parts.next()?.parse().ok()?;
    let sent = parts.next()?.parse().ok()?;
    Some((phase, sent))
}

/// The parts of a server frame the receive path needs; everything else is
/// skipped without allocating.
#[derive(Debug, Deserialize)]
pub struct InFrame<'a> {
    /// `event`, `synced`, `ack`, `error`, `pong`.
    #[serde(rename = "type", borrow)]
    pub frame: Cow<'a, str>,
    /// Event kind, e.g. `message.new`.
    #[serde(default, borrow)]
    pub kind: Option<Cow<'a, str>>,
    #[serde(default)]
    pub conversation_id: Option<i64>,
    #[serde(default, borrow)]
    pub data: Option<InMessage<'a>>,
    /// Of an `ack` or `error`.
    #[serde(default, borrow)]
    pub client_msg_id: Option<Cow<'a, str>>,
    /// Of an `error`.
    #[serde(default, borrow)]
    pub code: Option<Cow<'a, str>>,
}

/// The parts of a `message.new` payload the receive path needs.
#[derive(Debug, Deserialize)]
pub struct InMessage<'a> {
    #[serde(default)]
    pub seq: Option<i64>,
    #[serde(default)]
    pub sender_id: Option<i64>,
    #[serde(default, borrow)]
    pub text: Option<Cow<'a, str>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use qiao_api::{ClientFrame, SendMessageRequest, ServerFrame};

    fn request() -> SendMessageRequest {
        SendMessageRequest {
            client_msg_id: "m-1".into(),
            kind: "text".into(),
            text: Some("hi".into()),
            blob: None,
            file_name: None,
            reply_to: None,
            mentions: vec![],
        }
    }

    /// The send frame as `qiao_api` defines it now (the message nested under
    /// `message`) survives a round trip, so the benchmark sends over the socket.
    #[test]
    fn websocket_send_frame_round_trips() {
        let frame = ClientFrame::Send {
            conversation_id: 7,
            message: request(),
        };
        let json = serde_json::to_string(&frame).expect("serializes");
        assert_eq!(
            json,
            r#"{"type":"send","conversation_id":7,"message":{"client_msg_id":"m-1","type":"text","text":"hi","blob":null,"file_name":null,"reply_to":null,"mentions":[]}}"#
        );
        match serde_json::from_str::<ClientFrame>(&json).expect("parses") {
            ClientFrame::Send {
                conversation_id,
                message,
            } => {
                assert_eq!(conversation_id, 7);
                assert_eq!(message.kind, "text");
                assert_eq!(message.client_msg_id, "m-1");
            }
            ClientFrame::Ping => panic!("wrong variant"),
        }
    }

    /// The shape the frame had before: `#[serde(flatten)]` of a struct with a
    /// field renamed `type` inside an enum tagged `type`. Serializing writes
    /// the key `type` twice, and no JSON object reads back: with both keys
    /// serde rejects the duplicate tag, with one key the tag is consumed and
    /// the message's `type` is missing. Pinned so the shape is not reinstated.
    #[test]
    fn a_flattened_send_frame_collides_on_type() {
        #[derive(Debug, serde::Serialize, serde::Deserialize)]
        #[serde(tag = "type", rename_all = "snake_case")]
        enum Flattened {
            Send {
                conversation_id: i64,
                #[serde(flatten)]
                message: SendMessageRequest,
            },
        }
        let json = serde_json::to_string(&Flattened::Send {
            conversation_id: 7,
            message: request(),
        })
        .expect("serializes");
        assert_eq!(
            json,
            r#"{"type":"send","conversation_id":7,"client_msg_id":"m-1","type":"text","text":"hi","blob":null,"file_name":null,"reply_to":null,"mentions":[]}"#
        );
        let both = serde_json::from_str::<Flattened>(&json).expect_err("duplicate `type` is rejected");
        assert!(both.to_string().contains("duplicate field `type`"), "{both}");
        let one = r#"{"type":"send","conversation_id":7,"client_msg_id":"m-1","text":"hi"}"#;
        let one = serde_json::from_str::<Flattened>(one).expect_err("the tag eats the message type");
        assert!(one.to_string().contains("missing field `type`"), "{one}");
    }

    #[test]
    fn payload_round_trips() {
        let text = payload(2, 123_456_789, 64);
        assert_eq!(text.len(), 64);
        assert_eq!(parse_payload(&text), Some((2, 123_456_789)));
        assert_eq!(parse_payload("hello"), None);
        assert!(payload(0, u64::MAX, 8).len() > 8);
    }

    #[test]
    fn minimal_view_reads_a_server_event() {
        let text = r#"{"type":"event","pos":42,"kind":"message.new","conversation_id":9,"at_ms":1,"data":{"id":5,"conversation_id":9,"seq":3,"sender_id":11,"client_msg_id":"a","type":"text","text":"qb:0:77:x","blob":null,"file_name":null,"mime":null,"size":null,"reply_to":null,"mentions":[],"sent_at_ms":1,"recalled":false}}"#;
        let frame: InFrame<'_> = serde_json::from_str(text).expect("parses");
        assert_eq!(frame.frame, "event");
        assert_eq!(frame.kind.as_deref(), Some("message.new"));
        assert_eq!(frame.conversation_id, Some(9));
        let data = frame.data.expect("data");
        assert_eq!((data.seq, data.sender_id), (Some(3), Some(11)));
        assert_eq!(data.text.as_deref().and_then(parse_payload), Some((0, 77)));
        // The same text is a valid frame of the published wire types.
        assert!(matches!(
            serde_json::from_str::<ServerFrame>(text),
            Ok(ServerFrame::Event(_))
        ));
        let synced: InFrame<'_> = serde_json::from_str(r#"{"type":"synced","pos":0}"#).expect("parses");
        assert_eq!(synced.frame, "synced");
        let error = r#"{"type":"error","client_msg_id":"m-1","code":"not_member","message":"no"}"#;
        let error: InFrame<'_> = serde_json::from_str(error).expect("parses");
        assert_eq!(
            (error.client_msg_id.as_deref(), error.code.as_deref()),
            (Some("m-1"), Some("not_member"))
        );
    }
}
