//! The server side of one client connection.

use std::collections::VecDeque;
use std::sync::Arc;

use super::channel::Channel;
use super::error::SessionError;
use super::history::{DEFAULT_HISTORY, SnapshotHistory};
use super::inputs::{InputBuffer, InputStats};
use super::time::{TickTime, pong};
use crate::codec::views::{DeltaCache, View, encode_view_snapshot};
use crate::codec::{
    EncodeScratch, SharedBodies, encode_snapshot, encode_snapshot_shared,
    encode_view_against_snapshot,
};
use crate::error::DecodeError;
use crate::input::{FRAME_INPUT, InputPacket};
use crate::layout::Layout;
use crate::message::{
    ClientMessage, CloseCode, CloseReason, FRAME_CONTROL, Hello, MAX_FRAME_LEN, ResumeRequest,
    ResumeToken, ServerMessage, Signal, Welcome,
};
use crate::schema::WIRE_VERSION;
use crate::snapshot::{EntityId, Snapshot};

/// Settings of a server session.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Simulation rate in ticks per second, sent in the welcome. Default 30.
    pub tick_rate: u16,
    /// Snapshots remembered per client as possible baselines. Default 32.
    pub history: usize,
    /// Most inputs waiting for their tick per client; older ones are dropped past it.
    /// Default 64.
    pub input_capacity: usize,
    /// Furthest ahead of the current tick an input may be stamped, in ticks; later stamps are
    /// pulled back. Default 30.
    pub max_input_lead: u32,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            tick_rate: 30,
            history: DEFAULT_HISTORY,
            input_capacity: 64,
            max_input_lead: 30,
        }
    }
}

/// What the application must act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent {
    /// A valid hello (protocol already checked): call [`ServerSession::accept`] or
    /// [`ServerSession::reject`].
    Hello {
        /// Room asked for.
        room: String,
        /// Credential to check.
        auth_token: String,
        /// Present when the client wants its earlier session back.
        resume: Option<ResumeRequest>,
    },
    /// A reliable game event from the client.
    Event(Vec<u8>),
    /// WebRTC signaling from the client.
    Signal(Signal),
    /// The client left on purpose; drop its session without keeping it for resume.
    Left,
}

/// Counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// Full snapshots encoded.
    pub full_snapshots: u64,
    /// Delta snapshots encoded.
    pub delta_snapshots: u64,
    /// Snapshot bytes encoded (frames, including the type byte).
    pub snapshot_bytes: u64,
    /// Snapshots replaced by a newer one before they were polled.
    pub superseded: u64,
    /// Acks naming a tick this session never sent or no longer holds.
    pub stale_acks: u64,
}

/// What a session needs to continue on another connection: the snapshots sent, the newest
/// acknowledged tick and the input state. Taken from the old session with
/// [`ServerSession::take_replication`], handed to [`ServerSession::accept`].
#[derive(Debug, Clone)]
pub struct Replication {
    history: SnapshotHistory,
    acked: Option<u32>,
    inputs: InputBuffer,
    /// Every snapshot in `history` is the whole world of its tick, so shared bodies apply.
    whole_world: bool,
    /// How each history slot holds its snapshot, by slot index.
    views: Vec<SlotView>,
}

/// How one history slot holds the snapshot sent for its tick.
#[derive(Debug, Clone)]
enum SlotView {
    /// The slot's own snapshot is the one sent; `spare` is a row buffer kept for reuse.
    Own {
        /// Cleared before use; only its allocation matters.
        spare: Vec<u32>,
    },
    /// The snapshot sent is these rows (increasing) of the room's world at the slot's tick;
    /// the slot's own snapshot is stale. The world lives in the room's ring, not here.
    Rows(Vec<u32>),
}

impl SlotView {
    /// The rows, when the slot holds its snapshot as rows.
    fn rows(&self) -> Option<&[u32]> {
        match self {
            SlotView::Rows(rows) => Some(rows),
            SlotView::Own { .. } => None,
        }
    }

    /// Marks the slot as holding its own snapshot, keeping the row buffer for reuse.
    fn make_own(&mut self) {
        if let SlotView::Rows(rows) = self {
            *self = SlotView::Own {
                spare: std::mem::take(rows),
            };
        }
    }

    /// Takes the slot's row buffer (cleared) to write new rows into; the slot holds its own
    /// snapshot until [`SlotView::Rows`] is put back.
    fn take_buffer(&mut self) -> Vec<u32> {
        let (SlotView::Own { spare: mut buf } | SlotView::Rows(mut buf)) =
            std::mem::replace(self, SlotView::Own { spare: Vec::new() });
        buf.clear();
        buf
    }
}

impl Replication {
    fn new(layout: &Layout, config: &ServerConfig) -> Self {
        Self {
            history: SnapshotHistory::new(config.history),
            acked: None,
            inputs: InputBuffer::new(
                layout.input.words,
                config.input_capacity,
                config.max_input_lead,
            ),
            whole_world: true,
            views: vec![SlotView::Own { spare: Vec::new() }; config.history.max(1)],
        }
    }

    /// Copies the views held as rows of `worlds` into snapshots of their own, so this state
    /// outlives the world ring (a parked session waiting for its client). Views whose world
    /// is no longer in `worlds` are forgotten.
    pub fn detach_views(&mut self, worlds: &SnapshotHistory) {
        for (i, slot) in self.views.iter_mut().enumerate() {
            let Some(rows) = slot.rows() else {
                continue;
            };
            let world = self.history.tick_of(i).and_then(|t| worlds.get(t));
            match world {
                Some(world) => View { world, rows }.copy_into(self.history.slot_mut(i)),
                None => self.history.forget_slot(i),
            }
            slot.make_own();
        }
    }

    /// Newest tick the client acknowledged.
    pub fn acked(&self) -> Option<u32> {
        self.acked
    }

    /// Input state.
    pub fn inputs(&self) -> &InputBuffer {
        &self.inputs
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    AwaitingHello,
    AwaitingAccept,
    Established,
    Closed,
}

/// One client connection, server side.
///
/// Push frames with [`ServerSession::handle_frame`]; pull [`ServerSession::poll_event`] and
/// [`ServerSession::poll_transmit`] until both return `None`. Each tick, hand due inputs to the
/// game with [`ServerSession::drain_inputs`] and produce the client's snapshot with
/// [`ServerSession::write_snapshot`]. Only the newest snapshot waits to be sent: writing a new
/// one replaces one not yet polled, so a slow client costs one snapshot of memory.
#[derive(Debug)]
pub struct ServerSession {
    layout: Arc<Layout>,
    config: ServerConfig,
    state: State,
    client_id: u32,
    repl: Replication,
    packet: InputPacket,
    control_out: VecDeque<Vec<u8>>,
    snapshot_out: Vec<u8>,
    snapshot_ready: bool,
    events: VecDeque<ServerEvent>,
    stats: ServerStats,
}

impl ServerSession {
    /// A session waiting for the client's hello.
    pub fn new(layout: Arc<Layout>, config: ServerConfig) -> Self {
        let repl = Replication::new(&layout, &config);
        Self {
            layout,
            config,
            state: State::AwaitingHello,
            client_id: 0,
            repl,
            packet: InputPacket::default(),
            control_out: VecDeque::new(),
            snapshot_out: Vec::new(),
            snapshot_ready: false,
            events: VecDeque::new(),
            stats: ServerStats::default(),
        }
    }

    /// Whether the welcome has been sent and the session not closed.
    pub fn is_established(&self) -> bool {
        self.state == State::Established
    }

    /// Whether the session is closed (after an error, a rejection or a leave).
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// The id given in [`ServerSession::accept`].
    pub fn client_id(&self) -> u32 {
        self.client_id
    }

    /// Takes in one frame from the client. An error closes the session and queues a close frame
    /// with the reason.
    pub fn handle_frame(&mut self, now: TickTime, frame: &[u8]) -> Result<(), SessionError> {
        if self.state == State::Closed {
            return Err(SessionError::NotEstablished);
        }
        if frame.len() > MAX_FRAME_LEN {
            return Err(self.fail(
                CloseCode::MESSAGE_TOO_LARGE,
                format!("frame of {} bytes", frame.len()),
            ));
        }
        match frame.first() {
            Some(&FRAME_CONTROL) => match ClientMessage::decode(frame) {
                Ok(msg) => self.handle_message(now, msg),
                Err(e) => Err(self.fail(CloseCode::MALFORMED, format!("control frame: {e}"))),
            },
            Some(&FRAME_INPUT) => {
                if self.state != State::Established {
                    return Err(self.fail(CloseCode::BAD_HANDSHAKE, "input before welcome"));
                }
                if let Err(e) = self.packet.decode(&self.layout, frame) {
                    let code = if e == DecodeError::OutOfRange {
                        CloseCode::BAD_INPUT
                    } else {
                        CloseCode::MALFORMED
                    };
                    return Err(self.fail(code, format!("input frame: {e}")));
                }
                self.handle_ack(self.packet.ack);
                self.repl.inputs.handle_packet(now.tick, &self.packet);
                Ok(())
            }
            Some(&other) => Err(self.fail(
                CloseCode::MALFORMED,
                format!("unknown frame type {other:#04x}"),
            )),
            None => Err(self.fail(CloseCode::MALFORMED, "empty frame")),
        }
    }

    fn handle_message(&mut self, now: TickTime, msg: ClientMessage) -> Result<(), SessionError> {
        match (self.state, msg) {
            (_, ClientMessage::Hello(hello)) => self.handle_hello(hello),
            (State::AwaitingHello, _) => {
                Err(self.fail(CloseCode::BAD_HANDSHAKE, "first message must be hello"))
            }
            (_, ClientMessage::Ping { client_time_us }) => {
                self.queue(&ServerMessage::Pong(pong(now, client_time_us)));
                Ok(())
            }
            (_, ClientMessage::Signal(s)) => {
                self.events.push_back(ServerEvent::Signal(s));
                Ok(())
            }
            (_, ClientMessage::Event { payload }) => {
                self.events.push_back(ServerEvent::Event(payload));
                Ok(())
            }
            (_, ClientMessage::Leave) => {
                self.state = State::Closed;
                self.events.push_back(ServerEvent::Left);
                Ok(())
            }
        }
    }

    /// Takes in the client's hello, already decoded (by [`ClientMessage::decode`], which
    /// enforces its length limits): the same as [`ServerSession::handle_frame`] with the frame
    /// it came in, for a caller that decoded that frame itself and must not decode it twice.
    ///
    /// Checks the wire version and the protocol hash, then queues [`ServerEvent::Hello`]. A
    /// mismatch, or a hello after the first, closes the session and queues a close frame; a
    /// closed session refuses it with [`SessionError::NotEstablished`], as it refuses frames.
    pub fn handle_hello(&mut self, hello: Hello) -> Result<(), SessionError> {
        match self.state {
            State::AwaitingHello => {}
            State::Closed => return Err(SessionError::NotEstablished),
            State::AwaitingAccept | State::Established => {
                return Err(self.fail(CloseCode::BAD_HANDSHAKE, "second hello"));
            }
        }
        if hello.wire_version != WIRE_VERSION {
            let msg = format!(
                "client wire version {} but server speaks {WIRE_VERSION}",
                hello.wire_version
            );
            return Err(self.fail(CloseCode::PROTOCOL_MISMATCH, msg));
        }
        let ours = self.layout.protocol_hash();
        if let Some(theirs) = hello.protocol_hash.filter(|h| *h != ours) {
            let msg = format!(
                "client protocol hash {theirs:016x} but server {ours:016x}: regenerate the client from this server's schema"
            );
            return Err(self.fail(CloseCode::PROTOCOL_MISMATCH, msg));
        }
        self.state = State::AwaitingAccept;
        self.events.push_back(ServerEvent::Hello {
            room: hello.room,
            auth_token: hello.auth_token,
            resume: hello.resume,
        });
        Ok(())
    }

    fn handle_ack(&mut self, ack: Option<u32>) {
        let Some(t) = ack else { return };
        if self.repl.acked.is_some_and(|a| t <= a) {
            return;
        }
        if self.repl.history.contains(t) {
            self.repl.acked = Some(t);
        } else {
            self.stats.stale_acks += 1;
        }
    }

    /// Accepts the hello: queues the welcome. With `resumed`, the session continues the given
    /// replication state (taken from the earlier session), so the next snapshot is a delta
    /// against what the client last acknowledged, if still held; `client_last_tick` is the
    /// tick the client said it holds, used when newer than the last ack that arrived.
    pub fn accept(
        &mut self,
        now: TickTime,
        client_id: u32,
        player: Option<EntityId>,
        resume_token: ResumeToken,
        resumed: Option<(Replication, Option<u32>)>,
    ) {
        let was_resumed = resumed.is_some();
        if let Some((repl, client_last_tick)) = resumed {
            self.repl = repl;
            self.handle_ack(client_last_tick);
        }
        self.client_id = client_id;
        self.state = State::Established;
        let welcome = Welcome {
            client_id,
            player,
            tick_rate: self.config.tick_rate,
            tick: now.tick,
            tick_fraction: now.fraction,
            schema: self.layout.schema().clone(),
            resume_token,
            resumed: was_resumed,
        };
        self.queue(&ServerMessage::Welcome(welcome));
    }

    /// Refuses the hello (or ends an established session): queues a close frame.
    pub fn reject(&mut self, reason: CloseReason) {
        self.close(reason);
    }

    /// Closes the session, queuing a close frame with `reason` for the client.
    pub fn close(&mut self, reason: CloseReason) {
        if self.state != State::Closed {
            self.queue(&ServerMessage::Close(reason));
            self.state = State::Closed;
        }
    }

    fn fail(&mut self, code: CloseCode, message: impl Into<String>) -> SessionError {
        let reason = CloseReason::new(code, message);
        self.close(reason.clone());
        SessionError::Closed(reason)
    }

    fn queue(&mut self, msg: &ServerMessage) {
        let mut buf = Vec::new();
        msg.encode(&mut buf);
        self.control_out.push_back(buf);
    }

    /// Queues a reliable game event for the client.
    pub fn send_event(&mut self, payload: Vec<u8>) {
        self.queue(&ServerMessage::Event { payload });
    }

    /// Queues WebRTC signaling for the client.
    pub fn send_signal(&mut self, signal: Signal) {
        self.queue(&ServerMessage::Signal(signal));
    }

    /// Hands every input due at `tick` to `apply` (sequence number, quantized words), oldest
    /// first; call once per tick before stepping the game.
    pub fn drain_inputs(&mut self, tick: u32, apply: impl FnMut(u32, &[u32])) {
        self.repl.inputs.drain(tick, apply);
    }

    /// Builds this client's snapshot for `tick` with `fill` (which receives a cleared snapshot
    /// to push the client's view into, in id order) and encodes it against the newest
    /// acknowledged baseline still held, or in full. The frame replaces any snapshot not yet
    /// polled.
    pub fn write_snapshot(
        &mut self,
        tick: u32,
        scratch: &mut EncodeScratch,
        fill: impl FnOnce(&mut Snapshot),
    ) {
        self.repl.whole_world = false;
        self.encode(tick, scratch, None, |slot| fill(slot));
    }

    /// [`ServerSession::write_snapshot`] for a client who sees the whole world: `world` is this
    /// tick's world, the same for every client calling with the same `shared`, whose encoded
    /// bodies are reused by every client acknowledging the same baseline tick. A session that
    /// was ever sent a partial view encodes on its own.
    pub fn write_world_snapshot(
        &mut self,
        world: &Snapshot,
        scratch: &mut EncodeScratch,
        shared: &mut SharedBodies,
    ) {
        let shared = if self.repl.whole_world {
            Some(shared)
        } else {
            None
        };
        self.encode(world.tick, scratch, shared, |slot| slot.clone_from(world));
    }

    /// Baseline tick the next snapshot for `tick` will be a delta against, if any.
    pub fn baseline_for(&self, tick: u32) -> Option<u32> {
        self.repl
            .acked
            .filter(|&a| a < tick && self.repl.history.contains(a))
    }

    /// Writes the client's snapshot of a partial view of `world` (this tick's world): `fill`
    /// receives a cleared list to write the rows of `world` the client sees, increasing.
    /// `worlds` holds the room's recent worlds, at least as many ticks as this session's
    /// history: views are kept as rows of them, not copied. `cache` holds this tick's entity
    /// pieces (see [`DeltaCache`]); the frame is the same with or without it, only slower
    /// without. The frame replaces any snapshot not yet polled.
    pub fn write_view_snapshot(
        &mut self,
        world: &Snapshot,
        worlds: &SnapshotHistory,
        cache: &DeltaCache,
        scratch: &mut EncodeScratch,
        fill: impl FnOnce(&mut Vec<u32>),
    ) {
        let tick = world.tick;
        let repl = &mut self.repl;
        repl.whole_world = false;
        let i = repl.history.next_slot();
        // The slot being written is never the baseline: look it up once the slot is taken.
        repl.history.begin(tick);
        let base_slot = repl
            .acked
            .filter(|&a| a < tick)
            .and_then(|a| Some((a, repl.history.slot_of(a)?)));
        let mut rows = repl.views[i].take_buffer();
        fill(&mut rows);
        if self.snapshot_ready {
            self.stats.superseded += 1;
        }
        self.snapshot_out.clear();
        let seq = repl.inputs.last_applied();
        let cur = View { world, rows: &rows };
        let layout = &self.layout;
        let out = &mut self.snapshot_out;
        let base_rows = base_slot.map(|(b_tick, b)| (b_tick, b, repl.views[b].rows()));
        let delta = match base_rows {
            Some((b_tick, _, Some(brows))) => match worlds.get(b_tick) {
                Some(bw) => {
                    let base = View {
                        world: bw,
                        rows: brows,
                    };
                    encode_view_snapshot(layout, cur, Some(base), seq, cache, scratch, out);
                    true
                }
                None => {
                    encode_view_snapshot(layout, cur, None, seq, cache, scratch, out);
                    false
                }
            },
            Some((_, b, None)) => {
                // A baseline held as a snapshot of its own, as after a resume.
                let base = repl.history.slot(b);
                encode_view_against_snapshot(layout, cur, base, seq, scratch, out);
                true
            }
            None => {
                encode_view_snapshot(layout, cur, None, seq, cache, scratch, out);
                false
            }
        };
        repl.views[i] = SlotView::Rows(rows);
        repl.history.commit();
        if delta {
            self.stats.delta_snapshots += 1;
        } else {
            self.stats.full_snapshots += 1;
        }
        self.stats.snapshot_bytes += self.snapshot_out.len() as u64;
        self.snapshot_ready = true;
    }

    fn encode(
        &mut self,
        tick: u32,
        scratch: &mut EncodeScratch,
        shared: Option<&mut SharedBodies>,
        fill: impl FnOnce(&mut Snapshot),
    ) {
        let repl = &mut self.repl;
        let base_tick = repl.acked.filter(|&a| a < tick).filter(|&a| {
            // A slot holding rows has no snapshot of its own to diff against.
            repl.history
                .slot_of(a)
                .is_some_and(|b| repl.views[b].rows().is_none())
        });
        repl.views[repl.history.next_slot()].make_own();
        let (slot, base) = repl.history.begin_with_base(tick, base_tick);
        slot.clear(&self.layout, tick);
        fill(slot);
        slot.tick = tick;
        if self.snapshot_ready {
            self.stats.superseded += 1;
        }
        self.snapshot_out.clear();
        let seq = repl.inputs.last_applied();
        match shared {
            Some(shared) => encode_snapshot_shared(
                &self.layout,
                slot,
                base,
                seq,
                scratch,
                shared,
                &mut self.snapshot_out,
            ),
            None => encode_snapshot(
                &self.layout,
                slot,
                base,
                seq,
                scratch,
                &mut self.snapshot_out,
            ),
        }
        if base.is_some() {
            self.stats.delta_snapshots += 1;
        } else {
            self.stats.full_snapshots += 1;
        }
        self.stats.snapshot_bytes += self.snapshot_out.len() as u64;
        repl.history.commit();
        self.snapshot_ready = true;
    }

    /// Writes the next frame to send into `out` (cleared first) and says which channel it
    /// belongs on; control frames go first. `None` when nothing is waiting.
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) -> Option<Channel> {
        out.clear();
        if let Some(frame) = self.control_out.pop_front() {
            out.extend_from_slice(&frame);
            return Some(Channel::Reliable);
        }
        if self.snapshot_ready && self.state == State::Established {
            self.snapshot_ready = false;
            // Hand the frame over without copying; `out`'s buffer is written next time.
            std::mem::swap(out, &mut self.snapshot_out);
            return Some(Channel::Unreliable);
        }
        None
    }

    /// Whether [`ServerSession::poll_transmit`] has a frame to give.
    pub fn wants_transmit(&self) -> bool {
        !self.control_out.is_empty() || (self.snapshot_ready && self.state == State::Established)
    }

    /// Next event for the application.
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }

    /// Moves the replication state out (for a later resume), leaving a fresh one.
    pub fn take_replication(&mut self) -> Replication {
        std::mem::replace(&mut self.repl, Replication::new(&self.layout, &self.config))
    }

    /// Newest tick the client acknowledged.
    pub fn acked(&self) -> Option<u32> {
        self.repl.acked
    }

    /// Snapshot counters.
    pub fn stats(&self) -> ServerStats {
        self.stats
    }

    /// Input counters.
    pub fn input_stats(&self) -> InputStats {
        self.repl.inputs.stats()
    }
}
