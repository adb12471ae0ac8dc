//! The server session's entry points for callers that decode frames themselves: a decoded
//! hello is taken exactly as its frame, and every pong comes from `session::pong`.

use tickwire_protocol::message::{ClientMessage, Hello, ServerMessage};
use tickwire_protocol::session::{
    Channel, EVENTS_LABEL, STATE_LABEL, ServerConfig, ServerEvent, ServerSession, SessionError,
    TickTime, pong,
};
use tickwire_protocol::{CloseCode, WIRE_VERSION};

use crate::util::arena_layout;

fn hello(protocol_hash: Option<u64>) -> Hello {
    Hello {
        wire_version: WIRE_VERSION,
        protocol_hash,
        room: "lobby".into(),
        auth_token: "secret".into(),
        resume: None,
    }
}

fn frame(m: &ClientMessage) -> Vec<u8> {
    let mut out = Vec::new();
    m.encode(&mut out);
    out
}

/// Everything a session queued, decoded.
fn sent(s: &mut ServerSession) -> Vec<ServerMessage> {
    let (mut out, mut msgs) = (Vec::new(), Vec::new());
    while let Some(ch) = s.poll_transmit(&mut out) {
        assert_eq!(ch, Channel::Reliable);
        msgs.push(ServerMessage::decode(&out).expect("the server sends valid frames"));
    }
    msgs
}

#[test]
fn a_decoded_hello_is_taken_like_its_frame() {
    let layout = arena_layout();
    let cases = [
        hello(Some(layout.protocol_hash())),
        hello(None),
        hello(Some(layout.protocol_hash() ^ 1)),
        Hello {
            wire_version: WIRE_VERSION + 1,
            ..hello(None)
        },
    ];
    for h in cases {
        let mut by_frame = ServerSession::new(layout.clone(), ServerConfig::default());
        let mut by_value = ServerSession::new(layout.clone(), ServerConfig::default());
        let bytes = frame(&ClientMessage::Hello(h.clone()));
        let a = by_frame.handle_frame(TickTime::default(), &bytes);
        let b = by_value.handle_hello(h);
        assert_eq!(a, b);
        assert_eq!(by_frame.poll_event(), by_value.poll_event());
        assert_eq!(sent(&mut by_frame), sent(&mut by_value));
        assert_eq!(by_frame.is_closed(), by_value.is_closed());
    }
}

#[test]
fn a_second_hello_is_a_bad_handshake_and_a_closed_session_takes_none() {
    let layout = arena_layout();
    let mut s = ServerSession::new(layout.clone(), ServerConfig::default());
    s.handle_hello(hello(Some(layout.protocol_hash())))
        .expect("valid hello");
    assert!(matches!(s.poll_event(), Some(ServerEvent::Hello { .. })));
    let err = s.handle_hello(hello(None)).unwrap_err();
    assert!(matches!(err, SessionError::Closed(r) if r.code == CloseCode::BAD_HANDSHAKE));
    assert!(s.is_closed());
    assert_eq!(
        s.handle_hello(hello(None)),
        Err(SessionError::NotEstablished)
    );
}

#[test]
fn a_ping_is_answered_with_the_one_pong() {
    let layout = arena_layout();
    let mut s = ServerSession::new(layout.clone(), ServerConfig::default());
    s.handle_hello(hello(None)).expect("valid hello");
    let now = TickTime {
        tick: 41,
        fraction: 0x8000,
    };
    let ping = frame(&ClientMessage::Ping {
        client_time_us: 123_456,
    });
    s.handle_frame(now, &ping).expect("ping");
    assert_eq!(sent(&mut s), [ServerMessage::Pong(pong(now, 123_456))]);
    let p = pong(now, 123_456);
    assert_eq!(
        (p.client_time_us, p.tick, p.tick_fraction),
        (123_456, 41, 0x8000)
    );
}

#[test]
fn channels_are_labelled_once() {
    assert_eq!(Channel::Unreliable.label(), STATE_LABEL);
    assert_eq!(Channel::Reliable.label(), EVENTS_LABEL);
    assert_eq!((STATE_LABEL, EVENTS_LABEL), ("state", "events"));
}
