//! A simulation shard: one std thread that owns some rooms and ticks them on a deadline
//! schedule.
//!
//! Tick `n` starts at `t0 + n · period`. Between ticks the thread sleeps; at the start of a
//! tick it takes in what the network tasks queued (joins, frames, closes), then ticks every
//! room. A tick that ends past the next deadline counts as an overrun; if the shard falls more
//! than one period behind, it skips the missed ticks instead of running them back to back.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use crossbeam_channel::{Receiver, Sender, TryRecvError};
use rand_core::{RngCore as _, SeedableRng as _};
use rand_xoshiro::SplitMix64;
use tickwire_protocol::message::{Hello, ResumeToken};
use tickwire_protocol::session::{
    ServerConfig as SessionConfig, ServerEvent, ServerSession, SessionError, TickTime,
};
use tickwire_protocol::{CloseCode, CloseReason, Layout};

use super::clock::TickClock;
use super::ids::{ConnId, IdMap, shard_of};
use super::outbox::{Outbox, WakeBatch};
use super::room::{Member, NoAckPolicy, Room, flush};
use super::stats::{HistogramWriter, ShardStats};
use super::thread::{set_thread_nice, set_thread_realtime, thread_cpu_time, thread_nice};
use crate::config::{Config, RoomCreation};
use crate::game::GameFactory;

/// What network tasks send to a shard.
#[derive(Debug)]
pub(crate) enum Inbound {
    /// A connection's hello, decoded once by the network side (its room picked the shard).
    /// Boxed: the frames queue preallocates a slot of this enum's size per frame it can hold,
    /// and joins are rare.
    Join {
        conn: ConnId,
        hello: Box<Hello>,
        outbox: Arc<Outbox>,
    },
    /// Any later frame.
    Frame { conn: ConnId, frame: Bytes },
    /// The transport closed.
    Closed { conn: ConnId },
    /// Close every connection with `reason` (server shutdown).
    CloseAll(CloseReason),
}

/// The network side's handle to a shard.
#[derive(Debug, Clone)]
pub(crate) struct ShardHandle {
    /// Joins and closes: never dropped (bounded by the connection count).
    pub(crate) control: Sender<Inbound>,
    /// Frames: bounded; when full, frames are dropped and counted.
    pub(crate) frames: Sender<Inbound>,
    pub(crate) stats: Arc<ShardStats>,
    /// The connections each tick queued frames for; [`WakeBatch::dispatch`] runs on the
    /// network side.
    pub(crate) wakes: Arc<WakeBatch>,
}

pub(crate) struct Shard {
    index: u32,
    config: Arc<Config>,
    factory: Arc<dyn GameFactory>,
    layout: Arc<Layout>,
    session_config: SessionConfig,
    clock: TickClock,
    control: Receiver<Inbound>,
    frames: Receiver<Inbound>,
    stats: Arc<ShardStats>,
    stop: Arc<AtomicBool>,
    wakes: Arc<WakeBatch>,
    woken: Vec<Arc<Outbox>>,
    /// Rooms by the id given when created; `room_ids` finds them by name.
    rooms: IdMap<u32, Room>,
    room_ids: HashMap<String, u32>,
    next_room: u32,
    conn_room: IdMap<ConnId, u32>,
    /// Closed connections seen on the control queue, handled after the frames.
    closed: Vec<ConnId>,
    next_client: u32,
    grace_ticks: u32,
    /// Every parked session on the shard by its order of parking (room, token): the first
    /// is the oldest, dropped first when the shard holds `max_parked` of them.
    parked_order: BTreeMap<u64, (u32, ResumeToken)>,
    next_park: u64,
    expired: Vec<u64>,
    /// This shard's shares of `max_parked_sessions` and `max_rooms`.
    max_parked: usize,
    max_rooms: usize,
    empty_room_ticks: u32,
    no_ack: NoAckPolicy,
    /// Seeds of the rooms' games.
    seeds: SplitMix64,
    tick_duration: HistogramWriter,
    tick_cpu: HistogramWriter,
}

impl Shard {
    /// A shard and the handle the network side uses to reach it.
    pub(crate) fn new(
        index: u32,
        config: Arc<Config>,
        factory: Arc<dyn GameFactory>,
        layout: Arc<Layout>,
        clock: TickClock,
        stop: Arc<AtomicBool>,
    ) -> (Self, ShardHandle) {
        let (control_tx, control) = crossbeam_channel::unbounded();
        let (frames_tx, frames) = crossbeam_channel::bounded(config.inbound_queue);
        let stats = Arc::new(ShardStats::default());
        let wakes = Arc::new(WakeBatch::default());
        let session_config = SessionConfig {
            tick_rate: config.tick_rate,
            history: config.history,
            ..SessionConfig::default()
        };
        let ticks = |ms: u64| {
            (ms.saturating_mul(u64::from(config.tick_rate)) / 1000).min(u64::from(u32::MAX)) as u32
        };
        let grace_ticks = ticks(config.resume_grace_ms);
        let empty_room_ticks = ticks(config.empty_room_grace_ms);
        let shards = config.shards.max(1);
        let no_ack = NoAckPolicy::new(&config);
        let max_parked = config.max_parked_sessions.div_ceil(shards);
        let max_rooms = config.max_rooms.div_ceil(shards);
        let mut seed = [0u8; 8];
        // Without an OS source, rooms still get distinct seeds, from a fixed start.
        let _ = getrandom::fill(&mut seed);
        let mut shard = Self {
            index,
            config,
            factory,
            layout,
            session_config,
            clock,
            control,
            frames,
            stats: stats.clone(),
            stop,
            wakes: wakes.clone(),
            woken: Vec::new(),
            rooms: IdMap::default(),
            room_ids: HashMap::new(),
            next_room: 0,
            conn_room: IdMap::default(),
            closed: Vec::new(),
            next_client: 1,
            grace_ticks,
            parked_order: BTreeMap::new(),
            next_park: 0,
            expired: Vec::new(),
            max_parked,
            max_rooms,
            empty_room_ticks,
            no_ack,
            seeds: SplitMix64::seed_from_u64(u64::from_le_bytes(seed)),
            tick_duration: HistogramWriter::default(),
            tick_cpu: HistogramWriter::default(),
        };
        let own: Vec<String> = shard
            .config
            .rooms
            .iter()
            .filter(|name| shard_of(name, shards) == index as usize)
            .cloned()
            .collect();
        for name in own {
            let id = shard.open_room(&name);
            if let Some(room) = shard.rooms.get_mut(&id) {
                room.permanent = true;
            }
        }
        shard.publish_counts();
        (
            shard,
            ShardHandle {
                control: control_tx,
                frames: frames_tx,
                stats,
                wakes,
            },
        )
    }

    /// Runs until asked to stop.
    pub(crate) fn run(mut self) {
        self.raise_priority();
        let period = self.clock.period;
        let dt = period.as_secs_f32();
        let mut tick = self.clock.tick_time(Instant::now()).tick + 1;
        loop {
            let deadline = self.clock.tick_start(tick);
            // Until the tick is due, take what arrived every quarter period: acks and inputs
            // reach their sessions sooner, and the tick finds little left to drain.
            let slice = period / 4;
            loop {
                let now = Instant::now();
                if deadline <= now {
                    break;
                }
                if deadline - now <= slice {
                    std::thread::sleep(deadline - now);
                    break;
                }
                std::thread::sleep(slice);
                self.drain_inbound(tick);
            }
            if self.stop.load(Ordering::Acquire) {
                self.drain_inbound(tick);
                self.wakes.close();
                break;
            }
            let started = Instant::now();
            let cpu_started = thread_cpu_time();
            self.drain_inbound(tick);
            let mut helpers_cpu = Duration::ZERO;
            for room in self.rooms.values_mut() {
                if room.is_live(tick, self.empty_room_ticks) {
                    helpers_cpu += room.tick(tick, dt, &self.stats, &mut self.woken);
                }
                room.expire_parked(tick, &mut self.expired);
            }
            for seq in self.expired.drain(..) {
                self.parked_order.remove(&seq);
            }
            self.wakes.submit(&mut self.woken);
            if self.rooms.values().any(Room::is_empty) {
                self.rooms.retain(|_, r| !r.is_empty());
                let rooms = &self.rooms;
                self.room_ids.retain(|_, id| rooms.contains_key(id));
            }
            self.publish_counts();
            let ended = Instant::now();
            self.tick_duration
                .record(&self.stats.tick_duration, ended - started);
            if let (Some(a), Some(b)) = (cpu_started, thread_cpu_time()) {
                self.tick_cpu
                    .record(&self.stats.tick_cpu, b.saturating_sub(a) + helpers_cpu);
            }
            self.stats.ticks.fetch_add(1, Ordering::Relaxed);
            let next = self.clock.tick_start(tick + 1);
            if ended > next {
                self.stats.overruns.fetch_add(1, Ordering::Relaxed);
            }
            let behind = self.clock.tick_time(ended).tick;
            if behind > tick + 1 {
                self.stats
                    .skipped_ticks
                    .fetch_add(u64::from(behind - tick - 1), Ordering::Relaxed);
                tick = behind;
            } else {
                tick += 1;
            }
        }
    }

    /// Runs this thread (and the encode threads it starts, which inherit it) under `SCHED_FIFO`
    /// with `shard_realtime`, else at `shard_nice`.
    fn raise_priority(&self) {
        if self.config.shard_realtime {
            match set_thread_realtime() {
                Ok(()) => {
                    self.stats.realtime.store(true, Ordering::Relaxed);
                    tracing::debug!(shard = self.index, "shard runs under SCHED_FIFO");
                    return;
                }
                Err(e) => tracing::warn!(
                    shard = self.index,
                    error = %e,
                    "shard_realtime: SCHED_FIFO refused (it needs CAP_SYS_NICE and, in a cgroup \
                     with real-time group scheduling, a real-time budget); using shard_nice"
                ),
            }
        }
        let want = self.config.shard_nice;
        let result = if want == 0 {
            Ok(())
        } else {
            set_thread_nice(want)
        };
        if let Some(now) = thread_nice() {
            self.stats.nice.store(now, Ordering::Relaxed);
        }
        if let Err(e) = result {
            // Info, not a warning: without the capability (a developer's machine, say) this is
            // the default's expected outcome and the server works as before.
            tracing::info!(
                shard = self.index,
                shard_nice = want,
                error = %e,
                "shard threads keep the process's priority; a nice value below it needs \
                 CAP_SYS_NICE (root, `setcap cap_sys_nice+ep`, or systemd LimitNICE=), \
                 or set --shard-nice 0 to silence this"
            );
        }
    }

    fn publish_counts(&self) {
        let clients: usize = self.rooms.values().map(|r| r.members.len()).sum();
        let parked: usize = self.rooms.values().map(|r| r.parked.len()).sum();
        self.stats
            .rooms
            .store(self.rooms.len() as u64, Ordering::Relaxed);
        self.stats.clients.store(clients as u64, Ordering::Relaxed);
        self.stats.parked.store(parked as u64, Ordering::Relaxed);
    }

    fn drain_inbound(&mut self, tick: u32) {
        // A connection's frames go on the frame queue and its end on the control queue, after
        // them: a close waits until the frames queued before it are handled, or a leave sent
        // just before hanging up would find the client parked.
        let mut closed = std::mem::take(&mut self.closed);
        while let Ok(msg) = self.control.try_recv() {
            match msg {
                Inbound::Closed { conn } => closed.push(conn),
                msg => self.handle(tick, msg),
            }
        }
        // Only what was queued when the tick began, so a flood cannot hold the tick forever.
        let queued = self.frames.len();
        self.stats
            .queue_depth
            .store(queued as u64, Ordering::Relaxed);
        for _ in 0..queued {
            match self.frames.try_recv() {
                Ok(msg) => self.handle(tick, msg),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        for conn in closed.drain(..) {
            self.handle(tick, Inbound::Closed { conn });
        }
        self.closed = closed;
    }

    fn now(&self) -> TickTime {
        self.clock.tick_time(Instant::now())
    }

    fn handle(&mut self, tick: u32, msg: Inbound) {
        match msg {
            Inbound::Join {
                conn,
                hello,
                outbox,
            } => self.join(tick, conn, *hello, outbox),
            Inbound::Frame { conn, frame } => self.frame(tick, conn, &frame),
            Inbound::Closed { conn } => {
                if let Some(id) = self.conn_room.remove(&conn)
                    && let Some(room) = self.rooms.get_mut(&id)
                {
                    let seq = self.next_park;
                    if let Some(token) = room.park(conn, tick, self.grace_ticks, seq) {
                        self.next_park += 1;
                        self.parked_order.insert(seq, (id, token));
                        self.drop_oldest_parked();
                    }
                }
            }
            Inbound::CloseAll(reason) => {
                for room in self.rooms.values_mut() {
                    let conns: Vec<ConnId> = room.members.conns();
                    for conn in conns {
                        room.kick(conn, reason.clone());
                    }
                }
            }
        }
    }

    fn join(&mut self, tick: u32, conn: ConnId, hello: Hello, outbox: Arc<Outbox>) {
        let mut session = ServerSession::new(self.layout.clone(), self.session_config.clone());
        let now = TickTime { tick, ..self.now() };
        let room_name = hello.room.clone();
        if let Err(e) = session.handle_hello(hello) {
            let _ = flush(&mut session, &outbox);
            let reason = match e {
                SessionError::Closed(r) => r,
                other => CloseReason::new(CloseCode::BAD_HANDSHAKE, other.to_string()),
            };
            outbox.close(reason);
            return;
        }
        let Some(ServerEvent::Hello { resume, .. }) = session.poll_event() else {
            outbox.close(CloseReason::new(
                CloseCode::BAD_HANDSHAKE,
                "first message must be hello",
            ));
            return;
        };
        let room_exists = self
            .room_ids
            .get(&room_name)
            .is_some_and(|id| self.rooms.contains_key(id));
        if resume.is_some() && !room_exists {
            // Nothing to resume in a room that does not exist: refused before one is made.
            return refuse_resume(&mut session, &outbox);
        }
        if !room_exists && let Err(reason) = self.may_open(&room_name) {
            session.reject(reason.clone());
            let _ = flush(&mut session, &outbox);
            outbox.close(reason);
            return;
        }
        let room_id = self.open_room(&room_name);
        let Some(room) = self.rooms.get_mut(&room_id) else {
            return;
        };

        // A resume takes over a parked client, or one whose old connection is not closed yet
        // (which is told it was replaced). A token is good for one resume: the welcome
        // carries a fresh one, and a token nobody holds is refused, never taken for a fresh
        // session.
        let mut resumed = None;
        let asked_resume = resume.is_some();
        if let Some(req) = resume {
            if let Some(p) = room.parked.remove(&req.token) {
                self.parked_order.remove(&p.seq);
                resumed = Some((p.client, p.player, req.token, p.repl, req.last_tick));
            } else if let Some(old) = room.members.by_token(&req.token)
                && let Some(mut m) = room.members.remove(&old)
            {
                let repl = m.session.take_replication();
                let reason =
                    CloseReason::new(CloseCode::REPLACED, "session resumed on another connection");
                m.session.close(reason.clone());
                let _ = flush(&mut m.session, &m.outbox);
                m.outbox.close(reason);
                self.conn_room.remove(&old);
                resumed = Some((m.client, m.player, req.token, repl, req.last_tick));
            }
        }
        if asked_resume && resumed.is_none() {
            // The room stays until the tick removes it if empty.
            return refuse_resume(&mut session, &outbox);
        }
        // Parked sessions hold a place in the room: a newcomer takes the oldest one's, and
        // a room full of connected clients is full.
        while resumed.is_none()
            && room.occupants() >= self.config.max_clients_per_room
            && let Some(token) = room.oldest_parked()
        {
            if let Some(seq) = room.drop_parked(&token) {
                self.parked_order.remove(&seq);
                self.stats.parked_dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
        if resumed.is_none() && room.occupants() >= self.config.max_clients_per_room {
            let max = self.config.max_clients_per_room;
            let reason = CloseReason::new(
                CloseCode::ROOM_FULL,
                format!("room {room_name} has {max} clients"),
            );
            session.reject(reason.clone());
            let _ = flush(&mut session, &outbox);
            outbox.close(reason);
            return;
        }
        let mut token = [0u8; 16];
        if getrandom::fill(&mut token).is_err() {
            // The resumed session, if any, is lost with its token: nothing could resume it.
            outbox.close(CloseReason::new(
                CloseCode::INTERNAL,
                "no randomness for a resume token",
            ));
            if let Some((client, ..)) = resumed {
                room.game_mut().leave(client);
            }
            return;
        }
        let (client, player) = match resumed {
            Some((client, player, _used, repl, last_tick)) => {
                session.accept(now, client, player, token, Some((repl, last_tick)));
                (client, player)
            }
            None => {
                let client = (self.index << 24) | (self.next_client & 0x00ff_ffff);
                self.next_client = self.next_client.wrapping_add(1);
                let player = room.game_mut().join(client);
                session.accept(now, client, player, token, None);
                (client, player)
            }
        };
        if let Err(reason) = flush(&mut session, &outbox) {
            outbox.close(reason);
        }
        room.members
            .insert(conn, Member::new(client, player, token, session, outbox));
        self.conn_room.insert(conn, room_id);
    }

    /// Whether a hello may open the room `name`, which does not exist: `Err` is the close.
    fn may_open(&self, name: &str) -> Result<(), CloseReason> {
        match self.config.room_creation {
            RoomCreation::Any => {}
            // The server's rooms exist from the start: any other is unknown.
            RoomCreation::Server => {
                return Err(CloseReason::new(
                    CloseCode::BAD_HANDSHAKE,
                    format!("no such room: {name}"),
                ));
            }
        }
        if self.rooms.len() >= self.max_rooms {
            return Err(CloseReason::new(
                CloseCode::SERVER_FULL,
                "too many rooms on the server",
            ));
        }
        Ok(())
    }

    /// The id of the room `name`, opened if it does not exist.
    fn open_room(&mut self, name: &str) -> u32 {
        let id = match self.room_ids.get(name) {
            Some(&id) => id,
            None => {
                let id = self.next_room;
                self.next_room = self.next_room.wrapping_add(1);
                self.room_ids.insert(name.to_owned(), id);
                id
            }
        };
        if !self.rooms.contains_key(&id) {
            let game = self.factory.create(name, self.seeds.next_u64());
            let room = Room::new(
                name.to_owned(),
                game,
                self.layout.clone(),
                self.config.view_radius,
                self.config.encode_threads,
                self.config.history,
                self.no_ack,
            );
            self.rooms.insert(id, room);
        }
        id
    }

    /// Drops the oldest parked sessions while the shard holds more than its share.
    fn drop_oldest_parked(&mut self) {
        while self.parked_order.len() > self.max_parked {
            let Some((_, (room, token))) = self.parked_order.pop_first() else {
                break;
            };
            if let Some(room) = self.rooms.get_mut(&room)
                && room.drop_parked(&token).is_some()
            {
                self.stats.parked_dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn frame(&mut self, tick: u32, conn: ConnId, frame: &[u8]) {
        let Some(room) = self
            .conn_room
            .get(&conn)
            .and_then(|id| self.rooms.get_mut(id))
        else {
            return;
        };
        let Some(m) = room.members.get_mut(&conn) else {
            return;
        };
        let now = TickTime {
            tick,
            ..self.clock.tick_time(Instant::now())
        };
        let before = m.session.input_stats();
        let result = m.session.handle_frame(now, frame);
        let after = m.session.input_stats();
        self.stats
            .late_inputs
            .fetch_add(after.late - before.late, Ordering::Relaxed);
        let mut left = false;
        while let Some(ev) = m.session.poll_event() {
            match ev {
                ServerEvent::Left => left = true,
                ServerEvent::Event(_) | ServerEvent::Signal(_) | ServerEvent::Hello { .. } => {}
            }
        }
        match result {
            Ok(()) if left => {
                room.kick(conn, CloseReason::new(CloseCode::NORMAL, "left"));
                self.conn_room.remove(&conn);
            }
            Ok(()) => {
                if let Err(reason) = flush(&mut m.session, &m.outbox) {
                    room.kick(conn, reason);
                    self.conn_room.remove(&conn);
                }
            }
            Err(e) => {
                let reason = match e {
                    SessionError::Closed(r) => r,
                    other => CloseReason::new(CloseCode::INTERNAL, other.to_string()),
                };
                tracing::debug!(conn, code = reason.code.name(), message = %reason.message, "closing client");
                room.kick(conn, reason);
                self.conn_room.remove(&conn);
            }
        }
    }
}

/// Refuses a hello whose resume token no session holds.
fn refuse_resume(session: &mut ServerSession, outbox: &Outbox) {
    let reason = CloseReason::new(
        CloseCode::RESUME_FAILED,
        "resume token unknown, used or expired",
    );
    session.reject(reason.clone());
    let _ = flush(session, outbox);
    outbox.close(reason);
}

/// Spawns `shard` on its own named thread.
pub(crate) fn spawn(shard: Shard) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name(format!("tickwire-shard-{}", shard.index))
        .spawn(move || shard.run())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_inbound_frame_slot_stays_small() {
        // The bounded frames queue allocates `inbound_queue` slots of this size up front.
        assert!(
            std::mem::size_of::<Inbound>() <= 48,
            "{}",
            std::mem::size_of::<Inbound>()
        );
    }
}
