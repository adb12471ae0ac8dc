//! Server and client sessions prepared in each of their states, fed frames one at a time; every
//! frame a session sends and every event it reports is checked.

use std::sync::Arc;

use tickwire_protocol::message::{
    MAX_AUTH_TOKEN_LEN, MAX_EVENT_LEN, MAX_ROOM_NAME_LEN, ResumeRequest,
};
use tickwire_protocol::session::{
    Channel, ClientConfig, ClientEvent, ClientSession, Replication, ServerConfig, ServerEvent,
    ServerSession, SessionError, TickTime,
};
use tickwire_protocol::{
    ClientMessage, CloseReason, DecodeScratch, EncodeScratch, Layout, ServerMessage, Snapshot,
    WIRE_VERSION, decode_snapshot, peek_snapshot_header,
};

use crate::check::{
    check_client_message, check_input_frame, check_server_message, check_snapshot, check_words,
};
use crate::fixture::{
    CLIENT_ID, PLAYER, RESUME_TOKEN, START_TICK, input_words, layout, test_world,
};
use crate::frames::{hello_frame, input_frame, snapshot_frame, welcome_frame};

/// Where a prepared server session starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerStart {
    /// Fresh: waiting for the hello. A valid hello is accepted.
    AwaitingHello,
    /// Hello received, not yet accepted (and never accepted).
    AwaitingAccept,
    /// Welcomed; snapshots for ticks 100 to 103 written and sent, none acknowledged.
    Established,
    /// Resumed on a new connection from an established session that had 102 acknowledged;
    /// the resume hello claims 103.
    Resumed,
}

impl ServerStart {
    /// Every start.
    pub const ALL: [ServerStart; 4] = [
        ServerStart::AwaitingHello,
        ServerStart::AwaitingAccept,
        ServerStart::Established,
        ServerStart::Resumed,
    ];
}

/// A server session on the test schema with its clock, and checks on all it does.
#[derive(Debug)]
pub struct ServerHarness {
    /// The session under test.
    pub session: ServerSession,
    layout: Arc<Layout>,
    tick: u32,
    scratch: EncodeScratch,
    accept_hello: bool,
    resume: Option<(Replication, Option<u32>)>,
    last_applied: Option<u32>,
    /// Whether outgoing frames are checked (off while preparing: the same every run).
    checks: bool,
}

fn server_config() -> ServerConfig {
    ServerConfig {
        tick_rate: 30,
        history: 8,
        input_capacity: 16,
        max_input_lead: 30,
    }
}

impl ServerHarness {
    /// A session prepared in state `start`.
    pub fn new(start: ServerStart) -> Self {
        let layout = layout();
        let mut h = Self {
            session: ServerSession::new(layout.clone(), server_config()),
            layout,
            tick: START_TICK,
            scratch: EncodeScratch::default(),
            accept_hello: start != ServerStart::AwaitingAccept,
            resume: None,
            last_applied: None,
            checks: false,
        };
        let hash = Some(h.layout.protocol_hash());
        if start == ServerStart::AwaitingHello {
            h.checks = true;
            return h;
        }
        h.feed(&hello_frame(hash, None)).expect("valid hello");
        if start == ServerStart::AwaitingAccept {
            assert!(!h.session.is_established());
            h.checks = true;
            return h;
        }
        for _ in 0..3 {
            h.step(None);
        }
        assert!(h.session.is_established());
        if start == ServerStart::Established {
            h.checks = true;
            return h;
        }
        h.feed(&input_frame(Some(START_TICK + 2), 0, &[]))
            .expect("valid ack");
        assert_eq!(h.session.acked(), Some(START_TICK + 2));
        let repl = h.session.take_replication();
        h.session = ServerSession::new(h.layout.clone(), server_config());
        h.resume = Some((repl, Some(START_TICK + 3)));
        let resume = ResumeRequest {
            token: RESUME_TOKEN,
            last_tick: Some(START_TICK + 3),
        };
        h.feed(&hello_frame(hash, Some(resume)))
            .expect("valid resume hello");
        assert!(h.session.is_established());
        assert_eq!(h.session.acked(), Some(START_TICK + 3));
        h.checks = true;
        h
    }

    fn now(&self) -> TickTime {
        TickTime {
            tick: self.tick,
            fraction: (self.tick.wrapping_mul(2_654_435_761) >> 16) as u16,
        }
    }

    /// Feeds one frame, then runs one tick (events, due inputs, a snapshot, transmits).
    pub fn feed(&mut self, frame: &[u8]) -> Result<(), SessionError> {
        let was_closed = self.session.is_closed();
        let r = self.session.handle_frame(self.now(), frame);
        let closing = match &r {
            Ok(()) => {
                assert!(!was_closed, "a closed session took a frame");
                None
            }
            Err(SessionError::NotEstablished) => {
                assert!(was_closed, "NotEstablished from an open session");
                None
            }
            Err(SessionError::Closed(reason)) => {
                assert!(!was_closed);
                assert!(self.session.is_closed(), "error without closing");
                assert!(reason.message.len() <= tickwire_protocol::message::MAX_CLOSE_MESSAGE_LEN);
                Some(reason.clone())
            }
            Err(e) => panic!("unexpected server session error {e:?}"),
        };
        if was_closed {
            assert_eq!(r, Err(SessionError::NotEstablished));
        }
        self.step(closing);
        r
    }

    /// One tick without a frame: events, due inputs, a snapshot, transmits. `closing` is the
    /// reason the last frame closed the session for, if it did.
    pub fn step(&mut self, closing: Option<CloseReason>) {
        while let Some(ev) = self.session.poll_event() {
            match ev {
                ServerEvent::Hello {
                    room, auth_token, ..
                } => {
                    assert!(room.len() <= MAX_ROOM_NAME_LEN);
                    assert!(auth_token.len() <= MAX_AUTH_TOKEN_LEN);
                    assert!(!self.session.is_established());
                    if self.accept_hello && !self.session.is_closed() {
                        let now = self.now();
                        let resume = self.resume.take();
                        self.session
                            .accept(now, CLIENT_ID, Some(PLAYER), RESUME_TOKEN, resume);
                    }
                }
                ServerEvent::Event(payload) => assert!(payload.len() <= MAX_EVENT_LEN),
                ServerEvent::Signal(_) => {}
                ServerEvent::Left => assert!(self.session.is_closed()),
            }
        }
        let input = &self.layout.input;
        let mut last = self.last_applied;
        self.session.drain_inputs(self.tick, |seq, words| {
            check_words(input, words);
            assert!(
                last.is_none_or(|l| seq > l),
                "input {seq} applied after {last:?}"
            );
            last = Some(seq);
        });
        self.last_applied = last;
        if self.session.is_established() {
            let world = test_world(self.tick);
            self.session
                .write_snapshot(self.tick, &mut self.scratch, |s| s.copy_from(&world));
        }
        let mut out = Vec::new();
        let mut last_control = None;
        while let Some(channel) = self.session.poll_transmit(&mut out) {
            match channel {
                Channel::Reliable if self.checks => {
                    let m = check_server_message(&out).expect("the server sends valid frames");
                    last_control = Some(m);
                }
                Channel::Unreliable if self.checks => self.check_sent_snapshot(&out),
                Channel::Reliable | Channel::Unreliable => {}
            }
        }
        if let Some(reason) = closing.filter(|_| self.checks) {
            assert_eq!(last_control, Some(ServerMessage::Close(reason)));
        }
        self.tick += 1;
    }

    /// A snapshot the server sent decodes, against the world at its baseline, to the world.
    fn check_sent_snapshot(&self, frame: &[u8]) {
        let h = peek_snapshot_header(frame).expect("the server sends valid snapshots");
        assert_eq!(h.tick, self.tick);
        assert_eq!(h.last_input_seq, self.last_applied);
        if let Some(b) = h.baseline {
            assert_eq!(
                Some(b),
                self.session.acked(),
                "delta against an unacked tick"
            );
        }
        let base = h.baseline.map(test_world);
        let mut out = Snapshot::default();
        let d = decode_snapshot(
            &self.layout,
            frame,
            |_| base.as_ref(),
            &mut DecodeScratch::default(),
            &mut out,
        )
        .expect("the server's snapshot decodes against what it was acked");
        assert_eq!(d, h);
        assert_eq!(out, test_world(self.tick));
    }
}

/// Where a prepared client session starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientStart {
    /// Never connected.
    Idle,
    /// Hello sent; generic client (accepts any schema).
    Handshaking,
    /// Hello sent; built for the test schema's protocol hash.
    Pinned,
    /// Welcomed with the test schema; the full snapshot of tick 100 decoded.
    Established,
    /// Was established with ticks 100 and 101 decoded, lost the connection, and sent a resume
    /// hello on a new one.
    Reconnecting,
}

impl ClientStart {
    /// Every start.
    pub const ALL: [ClientStart; 5] = [
        ClientStart::Idle,
        ClientStart::Handshaking,
        ClientStart::Pinned,
        ClientStart::Established,
        ClientStart::Reconnecting,
    ];
}

/// A client session with its clock, and checks on all it does.
#[derive(Debug)]
pub struct ClientHarness {
    /// The session under test.
    pub session: ClientSession,
    now_us: u64,
    connected: bool,
    latest: Option<u32>,
    inputs_sent: u32,
    /// Whether decoded state and outgoing frames are checked (off while preparing).
    checks: bool,
}

impl ClientHarness {
    /// A session prepared in state `start`.
    pub fn new(start: ClientStart) -> Self {
        let config = ClientConfig {
            room: "lobby".into(),
            auth_token: "token-123".into(),
            protocol_hash: (start == ClientStart::Pinned).then(|| layout().protocol_hash()),
            history: 8,
            ..ClientConfig::default()
        };
        let mut h = Self {
            session: ClientSession::new(config),
            now_us: 1_000_000,
            connected: false,
            latest: None,
            inputs_sent: 0,
            checks: false,
        };
        if start == ClientStart::Idle {
            h.checks = true;
            return h;
        }
        h.connect();
        if matches!(start, ClientStart::Handshaking | ClientStart::Pinned) {
            h.checks = true;
            return h;
        }
        h.feed(&welcome_frame(START_TICK, false))
            .expect("valid welcome");
        h.feed(&snapshot_frame(START_TICK, None, None))
            .expect("valid snapshot");
        assert_eq!(h.latest, Some(START_TICK));
        if start == ClientStart::Established {
            h.checks = true;
            return h;
        }
        h.feed(&snapshot_frame(START_TICK + 1, Some(START_TICK), Some(0)))
            .expect("valid delta");
        assert_eq!(h.latest, Some(START_TICK + 1));
        h.session.connection_lost();
        h.connect();
        h.checks = true;
        h
    }

    fn connect(&mut self) {
        self.session.connect(self.now_us);
        self.connected = true;
        let mut out = Vec::new();
        assert_eq!(
            self.session.poll_transmit(&mut out),
            Some(Channel::Reliable)
        );
        match check_client_message(&out) {
            Some(ClientMessage::Hello(hello)) => {
                assert_eq!(hello.wire_version, WIRE_VERSION);
                let resume = hello.resume.map(|r| r.last_tick);
                if self.latest.is_some() {
                    assert_eq!(resume, Some(self.latest));
                }
            }
            other => panic!("first frame of a connection is {other:?}"),
        }
        assert_eq!(self.session.poll_transmit(&mut out), None);
    }

    /// Feeds one frame, then sends an input when established and checks all that comes out.
    pub fn feed(&mut self, frame: &[u8]) -> Result<(), SessionError> {
        let r = self.session.handle_frame(self.now_us, frame);
        let closing = match &r {
            Ok(()) => {
                assert!(self.connected, "an unconnected session took a frame");
                assert!(!self.session.is_closed());
                None
            }
            Err(SessionError::NotEstablished) => {
                assert!(!self.connected, "NotEstablished from a connected session");
                None
            }
            Err(SessionError::Closed(reason) | SessionError::PeerClosed(reason)) => {
                assert!(self.connected);
                assert!(self.session.is_closed(), "error without closing");
                Some(reason.clone())
            }
            Err(e) => panic!("unexpected client session error {e:?}"),
        };
        self.connected &= !self.session.is_closed();
        let mut closed_event = None;
        while let Some(ev) = self.session.poll_event() {
            match ev {
                ClientEvent::Connected {
                    client_id, player, ..
                } => {
                    assert!(self.session.is_established());
                    let w = self.session.welcome().expect("welcome kept");
                    assert_eq!((w.client_id, w.player), (client_id, player));
                    // A welcome that does not resume, or brings another schema, forgets the
                    // baselines; otherwise they are kept.
                    self.latest = self.session.world().map(|w| w.tick);
                }
                ClientEvent::Snapshot(h) => {
                    let world = self.session.world().expect("decoded snapshot kept");
                    assert_eq!(world.tick, h.tick);
                    assert!(
                        self.latest.is_none_or(|l| h.tick > l),
                        "older snapshot taken"
                    );
                    self.latest = Some(h.tick);
                    let layout = self.session.layout().expect("layout of the welcome");
                    if self.checks {
                        check_snapshot(layout, world);
                    }
                }
                ClientEvent::DecodeFailed(_) | ClientEvent::Signal(_) => {}
                ClientEvent::Event(payload) => assert!(payload.len() <= MAX_EVENT_LEN),
                ClientEvent::Closed(reason) => closed_event = Some(reason),
            }
        }
        assert_eq!(closed_event, closing, "close event and error disagree");
        self.session.handle_timeout(self.now_us);
        if let Some(layout) = self
            .session
            .layout()
            .filter(|_| self.session.is_established())
        {
            let words = input_words(layout, u64::from(self.inputs_sent))
                .expect("input values fit a compiled layout");
            let seq = self
                .session
                .send_input(self.now_us, &words)
                .expect("input on an established session");
            assert_eq!(seq, self.inputs_sent);
            self.inputs_sent += 1;
        }
        let mut out = Vec::new();
        while let Some(channel) = self.session.poll_transmit(&mut out) {
            if !self.checks {
                continue;
            }
            match channel {
                Channel::Reliable => {
                    check_client_message(&out).expect("the client sends valid control frames");
                }
                Channel::Unreliable => {
                    let layout = self.session.layout().expect("inputs need a layout").clone();
                    let p = check_input_frame(&layout, &out)
                        .expect("the client sends valid input frames");
                    assert_eq!(p.ack, self.session.world().map(|w| w.tick));
                }
            }
        }
        self.now_us += 33_333;
        r
    }
}
