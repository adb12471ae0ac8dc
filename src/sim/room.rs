//! A room: one game, its clients, and the per-client snapshots it sends every tick.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use glam::Vec2;
use tickwire_protocol::message::Hello;
use tickwire_protocol::message::ResumeToken;
use tickwire_protocol::session::SnapshotHistory;
use tickwire_protocol::session::{
    Channel, Replication, ServerConfig as SessionConfig, ServerSession, TickTime,
};
use tickwire_protocol::{
    CloseCode, CloseReason, DeltaCache, EncodeScratch, EntityId, Layout, Snapshot,
};
use tickwire_protocol::{InputPacket, SchemaError, SharedBodies, WIRE_VERSION};

use super::ids::{ConnId, IdMap};
use super::interest::SpatialGrid;
use super::outbox::Outbox;
use super::stats::{ShardStats, SizeBuckets};
use super::thread::thread_cpu_time;
use crate::game::{ClientId, Game, PlayerInput, StepContext, WorldWriter};
use std::time::Duration;

/// A connected client.
#[derive(Debug)]
pub(crate) struct Member {
    pub(crate) client: ClientId,
    pub(crate) player: Option<EntityId>,
    pub(crate) token: ResumeToken,
    pub(crate) session: ServerSession,
    pub(crate) outbox: Arc<Outbox>,
    /// The newest acknowledgement seen, and the tick since which none newer came (`None`
    /// until the client's first snapshot is written: it cannot ack before that).
    pub(crate) last_ack: Option<u32>,
    pub(crate) quiet_since: Option<u32>,
}

impl Member {
    pub(crate) fn new(
        client: ClientId,
        player: Option<EntityId>,
        token: ResumeToken,
        session: ServerSession,
        outbox: Arc<Outbox>,
    ) -> Self {
        Self {
            client,
            player,
            token,
            last_ack: session.acked(),
            quiet_since: None,
            session,
            outbox,
        }
    }
}

/// What a room does with clients that acknowledge no snapshot.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NoAckPolicy {
    /// Ticks without an acknowledgement after which only every `every`-th tick's snapshot is
    /// sent. The `history`: by then the client holds no baseline the server still has, so
    /// each snapshot it gets is full.
    pub(crate) backoff_after: u32,
    pub(crate) every: u32,
    /// Ticks without an acknowledgement after which the client is closed.
    pub(crate) close_after: u32,
    /// The same in ms (`no_ack_timeout_ms`), for the close message.
    pub(crate) close_after_ms: u64,
}

impl NoAckPolicy {
    /// Snapshots a client that stopped acking still gets: one every this many ticks.
    pub(crate) const EVERY: u32 = 8;

    pub(crate) fn new(config: &crate::Config) -> Self {
        let close_after = config
            .no_ack_timeout_ms
            .saturating_mul(u64::from(config.tick_rate))
            .div_ceil(1000)
            .min(u64::from(u32::MAX)) as u32;
        Self {
            backoff_after: config.history as u32,
            every: Self::EVERY,
            close_after: close_after.max(1),
            close_after_ms: config.no_ack_timeout_ms,
        }
    }
}

/// The connected clients of a room: a dense vector (ticked in parallel chunks) with an index
/// by connection.
#[derive(Debug, Default)]
pub(crate) struct Members {
    list: Vec<(ConnId, Member)>,
    index: IdMap<ConnId, usize>,
}

impl Members {
    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub(crate) fn insert(&mut self, conn: ConnId, m: Member) {
        if let Some(&i) = self.index.get(&conn) {
            self.list[i].1 = m;
        } else {
            self.index.insert(conn, self.list.len());
            self.list.push((conn, m));
        }
    }

    pub(crate) fn get_mut(&mut self, conn: &ConnId) -> Option<&mut Member> {
        let i = *self.index.get(conn)?;
        Some(&mut self.list[i].1)
    }

    pub(crate) fn remove(&mut self, conn: &ConnId) -> Option<Member> {
        let i = self.index.remove(conn)?;
        let (_, m) = self.list.swap_remove(i);
        if let Some((moved, _)) = self.list.get(i) {
            self.index.insert(*moved, i);
        }
        Some(m)
    }

    /// The connection holding the session with resume token `token`.
    pub(crate) fn by_token(&self, token: &ResumeToken) -> Option<ConnId> {
        self.list
            .iter()
            .find(|(_, m)| m.token == *token)
            .map(|(c, _)| *c)
    }

    pub(crate) fn conns(&self) -> Vec<ConnId> {
        self.list.iter().map(|(c, _)| *c).collect()
    }
}

/// What a snapshot writer needs from the room, shared read-only between worker threads.
struct Views<'a> {
    world: &'a Snapshot,
    worlds: &'a SnapshotHistory,
    cache: &'a DeltaCache,
    positions: &'a [Vec2],
    grid: Option<(&'a SpatialGrid, f32)>,
    stats: &'a ShardStats,
    tick: u32,
    no_ack: NoAckPolicy,
}

/// Per-thread buffers for writing snapshots.
#[derive(Debug, Default)]
pub(crate) struct Worker {
    scratch: EncodeScratch,
    shared: SharedBodies,
    marks: Vec<u64>,
    closing: Vec<(ConnId, CloseReason)>,
    /// Outboxes this worker queued frames in, woken after the tick.
    woken: Vec<Arc<Outbox>>,
}

/// Rooms with fewer clients write their snapshots on the shard thread alone.
const PARALLEL_MIN_CLIENTS: usize = 128;

/// Writes, encodes and queues the snapshot of each member of `chunk`.
fn write_snapshots(
    chunk: &mut [(ConnId, Member)],
    centers: &[Option<Vec2>],
    v: &Views<'_>,
    w: &mut Worker,
) {
    let (mut bytes, mut full, mut delta, mut superseded) = (0, 0, 0, 0);
    let mut sizes = [0u64; 17];
    let mut withheld = 0;
    for ((conn, m), center) in chunk.iter_mut().zip(centers) {
        let acked = m.session.acked();
        if acked != m.last_ack {
            m.last_ack = acked;
            m.quiet_since = Some(v.tick);
        }
        let quiet = v.tick.wrapping_sub(*m.quiet_since.get_or_insert(v.tick));
        if quiet >= v.no_ack.close_after {
            w.closing.push((
                *conn,
                CloseReason::new(
                    CloseCode::SLOW_CONSUMER,
                    format!(
                        "no snapshot acknowledged for {} ms",
                        v.no_ack.close_after_ms
                    ),
                ),
            ));
            continue;
        }
        if quiet >= v.no_ack.backoff_after && quiet % v.no_ack.every != 0 {
            withheld += 1;
            continue;
        }
        let before = m.session.stats();
        match (v.grid, center) {
            (Some((grid, radius)), Some(c)) => {
                m.session
                    .write_view_snapshot(v.world, v.worlds, v.cache, &mut w.scratch, |rows| {
                        grid.query_with(*c, radius, v.positions, &mut w.marks, rows);
                    });
            }
            // The whole world: clients acknowledging the same tick share one encoded body.
            _ => m
                .session
                .write_world_snapshot(v.world, &mut w.scratch, &mut w.shared),
        }
        let after = m.session.stats();
        let written = after.full_snapshots + after.delta_snapshots
            - (before.full_snapshots + before.delta_snapshots);
        if let Some(size) = (after.snapshot_bytes - before.snapshot_bytes).checked_div(written) {
            sizes[SizeBuckets::index(size)] += written;
        }
        bytes += after.snapshot_bytes - before.snapshot_bytes;
        full += after.full_snapshots - before.full_snapshots;
        delta += after.delta_snapshots - before.delta_snapshots;
        // The connection is woken after the tick, with every other one: one wake-up of the
        // network thread per tick instead of one per client (`WakeBatch`).
        match queue_frames(&mut m.session, &m.outbox) {
            Ok((n, pushed)) => {
                superseded += n;
                if pushed {
                    w.woken.push(m.outbox.clone());
                }
            }
            Err(reason) => w.closing.push((*conn, reason)),
        }
    }
    v.stats.snapshot_bytes.fetch_add(bytes, Ordering::Relaxed);
    v.stats.snapshot_sizes.add(&sizes);
    v.stats.full_snapshots.fetch_add(full, Ordering::Relaxed);
    v.stats.delta_snapshots.fetch_add(delta, Ordering::Relaxed);
    v.stats.superseded.fetch_add(superseded, Ordering::Relaxed);
    v.stats
        .snapshots_withheld
        .fetch_add(withheld, Ordering::Relaxed);
}

/// A client whose connection dropped, kept for a resume until `expires_tick`.
#[derive(Debug)]
pub(crate) struct Parked {
    pub(crate) client: ClientId,
    pub(crate) player: Option<EntityId>,
    pub(crate) repl: Replication,
    pub(crate) expires_tick: u32,
    /// Order of parking on the shard: the lowest is the oldest.
    pub(crate) seq: u64,
}

/// One game instance and everyone in it.
pub(crate) struct Room {
    pub(crate) name: String,
    game: Box<dyn Game>,
    layout: Arc<Layout>,
    pub(crate) members: Members,
    pub(crate) parked: HashMap<ResumeToken, Parked>,
    /// Opened by the server (`rooms`): kept while nobody is in it.
    pub(crate) permanent: bool,
    /// The first tick that found nobody connected, while that lasts.
    empty_since: Option<u32>,
    no_ack: NoAckPolicy,
    /// This tick's world and the ones before it, as long as a client may hold a view of them.
    worlds: SnapshotHistory,
    /// This tick's entity pieces for view snapshots.
    cache: DeltaCache,
    bases: Vec<u32>,
    positions: Vec<Vec2>,
    grid: Option<(SpatialGrid, f32)>,
    centers: Vec<Option<Vec2>>,
    workers: Vec<Worker>,
    input_words: Vec<u32>,
    input_meta: Vec<(ClientId, u32, usize)>,
    closing: Vec<(ConnId, CloseReason)>,
}

impl std::fmt::Debug for Room {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Room")
            .field("name", &self.name)
            .field("members", &self.members.len())
            .finish()
    }
}

impl Room {
    pub(crate) fn new(
        name: String,
        game: Box<dyn Game>,
        layout: Arc<Layout>,
        view_radius: Option<f32>,
        encode_threads: usize,
        history: usize,
        no_ack: NoAckPolicy,
    ) -> Self {
        Self {
            name,
            game,
            layout,
            members: Members::default(),
            parked: HashMap::new(),
            permanent: false,
            empty_since: None,
            no_ack,
            // Views in a client's history name worlds of its last `history` ticks.
            worlds: SnapshotHistory::new(history + 2),
            cache: DeltaCache::default(),
            bases: Vec::new(),
            positions: Vec::new(),
            grid: view_radius.map(|r| (SpatialGrid::new(r), r)),
            centers: Vec::new(),
            workers: (0..encode_threads.max(1))
                .map(|_| Worker::default())
                .collect(),
            input_words: Vec::new(),
            input_meta: Vec::new(),
            closing: Vec::new(),
        }
    }

    pub(crate) fn game_mut(&mut self) -> &mut dyn Game {
        self.game.as_mut()
    }

    /// Whether the room can go: nobody connected or parked, and not one the server keeps.
    pub(crate) fn is_empty(&self) -> bool {
        self.members.is_empty() && self.parked.is_empty() && !self.permanent
    }

    /// Whether the room ticks at `tick`: it does while someone is connected, and for
    /// `grace_ticks` after the last one left. A paused game resumes where it stopped; a
    /// client resuming meanwhile gets a delta against its acknowledged baseline, which the
    /// pause did not move out of its history.
    pub(crate) fn is_live(&mut self, tick: u32, grace_ticks: u32) -> bool {
        if !self.members.is_empty() {
            self.empty_since = None;
            return true;
        }
        let since = *self.empty_since.get_or_insert(tick);
        tick.wrapping_sub(since) < grace_ticks
    }

    /// Everyone in the room, connected or parked: what `max_clients_per_room` bounds.
    pub(crate) fn occupants(&self) -> usize {
        self.members.len() + self.parked.len()
    }

    /// The token of the session parked longest.
    pub(crate) fn oldest_parked(&self) -> Option<ResumeToken> {
        self.parked
            .iter()
            .min_by_key(|(_, p)| p.seq)
            .map(|(t, _)| *t)
    }

    /// Drops a parked session before its grace ended; returns its order on the shard.
    pub(crate) fn drop_parked(&mut self, token: &ResumeToken) -> Option<u64> {
        let p = self.parked.remove(token)?;
        self.game.leave(p.client);
        Some(p.seq)
    }

    /// Runs one tick: inputs, step, world, and a snapshot for each member. The outboxes that got
    /// frames are added to `woken`, for the shard to wake in one batch. Returns the CPU time
    /// that encode threads other than this one spent.
    pub(crate) fn tick(
        &mut self,
        tick: u32,
        dt: f32,
        stats: &ShardStats,
        woken: &mut Vec<Arc<Outbox>>,
    ) -> Duration {
        let mut helpers_cpu = Duration::ZERO;
        self.input_words.clear();
        self.input_meta.clear();
        for (_, m) in &mut self.members.list {
            let (words, meta, client) = (&mut self.input_words, &mut self.input_meta, m.client);
            m.session.drain_inputs(tick, |seq, w| {
                meta.push((client, seq, words.len()));
                words.extend_from_slice(w);
            });
        }
        let stride = self.layout.input.words;
        let inputs: Vec<PlayerInput<'_>> = self
            .input_meta
            .iter()
            .map(|&(client, seq, at)| PlayerInput {
                client,
                seq,
                words: &self.input_words[at..at + stride],
                layout: &self.layout.input,
            })
            .collect();
        stats
            .inputs
            .fetch_add(inputs.len() as u64, Ordering::Relaxed);
        self.game.step(
            &StepContext {
                tick,
                dt,
                layout: &self.layout,
            },
            &inputs,
        );
        drop(inputs);

        let world = self.worlds.begin(tick);
        world.clear(&self.layout, tick);
        self.positions.clear();
        self.game.write_world(&mut WorldWriter {
            layout: &self.layout,
            snapshot: world,
            positions: &mut self.positions,
        });
        self.worlds.commit();
        let Some(world) = self.worlds.get(tick) else {
            return helpers_cpu;
        };
        if let Some((grid, _)) = &mut self.grid {
            grid.rebuild(&self.positions);
            // Each entity's delta against each baseline tick in use, once for all clients.
            self.cache.reset(&self.layout, world);
            self.bases.clear();
            for (_, m) in &self.members.list {
                if let Some(b) = m.session.baseline_for(tick)
                    && !self.bases.contains(&b)
                {
                    self.bases.push(b);
                }
            }
            for &b in &self.bases {
                if let Some(base) = self.worlds.get(b) {
                    self.cache.add_base(&self.layout, world, base);
                }
            }
        }

        // View centers first: the game stays on this thread.
        self.centers.clear();
        for (_, m) in &self.members.list {
            let center = if self.grid.is_some() {
                self.game.view_center(m.client)
            } else {
                None
            };
            self.centers.push(center);
        }
        let views = Views {
            world,
            worlds: &self.worlds,
            cache: &self.cache,
            positions: &self.positions,
            grid: self.grid.as_ref().map(|(g, r)| (g, *r)),
            stats,
            tick,
            no_ack: self.no_ack,
        };
        let threads = if self.members.len() >= PARALLEL_MIN_CLIENTS {
            self.workers.len()
        } else {
            1
        };
        let chunk = self.members.len().div_ceil(threads).max(1);
        let mut parts = self
            .members
            .list
            .chunks_mut(chunk)
            .zip(self.centers.chunks(chunk))
            .zip(self.workers.iter_mut());
        if threads > 1 {
            // Encoding is independent per client: spread it over scoped threads, the first
            // chunk on this one.
            helpers_cpu = std::thread::scope(|s| {
                let first = parts.next();
                let handles: Vec<_> = parts
                    .map(|((members, centers), worker)| {
                        let views = &views;
                        s.spawn(move || {
                            let start = thread_cpu_time();
                            write_snapshots(members, centers, views, worker);
                            start
                                .zip(thread_cpu_time())
                                .map_or(Duration::ZERO, |(a, b)| b.saturating_sub(a))
                        })
                    })
                    .collect();
                if let Some(((members, centers), worker)) = first {
                    write_snapshots(members, centers, &views, worker);
                }
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                    .sum()
            });
        } else if let Some(((members, centers), worker)) = parts.next() {
            write_snapshots(members, centers, &views, worker);
        }
        for w in &mut self.workers {
            woken.append(&mut w.woken);
            self.closing.append(&mut w.closing);
        }
        for (conn, reason) in std::mem::take(&mut self.closing) {
            self.kick(conn, reason);
        }
        helpers_cpu
    }

    /// Closes a member for good: the game forgets its player.
    pub(crate) fn kick(&mut self, conn: ConnId, reason: CloseReason) {
        if let Some(mut m) = self.members.remove(&conn) {
            m.session.close(reason.clone());
            let _ = flush(&mut m.session, &m.outbox);
            m.outbox.close(reason);
            self.game.leave(m.client);
        }
    }

    /// Parks a member whose transport dropped, for `grace_ticks`, as the shard's `seq`-th;
    /// returns its token when it was parked (not dropped).
    pub(crate) fn park(
        &mut self,
        conn: ConnId,
        now_tick: u32,
        grace_ticks: u32,
        seq: u64,
    ) -> Option<ResumeToken> {
        let mut m = self.members.remove(&conn)?;
        {
            if grace_ticks == 0 || m.session.is_closed() {
                self.game.leave(m.client);
                return None;
            }
            let mut repl = m.session.take_replication();
            // The worlds its views point into move on while it is away: keep copies.
            repl.detach_views(&self.worlds);
            let parked = Parked {
                client: m.client,
                player: m.player,
                repl,
                expires_tick: now_tick.saturating_add(grace_ticks),
                seq,
            };
            self.parked.insert(m.token, parked);
            Some(m.token)
        }
    }

    /// Drops parked clients whose grace period ended, adding their order on the shard to
    /// `expired`.
    pub(crate) fn expire_parked(&mut self, tick: u32, expired: &mut Vec<u64>) {
        let game = &mut self.game;
        self.parked.retain(|_, p| {
            let keep = p.expires_tick > tick;
            if !keep {
                game.leave(p.client);
                expired.push(p.seq);
            }
            keep
        });
    }
}

/// Moves a session's pending frames to its outbox and returns how many unsent snapshots were
/// replaced. `Err` when the client cannot keep up.
pub(crate) fn flush(session: &mut ServerSession, outbox: &Outbox) -> Result<u64, CloseReason> {
    let (superseded, pushed) = queue_frames(session, outbox)?;
    if pushed {
        outbox.wake();
    }
    Ok(superseded)
}

/// [`flush`] without waking the connection: also says whether anything was queued.
fn queue_frames(session: &mut ServerSession, outbox: &Outbox) -> Result<(u64, bool), CloseReason> {
    if outbox.is_gone() {
        let mut sink = Vec::new();
        while session.poll_transmit(&mut sink).is_some() {}
        return Ok((0, false));
    }
    if !session.wants_transmit() {
        return Ok((0, false));
    }
    let mut superseded = 0;
    let mut result = Ok(());
    while session.wants_transmit() {
        let mut buf = outbox.buffer();
        match session.poll_transmit(&mut buf) {
            Some(Channel::Reliable) => {
                if outbox.push_reliable(buf).is_err() {
                    result = Err(CloseReason::new(
                        CloseCode::SLOW_CONSUMER,
                        "reliable queue full: client is not reading",
                    ));
                    break;
                }
            }
            Some(Channel::Unreliable) => superseded += u64::from(outbox.push_snapshot(buf)),
            None => {
                outbox.recycle(buf);
                break;
            }
        }
    }
    // On `Err` the caller closes the outbox, which wakes it: what was queued goes out first.
    result.map(|()| (superseded, true))
}

/// A room run in this process without a network, for benches and game tests: clients are
/// sessions fed frames directly, and what the room sends them is dropped after encoding.
pub struct LocalRoom {
    room: Room,
    layout: Arc<Layout>,
    stats: ShardStats,
    tick: u32,
    dt: f32,
    next_conn: ConnId,
    packet: InputPacket,
    frame: Vec<u8>,
    woken: Vec<Arc<Outbox>>,
}

impl std::fmt::Debug for LocalRoom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalRoom")
            .field("tick", &self.tick)
            .field("clients", &self.room.members.len())
            .finish()
    }
}

impl LocalRoom {
    /// A room of `factory`'s game with `config`'s tick rate, view radius and encode threads.
    pub fn new(
        factory: &dyn crate::game::GameFactory,
        config: &crate::Config,
    ) -> Result<Self, SchemaError> {
        let layout = Arc::new(Layout::new(&factory.schema())?);
        let game = factory.create("local", 1);
        let room = Room::new(
            "local".into(),
            game,
            layout.clone(),
            config.view_radius,
            config.encode_threads,
            config.history,
            NoAckPolicy::new(config),
        );
        Ok(Self {
            room,
            layout,
            stats: ShardStats::default(),
            tick: 1,
            dt: config.tick_period().as_secs_f32(),
            next_conn: 1,
            packet: InputPacket::default(),
            frame: Vec::new(),
            woken: Vec::new(),
        })
    }

    /// The compiled schema.
    pub fn layout(&self) -> &Arc<Layout> {
        &self.layout
    }

    /// Adds a client (hello and welcome done); returns its connection id.
    pub fn connect(&mut self) -> u64 {
        let conn = self.next_conn;
        self.next_conn += 1;
        let mut session = ServerSession::new(self.layout.clone(), SessionConfig::default());
        let hello = Hello {
            wire_version: WIRE_VERSION,
            protocol_hash: Some(self.layout.protocol_hash()),
            room: "local".into(),
            auth_token: String::new(),
            resume: None,
        };
        let now = TickTime {
            tick: self.tick,
            fraction: 0,
        };
        // A hello built from this layout is always accepted.
        let _ = session.handle_hello(hello);
        let _ = session.poll_event();
        let client = conn as ClientId;
        let player = self.room.game_mut().join(client);
        session.accept(now, client, player, [0; 16], None);
        let outbox = Arc::new(Outbox::new(4));
        self.room
            .members
            .insert(conn, Member::new(client, player, [0; 16], session, outbox));
        conn
    }

    /// Feeds client `conn` an input (quantized words of the schema's input) for the next tick,
    /// with an ack of the newest tick.
    pub fn input(&mut self, conn: u64, words: &[u32]) {
        self.send(conn, Some(words));
    }

    /// Every client acknowledges the newest snapshot, as clients do when they receive it.
    pub fn ack_all(&mut self) {
        for conn in self.room.members.conns() {
            self.send(conn, None);
        }
    }

    fn send(&mut self, conn: u64, words: Option<&[u32]>) {
        let tick = self.tick;
        let Some(m) = self.room.members.get_mut(&conn) else {
            return;
        };
        self.packet.clear(self.layout.input.words);
        self.packet.ack = tick.checked_sub(1);
        if let Some(w) = words {
            self.packet.newest_seq = m.session.input_stats().accepted as u32;
            self.packet.push_older(tick, w);
        }
        self.frame.clear();
        self.packet.encode(&self.layout, &mut self.frame);
        let _ = m
            .session
            .handle_frame(TickTime { tick, fraction: 0 }, &self.frame);
    }

    /// Runs one tick: inputs, game step, and every client's snapshot encoded and queued.
    pub fn tick(&mut self) {
        let _ = self
            .room
            .tick(self.tick, self.dt, &self.stats, &mut self.woken);
        // Nobody reads these outboxes; frames are dropped when superseded.
        self.woken.clear();
        self.tick += 1;
    }

    /// Snapshot bytes encoded so far, and how many of those snapshots were full.
    pub fn snapshot_totals(&self) -> (u64, u64, u64) {
        let r = self.stats.report();
        (r.snapshot_bytes, r.full_snapshots, r.delta_snapshots)
    }
}
