//! Both session state machines, prepared in each of their states, fed valid, mutated and
//! random frames (from [`super::random_bytes`]): every result, event and frame they send is
//! checked, and an error always closes the session with the reason sent to the peer.

use proptest::prelude::*;
use tickwire_protocol::message::{CloseCode, CloseReason, MAX_FRAME_LEN};
use tickwire_protocol::session::{
    Channel, ClientConfig, ClientEvent, ClientSession, ServerConfig, ServerEvent, ServerSession,
    SessionError, TickTime,
};
use tickwire_protocol::{
    ClientMessage, DecodeError, DecodeScratch, EncodeScratch, FRAME_SNAPSHOT, InputPacket,
    ServerMessage, Snapshot, decode_snapshot, peek_snapshot_header,
};

use super::random_bytes::{any_frame, config, encode, hello, input, layout, welcome, world};

// ---------------------------------------------------------------------------------------------
// Sessions in each state.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ServerState {
    AwaitingHello,
    AwaitingAccept,
    Established,
    Closed,
}

fn server_in(state: ServerState) -> ServerSession {
    let layout = layout();
    let config = ServerConfig {
        history: 4,
        ..ServerConfig::default()
    };
    let mut s = ServerSession::new(layout, config);
    let now = TickTime {
        tick: 100,
        fraction: 0,
    };
    if state == ServerState::AwaitingHello {
        return s;
    }
    s.handle_frame(now, &hello(None)).expect("valid hello");
    assert!(matches!(s.poll_event(), Some(ServerEvent::Hello { .. })));
    if state == ServerState::AwaitingAccept {
        return s;
    }
    s.accept(now, 3, Some(4), [9; 16], None);
    let mut scratch = EncodeScratch::default();
    let mut out = Vec::new();
    for tick in 100..103 {
        let w = world(tick);
        s.write_snapshot(tick, &mut scratch, |snap| snap.copy_from(&w));
        while s.poll_transmit(&mut out).is_some() {}
    }
    if state == ServerState::Established {
        return s;
    }
    s.close(CloseReason::new(CloseCode::NORMAL, "done"));
    while s.poll_transmit(&mut out).is_some() {}
    assert!(s.is_closed());
    s
}

/// Feeds `frame` to a server session and checks what it does with it.
fn feed_server(s: &mut ServerSession, tick: u32, frame: &[u8]) {
    let layout = layout();
    let was_closed = s.is_closed();
    let was_established = s.is_established();
    let r = s.handle_frame(TickTime { tick, fraction: 0 }, frame);
    while let Some(ev) = s.poll_event() {
        if let ServerEvent::Hello { .. } = ev {
            assert!(!was_established);
        }
    }
    let mut out = Vec::new();
    let mut last_control = None;
    while let Some(ch) = s.poll_transmit(&mut out) {
        match ch {
            Channel::Reliable => {
                last_control =
                    Some(ServerMessage::decode(&out).expect("the server sends valid frames"));
            }
            Channel::Unreliable => {
                peek_snapshot_header(&out).expect("the server sends valid snapshots");
            }
        }
    }
    match r {
        Ok(()) => {
            assert!(!was_closed);
            let mut p = InputPacket::default();
            assert!(
                ClientMessage::decode(frame).is_ok() || p.decode(&layout, frame).is_ok(),
                "a session took a frame its decoders refuse: {frame:02x?}"
            );
        }
        Err(SessionError::NotEstablished) => assert!(was_closed),
        Err(SessionError::Closed(reason)) => {
            assert!(!was_closed);
            assert!(s.is_closed(), "an error must close the session");
            assert_eq!(last_control, Some(ServerMessage::Close(reason)));
        }
        Err(e) => panic!("unexpected server session error {e:?}"),
    }
    if s.is_established() {
        s.drain_inputs(tick, |_, words| assert_eq!(words.len(), layout.input.words));
        let w = world(tick);
        s.write_snapshot(tick, &mut EncodeScratch::default(), |snap| {
            snap.copy_from(&w)
        });
        let base = s.acked().map(world);
        assert_eq!(s.poll_transmit(&mut out), Some(Channel::Unreliable));
        let mut decoded = Snapshot::default();
        decode_snapshot(
            &layout,
            &out,
            |t| base.as_ref().filter(|b| b.tick == t),
            &mut DecodeScratch::default(),
            &mut decoded,
        )
        .expect("the server's snapshot decodes against the acked world");
        assert_eq!(decoded, w);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientState {
    Idle,
    Handshaking,
    Established,
    Closed,
}

fn client_in(state: ClientState) -> ClientSession {
    let mut c = ClientSession::new(ClientConfig {
        history: 4,
        ..ClientConfig::default()
    });
    if state == ClientState::Idle {
        return c;
    }
    c.connect(0);
    let mut out = Vec::new();
    while c.poll_transmit(&mut out).is_some() {}
    if state == ClientState::Handshaking {
        return c;
    }
    c.handle_frame(10, &welcome(false)).expect("valid welcome");
    c.handle_frame(20, &encode(&world(100), None, None))
        .expect("valid snapshot");
    assert_eq!(c.world(), Some(&world(100)));
    while c.poll_event().is_some() {}
    while c.poll_transmit(&mut out).is_some() {}
    if state == ClientState::Established {
        return c;
    }
    c.leave();
    while c.poll_transmit(&mut out).is_some() {}
    assert!(c.is_closed());
    c
}

/// Feeds `frame` to a client session and checks what it does with it.
fn feed_client(c: &mut ClientSession, now_us: u64, frame: &[u8], connected: bool) -> bool {
    let r = c.handle_frame(now_us, frame);
    let mut closed = None;
    while let Some(ev) = c.poll_event() {
        match ev {
            ClientEvent::Snapshot(h) => {
                assert_eq!(c.world().map(|w| w.tick), Some(h.tick));
            }
            ClientEvent::Closed(reason) => closed = Some(reason),
            _ => {}
        }
    }
    match &r {
        Ok(()) => {
            assert!(connected && !c.is_closed());
            assert!(
                ServerMessage::decode(frame).is_ok() || frame.first() == Some(&FRAME_SNAPSHOT),
                "a session took a frame its decoders refuse: {frame:02x?}"
            );
        }
        Err(SessionError::NotEstablished) => assert!(!connected),
        Err(SessionError::Closed(reason) | SessionError::PeerClosed(reason)) => {
            assert!(connected && c.is_closed());
            assert_eq!(closed.as_ref(), Some(reason));
        }
        Err(e) => panic!("unexpected client session error {e:?}"),
    }
    if c.is_established() {
        let words = vec![0; c.layout().expect("layout").input.words];
        c.send_input(now_us, &words)
            .expect("input on an established session");
    }
    let mut out = Vec::new();
    while let Some(ch) = c.poll_transmit(&mut out) {
        match ch {
            Channel::Reliable => {
                ClientMessage::decode(&out).expect("the client sends valid control frames");
            }
            Channel::Unreliable => {
                let layout = c.layout().expect("layout").clone();
                InputPacket::default()
                    .decode(&layout, &out)
                    .expect("the client sends valid input frames");
            }
        }
    }
    connected && !c.is_closed()
}

#[test]
fn oversized_frames_are_refused_with_a_limit_error() {
    let layout = layout();
    let mut big = hello(None);
    big.resize(MAX_FRAME_LEN + 1, 0);
    assert_eq!(ClientMessage::decode(&big), Err(DecodeError::LimitExceeded));
    assert_eq!(ServerMessage::decode(&big), Err(DecodeError::LimitExceeded));
    let mut big_input = input(Some(1), 0, &[2]);
    big_input.resize(MAX_FRAME_LEN + 1, 0);
    assert_eq!(
        InputPacket::default().decode(&layout, &big_input),
        Err(DecodeError::LimitExceeded)
    );
    let mut s = server_in(ServerState::Established);
    match s.handle_frame(TickTime::default(), &big_input) {
        Err(SessionError::Closed(reason)) => assert_eq!(reason.code, CloseCode::MESSAGE_TOO_LARGE),
        other => panic!("oversized frame gave {other:?}"),
    }
    assert!(s.is_closed());
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn server_sessions_survive_any_frames(
        state in prop_oneof![
            Just(ServerState::AwaitingHello),
            Just(ServerState::AwaitingAccept),
            Just(ServerState::Established),
            Just(ServerState::Closed),
        ],
        frames in prop::collection::vec(any_frame(), 1..6),
    ) {
        let mut s = server_in(state);
        for (k, f) in frames.iter().enumerate() {
            feed_server(&mut s, 103 + k as u32, f);
        }
    }

    #[test]
    fn client_sessions_survive_any_frames(
        state in prop_oneof![
            Just(ClientState::Idle),
            Just(ClientState::Handshaking),
            Just(ClientState::Established),
            Just(ClientState::Closed),
        ],
        frames in prop::collection::vec(any_frame(), 1..6),
    ) {
        let mut c = client_in(state);
        let mut connected = matches!(state, ClientState::Handshaking | ClientState::Established);
        for (k, f) in frames.iter().enumerate() {
            connected = feed_client(&mut c, 1_000_000 + 50_000 * k as u64, f, connected);
        }
    }
}
