//! Control messages: handshake, clock pings, signaling, reliable game events and close
//! reasons. They are serde types encoded with postcard behind the byte [`FRAME_CONTROL`].

use serde::{Deserialize, Serialize};

use crate::error::DecodeError;
use crate::schema::Schema;
use crate::snapshot::EntityId;

/// First byte of a control frame (both directions).
pub const FRAME_CONTROL: u8 = 0x01;

/// Largest frame either side accepts, in bytes.
pub const MAX_FRAME_LEN: usize = 64 * 1024;
/// Longest auth token, in bytes.
pub const MAX_AUTH_TOKEN_LEN: usize = 4096;
/// Longest room name, in bytes.
pub const MAX_ROOM_NAME_LEN: usize = 64;
/// Longest media stream id (`mid`) of an ICE candidate, in bytes.
pub const MAX_MID_LEN: usize = 64;
/// Longest SDP blob, in bytes.
pub const MAX_SDP_LEN: usize = 16 * 1024;
/// Longest ICE candidate line, in bytes.
pub const MAX_CANDIDATE_LEN: usize = 1024;
/// Largest reliable game event payload, in bytes.
pub const MAX_EVENT_LEN: usize = 16 * 1024;
/// Longest human-readable close message, in bytes.
pub const MAX_CLOSE_MESSAGE_LEN: usize = 256;

/// Length of a resume token.
pub const RESUME_TOKEN_LEN: usize = 16;

/// Opaque secret that lets a client take its session back after a reconnect.
pub type ResumeToken = [u8; RESUME_TOKEN_LEN];

/// Messages a client sends on the control channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ClientMessage {
    /// First message of every connection.
    Hello(Hello),
    /// Clock sync probe; answered with [`ServerMessage::Pong`].
    Ping {
        /// The client's clock when sent, in microseconds; echoed back.
        client_time_us: u64,
    },
    /// WebRTC signaling.
    Signal(Signal),
    /// A reliable game event for the server's game code.
    Event {
        /// Game-defined bytes.
        payload: Vec<u8>,
    },
    /// The client is leaving on purpose; no resume will follow.
    Leave,
}

/// The client's handshake.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    /// [`crate::WIRE_VERSION`] of the client.
    pub wire_version: u16,
    /// The protocol hash the client was built for; `None` for a generic client that decodes
    /// with whatever schema the welcome carries.
    pub protocol_hash: Option<u64>,
    /// Room to join (created if missing).
    pub room: String,
    /// Credential checked by the server; empty when the server needs none.
    pub auth_token: String,
    /// Present when reconnecting to an earlier session.
    pub resume: Option<ResumeRequest>,
}

/// A reconnecting client's claim on its earlier session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumeRequest {
    /// Token from the earlier welcome.
    pub token: ResumeToken,
    /// Newest tick the client decoded and still holds as a baseline.
    pub last_tick: Option<u32>,
}

/// Messages the server sends on the control channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ServerMessage {
    /// Handshake accepted.
    Welcome(Welcome),
    /// Answer to [`ClientMessage::Ping`].
    Pong(Pong),
    /// WebRTC signaling.
    Signal(Signal),
    /// A reliable game event from the server's game code.
    Event {
        /// Game-defined bytes.
        payload: Vec<u8>,
    },
    /// The server is closing the connection; sent last.
    Close(CloseReason),
}

/// The server's handshake answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Welcome {
    /// This client's id, unique on the server.
    pub client_id: u32,
    /// The entity the client controls, if the game gives it one.
    pub player: Option<EntityId>,
    /// Simulation rate in ticks per second.
    pub tick_rate: u16,
    /// Server tick when the welcome was written.
    pub tick: u32,
    /// Fraction of the current tick elapsed, in 1/65536 of a tick.
    pub tick_fraction: u16,
    /// The schema snapshots and inputs are coded with.
    pub schema: Schema,
    /// Token to present in [`ResumeRequest`] after a reconnect.
    pub resume_token: ResumeToken,
    /// Whether this connection took over an earlier session.
    pub resumed: bool,
}

/// Clock sync answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pong {
    /// Echo of the ping's client time.
    pub client_time_us: u64,
    /// Server tick when answered.
    pub tick: u32,
    /// Fraction of that tick elapsed, in 1/65536 of a tick.
    pub tick_fraction: u16,
}

/// WebRTC signaling, carried over the WebSocket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Signal {
    /// SDP offer.
    Offer {
        /// SDP text.
        sdp: String,
    },
    /// SDP answer.
    Answer {
        /// SDP text.
        sdp: String,
    },
    /// A trickled ICE candidate.
    Candidate {
        /// Candidate line (`candidate:...`).
        candidate: String,
        /// Media stream id the candidate belongs to.
        mid: Option<String>,
    },
    /// No more candidates.
    EndOfCandidates,
    /// The sender gives up on WebRTC for this session; both sides stay on the WebSocket.
    Abandon,
}

/// Why a connection closed: a machine-readable code and a message for humans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloseReason {
    /// Machine-readable code.
    pub code: CloseCode,
    /// Human-readable detail, at most [`MAX_CLOSE_MESSAGE_LEN`] bytes.
    pub message: String,
}

impl CloseReason {
    /// A reason with `code` and `message` (cut to the length limit on a char boundary).
    pub fn new(code: CloseCode, message: impl Into<String>) -> Self {
        let mut message = message.into();
        if message.len() > MAX_CLOSE_MESSAGE_LEN {
            let mut end = MAX_CLOSE_MESSAGE_LEN;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
        }
        Self { code, message }
    }
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.code.name(),
            self.code.0,
            self.message
        )
    }
}

/// Machine-readable close code. Unknown codes from a newer peer decode as themselves.
///
/// On a WebSocket the close frame carries `4000 + code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CloseCode(pub u16);

macro_rules! close_codes {
    ($($(#[$doc:meta])* $name:ident = $value:expr, $text:expr;)*) => {
        impl CloseCode {
            $($(#[$doc])* pub const $name: CloseCode = CloseCode($value);)*

            /// Stable snake_case name of the code, `unknown` for codes this version lacks.
            pub fn name(self) -> &'static str {
                match self.0 {
                    $($value => $text,)*
                    _ => "unknown",
                }
            }

            /// Every code this version knows.
            pub const ALL: &'static [CloseCode] = &[$(CloseCode::$name),*];
        }
    };
}

close_codes! {
    /// Closed on purpose, nothing wrong.
    NORMAL = 0, "normal";
    /// Client and server protocol hashes or wire versions differ.
    PROTOCOL_MISMATCH = 1, "protocol_mismatch";
    /// The first message was not a valid hello, or a message came out of order.
    BAD_HANDSHAKE = 2, "bad_handshake";
    /// No hello within the handshake deadline.
    HANDSHAKE_TIMEOUT = 3, "handshake_timeout";
    /// A frame did not decode.
    MALFORMED = 4, "malformed";
    /// A frame exceeded the size limit.
    MESSAGE_TOO_LARGE = 5, "message_too_large";
    /// The client sent faster than its rate limit.
    RATE_LIMITED = 6, "rate_limited";
    /// The client did not read fast enough; its reliable queue overflowed.
    SLOW_CONSUMER = 7, "slow_consumer";
    /// Nothing heard from the peer within the idle timeout.
    IDLE_TIMEOUT = 8, "idle_timeout";
    /// The server has no room for another connection.
    SERVER_FULL = 9, "server_full";
    /// The room is full.
    ROOM_FULL = 10, "room_full";
    /// The auth token was refused.
    AUTH_FAILED = 11, "auth_failed";
    /// The resume token is unknown or expired.
    RESUME_FAILED = 12, "resume_failed";
    /// The server is shutting down or draining.
    SERVER_SHUTDOWN = 13, "server_shutdown";
    /// Removed by the game.
    KICKED = 14, "kicked";
    /// The same session was resumed on another connection.
    REPLACED = 15, "replaced";
    /// A bug on the server; the message says more.
    INTERNAL = 16, "internal";
    /// An input value was malformed or out of range.
    BAD_INPUT = 17, "bad_input";
    /// The server is draining: it takes no new sessions, and the message says when to retry
    /// (`server draining; retry in 5 s`), here or on another node.
    DRAINING = 18, "draining";
}

impl CloseCode {
    /// The WebSocket close code for this reason (`4000 + code`).
    pub fn websocket_code(self) -> u16 {
        4000u16.saturating_add(self.0)
    }
}

fn decode_control<T: for<'de> Deserialize<'de>>(frame: &[u8]) -> Result<T, DecodeError> {
    if frame.len() > MAX_FRAME_LEN {
        return Err(DecodeError::LimitExceeded);
    }
    match frame.first() {
        Some(&FRAME_CONTROL) => {}
        Some(&other) => return Err(DecodeError::UnknownFrame(other)),
        None => return Err(DecodeError::UnexpectedEnd),
    }
    let (msg, rest) =
        postcard::take_from_bytes(&frame[1..]).map_err(|_| DecodeError::BadMessage)?;
    if !rest.is_empty() {
        return Err(DecodeError::TrailingBytes);
    }
    Ok(msg)
}

fn encode_control<T: Serialize>(msg: &T, out: &mut Vec<u8>) {
    out.push(FRAME_CONTROL);
    // Serializing into a Vec cannot fail for these types.
    let bytes = postcard::to_allocvec(msg).unwrap_or_default();
    out.extend_from_slice(&bytes);
}

fn check(ok: bool) -> Result<(), DecodeError> {
    if ok {
        Ok(())
    } else {
        Err(DecodeError::LimitExceeded)
    }
}

fn check_signal(s: &Signal) -> Result<(), DecodeError> {
    match s {
        Signal::Offer { sdp } | Signal::Answer { sdp } => check(sdp.len() <= MAX_SDP_LEN),
        Signal::Candidate { candidate, mid } => check(
            candidate.len() <= MAX_CANDIDATE_LEN
                && mid.as_ref().is_none_or(|m| m.len() <= MAX_MID_LEN),
        ),
        Signal::EndOfCandidates | Signal::Abandon => Ok(()),
    }
}

impl ClientMessage {
    /// Appends this message as a control frame to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        encode_control(self, out);
    }

    /// Decodes a control frame from a client, enforcing every length limit.
    pub fn decode(frame: &[u8]) -> Result<Self, DecodeError> {
        let msg: Self = decode_control(frame)?;
        match &msg {
            ClientMessage::Hello(h) => check(
                h.room.len() <= MAX_ROOM_NAME_LEN && h.auth_token.len() <= MAX_AUTH_TOKEN_LEN,
            )?,
            ClientMessage::Signal(s) => check_signal(s)?,
            ClientMessage::Event { payload } => check(payload.len() <= MAX_EVENT_LEN)?,
            ClientMessage::Ping { .. } | ClientMessage::Leave => {}
        }
        Ok(msg)
    }
}

impl ServerMessage {
    /// Appends this message as a control frame to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        encode_control(self, out);
    }

    /// Decodes a control frame from the server, enforcing every length limit.
    pub fn decode(frame: &[u8]) -> Result<Self, DecodeError> {
        let msg: Self = decode_control(frame)?;
        match &msg {
            ServerMessage::Signal(s) => check_signal(s)?,
            ServerMessage::Event { payload } => check(payload.len() <= MAX_EVENT_LEN)?,
            ServerMessage::Close(r) => check(r.message.len() <= MAX_CLOSE_MESSAGE_LEN)?,
            ServerMessage::Welcome(_) | ServerMessage::Pong(_) => {}
        }
        Ok(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_messages_round_trip() {
        let msgs = [
            ClientMessage::Hello(Hello {
                wire_version: 1,
                protocol_hash: Some(42),
                room: "lobby".into(),
                auth_token: "secret".into(),
                resume: Some(ResumeRequest {
                    token: [7; 16],
                    last_tick: Some(99),
                }),
            }),
            ClientMessage::Ping {
                client_time_us: 123_456_789,
            },
            ClientMessage::Signal(Signal::Candidate {
                candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host".into(),
                mid: Some("0".into()),
            }),
            ClientMessage::Event {
                payload: vec![1, 2, 3],
            },
            ClientMessage::Leave,
        ];
        for m in msgs {
            let mut buf = Vec::new();
            m.encode(&mut buf);
            assert_eq!(ClientMessage::decode(&buf).unwrap(), m);
        }
    }

    #[test]
    fn limits_are_enforced() {
        let mut buf = Vec::new();
        ClientMessage::Event {
            payload: vec![0; MAX_EVENT_LEN + 1],
        }
        .encode(&mut buf);
        assert_eq!(ClientMessage::decode(&buf), Err(DecodeError::LimitExceeded));
        assert_eq!(ClientMessage::decode(&[]), Err(DecodeError::UnexpectedEnd));
        assert_eq!(
            ClientMessage::decode(&[9]),
            Err(DecodeError::UnknownFrame(9))
        );
        assert_eq!(
            ClientMessage::decode(&[FRAME_CONTROL, 200]),
            Err(DecodeError::BadMessage)
        );
        let mut buf = Vec::new();
        ClientMessage::Leave.encode(&mut buf);
        buf.push(0);
        assert_eq!(ClientMessage::decode(&buf), Err(DecodeError::TrailingBytes));
    }

    #[test]
    fn close_codes_have_names_and_ws_codes() {
        assert_eq!(CloseCode::SLOW_CONSUMER.name(), "slow_consumer");
        assert_eq!(CloseCode(999).name(), "unknown");
        assert_eq!(CloseCode::PROTOCOL_MISMATCH.websocket_code(), 4001);
        let r = CloseReason::new(CloseCode::MALFORMED, "é".repeat(200));
        assert!(r.message.len() <= MAX_CLOSE_MESSAGE_LEN);
    }
}
