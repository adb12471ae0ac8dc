//! The client side of a session: handshake, snapshot decoding against its own baselines, acks,
//! inputs with redundancy, clock sync, and resume after a reconnect.

use std::collections::VecDeque;
use std::sync::Arc;

use super::channel::Channel;
use super::error::SessionError;
use super::history::{DEFAULT_HISTORY, SnapshotHistory};
use crate::clock::ClockSync;
use crate::codec::{
    DecodeScratch, FRAME_SNAPSHOT, SnapshotHeader, decode_snapshot, peek_snapshot_header,
};
use crate::error::{DecodeError, SchemaError};
use crate::input::{InputPacket, MAX_INPUTS_PER_PACKET};
use crate::layout::Layout;
use crate::message::{
    ClientMessage, CloseCode, CloseReason, FRAME_CONTROL, Hello, ResumeRequest, ResumeToken,
    ServerMessage, Signal, Welcome,
};
use crate::schema::WIRE_VERSION;
use crate::snapshot::{EntityId, Snapshot};

/// Settings of a client session.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Room to join.
    pub room: String,
    /// Credential for the server.
    pub auth_token: String,
    /// Protocol hash the client was built for; `None` to accept the server's schema as is.
    pub protocol_hash: Option<u64>,
    /// Snapshots kept as baselines; must be at least the server's history. Default 32.
    pub history: usize,
    /// Inputs repeated in each input packet (1 to 8). Default 4.
    pub input_redundancy: usize,
    /// Time between clock pings, in microseconds. Default 1 s.
    pub ping_interval_us: u64,
    /// Extra ticks added to an input's target tick beyond half a round trip and the RTT
    /// variation. Default 0: an input targets the first tick that starts after it arrives (a
    /// late one is applied one tick later and counted).
    pub input_margin_ticks: f64,
    /// Longest time an ack may wait for an input packet to carry it before it goes out alone,
    /// in microseconds. Within that, an ack waits only as long as it still reaches the server
    /// before the tick it would reach if sent at once (by the clock estimate, with a tenth of a
    /// tick and twice the RTT variation to spare), so waiting never makes the server's baseline
    /// older, and the acks an input carries cost no message of their own. Default 33 ms, one
    /// 30 Hz tick. 0 sends every ack at once.
    pub ack_delay_us: u64,
    /// Input packets waiting to be polled before the oldest is dropped. Default 8.
    pub max_queued_inputs: usize,
}

/// Ticks an ack keeps to spare when it waits for an input: it should reach the server this
/// long before the tick starts.
const ACK_SPARE_TICKS: f64 = 0.1;

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            room: "default".to_owned(),
            auth_token: String::new(),
            protocol_hash: None,
            history: DEFAULT_HISTORY,
            input_redundancy: 4,
            ping_interval_us: 1_000_000,
            input_margin_ticks: 0.0,
            ack_delay_us: 33_000,
            max_queued_inputs: 8,
        }
    }
}

/// What happened, for the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// The server welcomed us.
    Connected {
        /// Our client id.
        client_id: u32,
        /// The entity we control, if any.
        player: Option<EntityId>,
        /// Whether the server continued the earlier session.
        resumed: bool,
    },
    /// A snapshot decoded; [`ClientSession::world`] now returns it.
    Snapshot(SnapshotHeader),
    /// A snapshot failed to decode and was dropped (the server resends state; nothing to do).
    DecodeFailed(DecodeError),
    /// A reliable game event from the server.
    Event(Vec<u8>),
    /// WebRTC signaling from the server.
    Signal(Signal),
    /// The server closed the session.
    Closed(CloseReason),
}

/// Counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// Snapshots decoded.
    pub snapshots: u64,
    /// Of which full.
    pub full_snapshots: u64,
    /// Snapshots that failed to decode.
    pub decode_errors: u64,
    /// Snapshots older than (or as old as) the newest decoded, ignored.
    pub stale_snapshots: u64,
    /// Bytes of every frame received.
    pub bytes_received: u64,
    /// Input packets dropped because they were not polled in time.
    pub inputs_dropped: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    Handshaking,
    Established,
    Closed,
}

/// One client's session. Survives reconnects: call [`ClientSession::connection_lost`] when
/// the transport drops and [`ClientSession::connect`] on the new one; the hello then asks to
/// resume, and baselines are kept so the server can go on sending deltas.
///
/// Push frames with [`ClientSession::handle_frame`] and time with
/// [`ClientSession::handle_timeout`]; pull [`ClientSession::poll_event`] and
/// [`ClientSession::poll_transmit`] until both return `None`.
#[derive(Debug)]
pub struct ClientSession {
    config: ClientConfig,
    state: State,
    layout: Option<Arc<Layout>>,
    welcome: Option<Welcome>,
    resume_token: Option<ResumeToken>,
    clock: ClockSync,
    hello_sent_us: u64,
    next_ping_us: u64,
    history: SnapshotHistory,
    incoming: Snapshot,
    scratch: DecodeScratch,
    latest: Option<u32>,
    /// A decoded snapshot is not acknowledged yet; an ack-only packet goes out at this time
    /// unless an input packet carries the ack first.
    ack_due_us: Option<u64>,
    /// The delayed ack's time has come.
    ack_now: bool,
    last_input_seq_applied: Option<u32>,
    next_seq: u32,
    recent_inputs: VecDeque<(u32, Vec<u32>)>,
    packet: InputPacket,
    control_out: VecDeque<Vec<u8>>,
    unreliable_out: VecDeque<Vec<u8>>,
    events: VecDeque<ClientEvent>,
    stats: ClientStats,
}

impl ClientSession {
    /// A session that has not connected yet.
    pub fn new(config: ClientConfig) -> Self {
        let history = SnapshotHistory::new(config.history);
        Self {
            config,
            state: State::Idle,
            layout: None,
            welcome: None,
            resume_token: None,
            clock: ClockSync::new(30),
            hello_sent_us: 0,
            next_ping_us: 0,
            history,
            incoming: Snapshot::default(),
            scratch: DecodeScratch::default(),
            latest: None,
            ack_due_us: None,
            ack_now: false,
            last_input_seq_applied: None,
            next_seq: 0,
            recent_inputs: VecDeque::new(),
            packet: InputPacket::default(),
            control_out: VecDeque::new(),
            unreliable_out: VecDeque::new(),
            events: VecDeque::new(),
            stats: ClientStats::default(),
        }
    }

    /// Starts the handshake on a fresh transport: queues the hello, asking to resume when an
    /// earlier connection was welcomed.
    pub fn connect(&mut self, now_us: u64) {
        self.control_out.clear();
        self.unreliable_out.clear();
        let resume = self.resume_token.map(|token| ResumeRequest {
            token,
            last_tick: self.latest,
        });
        let hello = Hello {
            wire_version: WIRE_VERSION,
            protocol_hash: self.config.protocol_hash,
            room: self.config.room.clone(),
            auth_token: self.config.auth_token.clone(),
            resume,
        };
        self.queue(&ClientMessage::Hello(hello));
        self.hello_sent_us = now_us;
        self.state = State::Handshaking;
    }

    /// The transport dropped. Baselines and the resume token are kept for the next
    /// [`ClientSession::connect`].
    pub fn connection_lost(&mut self) {
        if self.state != State::Closed {
            self.state = State::Idle;
        }
        self.control_out.clear();
        self.unreliable_out.clear();
    }

    /// Leaves on purpose: queues a leave message; no resume will be possible.
    pub fn leave(&mut self) {
        if self.state == State::Established {
            self.queue(&ClientMessage::Leave);
        }
        self.state = State::Closed;
        self.resume_token = None;
    }

    /// Whether the server's welcome arrived on the current connection.
    pub fn is_established(&self) -> bool {
        self.state == State::Established
    }

    /// Whether the session ended (closed by the server, a protocol error, or [`Self::leave`]).
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// The layout compiled from the welcome's schema.
    pub fn layout(&self) -> Option<&Arc<Layout>> {
        self.layout.as_ref()
    }

    /// The last welcome.
    pub fn welcome(&self) -> Option<&Welcome> {
        self.welcome.as_ref()
    }

    /// The newest decoded snapshot.
    pub fn world(&self) -> Option<&Snapshot> {
        self.latest.and_then(|t| self.history.get(t))
    }

    /// The server's sequence number of the newest input it applied, from the newest snapshot.
    pub fn last_input_applied(&self) -> Option<u32> {
        self.last_input_seq_applied
    }

    /// Clock sync state.
    pub fn clock(&self) -> &ClockSync {
        &self.clock
    }

    /// Counters.
    pub fn stats(&self) -> ClientStats {
        self.stats
    }

    /// Takes in one frame from the server.
    pub fn handle_frame(&mut self, now_us: u64, frame: &[u8]) -> Result<(), SessionError> {
        if !matches!(self.state, State::Handshaking | State::Established) {
            return Err(SessionError::NotEstablished);
        }
        self.stats.bytes_received += frame.len() as u64;
        match frame.first() {
            Some(&FRAME_CONTROL) => match ServerMessage::decode(frame) {
                Ok(msg) => self.handle_message(now_us, msg),
                Err(e) => {
                    Err(self.fail(CloseCode::MALFORMED, format!("server control frame: {e}")))
                }
            },
            Some(&FRAME_SNAPSHOT) if self.state == State::Established => {
                self.handle_snapshot(now_us, frame);
                Ok(())
            }
            Some(&FRAME_SNAPSHOT) => {
                Err(self.fail(CloseCode::BAD_HANDSHAKE, "snapshot before welcome"))
            }
            Some(&other) => Err(self.fail(
                CloseCode::MALFORMED,
                format!("unknown frame type {other:#04x}"),
            )),
            None => Err(self.fail(CloseCode::MALFORMED, "empty frame")),
        }
    }

    fn handle_message(&mut self, now_us: u64, msg: ServerMessage) -> Result<(), SessionError> {
        match msg {
            ServerMessage::Welcome(w) => {
                if self.state != State::Handshaking {
                    return Err(self.fail(CloseCode::BAD_HANDSHAKE, "unexpected welcome"));
                }
                self.handle_welcome(now_us, w)
            }
            ServerMessage::Pong(p) => {
                self.clock
                    .handle_sample(p.client_time_us, now_us, p.tick, p.tick_fraction);
                Ok(())
            }
            ServerMessage::Signal(s) => {
                self.events.push_back(ClientEvent::Signal(s));
                Ok(())
            }
            ServerMessage::Event { payload } => {
                self.events.push_back(ClientEvent::Event(payload));
                Ok(())
            }
            ServerMessage::Close(reason) => {
                self.state = State::Closed;
                if reason.code == CloseCode::RESUME_FAILED || reason.code == CloseCode::REPLACED {
                    self.resume_token = None;
                }
                self.events.push_back(ClientEvent::Closed(reason.clone()));
                Err(SessionError::PeerClosed(reason))
            }
        }
    }

    fn handle_welcome(&mut self, now_us: u64, w: Welcome) -> Result<(), SessionError> {
        let layout = match Layout::new(&w.schema) {
            Ok(l) => l,
            Err(e) => {
                return Err(self.fail(
                    CloseCode::PROTOCOL_MISMATCH,
                    format!("server schema: {}", schema_msg(&e)),
                ));
            }
        };
        if let Some(ours) = self
            .config
            .protocol_hash
            .filter(|h| *h != layout.protocol_hash())
        {
            let msg = format!(
                "server schema hashes to {:016x}, client built for {ours:016x}",
                layout.protocol_hash()
            );
            return Err(self.fail(CloseCode::PROTOCOL_MISMATCH, msg));
        }
        let schema_changed = self
            .layout
            .as_ref()
            .is_none_or(|l| l.protocol_hash() != layout.protocol_hash());
        if !w.resumed || schema_changed {
            self.history.clear();
            self.latest = None;
            self.recent_inputs.clear();
            self.last_input_seq_applied = None;
        }
        if self.layout.is_none() || schema_changed {
            self.layout = Some(Arc::new(layout));
            self.packet
                .clear(self.layout.as_ref().map_or(0, |l| l.input.words));
        }
        self.clock = ClockSync::new(w.tick_rate);
        self.clock
            .seed(self.hello_sent_us, now_us, w.tick, w.tick_fraction);
        self.next_ping_us = now_us;
        self.resume_token = Some(w.resume_token);
        self.state = State::Established;
        self.events.push_back(ClientEvent::Connected {
            client_id: w.client_id,
            player: w.player,
            resumed: w.resumed,
        });
        self.welcome = Some(w);
        Ok(())
    }

    fn handle_snapshot(&mut self, now_us: u64, frame: &[u8]) {
        let Some(layout) = self.layout.as_ref() else {
            return;
        };
        let header = match peek_snapshot_header(frame) {
            Ok(h) => h,
            Err(e) => return self.decode_failed(e),
        };
        if self.latest.is_some_and(|l| header.tick <= l) {
            self.stats.stale_snapshots += 1;
            return;
        }
        let history = &self.history;
        let result = decode_snapshot(
            layout,
            frame,
            |b| history.get(b),
            &mut self.scratch,
            &mut self.incoming,
        );
        match result {
            Ok(h) => {
                let slot = self.history.begin(h.tick);
                std::mem::swap(slot, &mut self.incoming);
                self.history.commit();
                self.latest = Some(h.tick);
                if self.ack_due_us.is_none() {
                    let wait = self
                        .clock
                        .slack_us(now_us, ACK_SPARE_TICKS)
                        .map_or(self.config.ack_delay_us, |s| {
                            s.min(self.config.ack_delay_us)
                        });
                    self.ack_due_us = Some(now_us.saturating_add(wait));
                }
                if h.last_input_seq.is_some() {
                    self.last_input_seq_applied = h.last_input_seq;
                }
                self.stats.snapshots += 1;
                if h.baseline.is_none() {
                    self.stats.full_snapshots += 1;
                }
                self.events.push_back(ClientEvent::Snapshot(h));
            }
            Err(e) => self.decode_failed(e),
        }
    }

    fn decode_failed(&mut self, e: DecodeError) {
        self.stats.decode_errors += 1;
        self.events.push_back(ClientEvent::DecodeFailed(e));
    }

    /// Sends pings and delayed acks when due; call at [`ClientSession::poll_timeout`].
    pub fn handle_timeout(&mut self, now_us: u64) {
        if self.ack_due_us.is_some_and(|t| now_us >= t) {
            self.ack_now = true;
        }
        if self.state == State::Established && now_us >= self.next_ping_us {
            self.queue(&ClientMessage::Ping {
                client_time_us: now_us,
            });
            self.next_ping_us = now_us + self.config.ping_interval_us;
        }
    }

    /// When [`ClientSession::handle_timeout`] next has work.
    pub fn poll_timeout(&self) -> Option<u64> {
        if self.state != State::Established {
            return None;
        }
        let ack = self.ack_due_us.filter(|_| !self.ack_now);
        Some(ack.map_or(self.next_ping_us, |a| a.min(self.next_ping_us)))
    }

    /// Queues one input (quantized words, laid out by the schema's input) stamped for the tick
    /// it should reach the server, with the previous inputs repeated and the newest ack.
    /// Returns its sequence number.
    pub fn send_input(&mut self, now_us: u64, words: &[u32]) -> Result<u32, SessionError> {
        let Some(layout) = self
            .layout
            .as_ref()
            .filter(|_| self.state == State::Established)
        else {
            return Err(SessionError::NotEstablished);
        };
        if words.len() != layout.input.words {
            return Err(SessionError::NotEstablished);
        }
        let tick = self
            .clock
            .input_tick(now_us, self.config.input_margin_ticks)
            .unwrap_or(0);
        let tick = self
            .recent_inputs
            .back()
            .map_or(tick, |(t, _)| tick.max(*t));
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        let keep = self.config.input_redundancy.clamp(1, MAX_INPUTS_PER_PACKET);
        if self.recent_inputs.len() == keep {
            self.recent_inputs.pop_front();
        }
        self.recent_inputs.push_back((tick, words.to_vec()));
        self.packet.clear(layout.input.words);
        self.packet.ack = self.latest;
        self.packet.newest_seq = seq;
        for (t, w) in self.recent_inputs.iter().rev() {
            self.packet.push_older(*t, w);
        }
        let mut frame = Vec::new();
        self.packet.encode(layout, &mut frame);
        if self.unreliable_out.len() >= self.config.max_queued_inputs.max(1) {
            self.unreliable_out.pop_front();
            self.stats.inputs_dropped += 1;
        }
        self.unreliable_out.push_back(frame);
        self.ack_due_us = None;
        self.ack_now = false;
        Ok(seq)
    }

    /// Queues a reliable game event for the server.
    pub fn send_event(&mut self, payload: Vec<u8>) {
        self.queue(&ClientMessage::Event { payload });
    }

    /// Queues WebRTC signaling for the server.
    pub fn send_signal(&mut self, signal: Signal) {
        self.queue(&ClientMessage::Signal(signal));
    }

    /// Writes the next frame to send into `out` (cleared first) and its channel: control
    /// frames, then input packets, then an ack-only packet when a snapshot arrived since the
    /// last ack went out. `None` when nothing is waiting.
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) -> Option<Channel> {
        out.clear();
        if let Some(frame) = self.control_out.pop_front() {
            out.extend_from_slice(&frame);
            return Some(Channel::Reliable);
        }
        if self.state != State::Established {
            return None;
        }
        if let Some(frame) = self.unreliable_out.pop_front() {
            out.extend_from_slice(&frame);
            return Some(Channel::Unreliable);
        }
        if self.ack_now || (self.ack_due_us.is_some() && self.config.ack_delay_us == 0) {
            let layout = self.layout.as_ref()?;
            self.ack_due_us = None;
            self.ack_now = false;
            self.packet.clear(layout.input.words);
            self.packet.ack = self.latest;
            self.packet.encode(layout, out);
            return Some(Channel::Unreliable);
        }
        None
    }

    /// Next event for the application.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    fn queue(&mut self, msg: &ClientMessage) {
        let mut buf = Vec::new();
        msg.encode(&mut buf);
        self.control_out.push_back(buf);
    }

    fn fail(&mut self, code: CloseCode, message: impl Into<String>) -> SessionError {
        let reason = CloseReason::new(code, message);
        self.state = State::Closed;
        self.events.push_back(ClientEvent::Closed(reason.clone()));
        SessionError::Closed(reason)
    }
}

fn schema_msg(e: &SchemaError) -> String {
    e.to_string()
}
