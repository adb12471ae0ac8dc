//! A room: one game, its clients, and the per-client snapshots it sends every tick.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use glam::Vec2;
use tickwire_protocol::message::ResumeToken;
use tickwire_protocol::session::{Channel, Replication, ServerSession};
use tickwire_protocol::{CloseCode, CloseReason, EncodeScratch, EntityId, Layout, Snapshot};

use super::outbox::Outbox;
use super::stats::ShardStats;
use crate::game::{ClientId, Game, PlayerInput, StepContext, WorldWriter};
use crate::interest::SpatialGrid;

/// Network connection id, unique on the server.
pub(crate) type ConnId = u64;

/// A connected client.
#[derive(Debug)]
pub(crate) struct Member {
    pub(crate) client: ClientId,
    pub(crate) player: Option<EntityId>,
    pub(crate) token: ResumeToken,
    pub(crate) session: ServerSession,
    pub(crate) outbox: Arc<Outbox>,
}

/// A client whose connection dropped, kept for a resume until `expires_tick`.
#[derive(Debug)]
pub(crate) struct Parked {
    pub(crate) client: ClientId,
    pub(crate) player: Option<EntityId>,
    pub(crate) repl: Replication,
    pub(crate) expires_tick: u32,
}

/// One game instance and everyone in it.
pub(crate) struct Room {
    pub(crate) name: String,
    game: Box<dyn Game>,
    layout: Arc<Layout>,
    pub(crate) members: HashMap<ConnId, Member>,
    pub(crate) parked: HashMap<ResumeToken, Parked>,
    world: Snapshot,
    positions: Vec<Vec2>,
    grid: Option<(SpatialGrid, f32)>,
    view: Vec<u32>,
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
    ) -> Self {
        let world = Snapshot::new(&layout);
        Self {
            name,
            game,
            layout,
            members: HashMap::new(),
            parked: HashMap::new(),
            world,
            positions: Vec::new(),
            grid: view_radius.map(|r| (SpatialGrid::new(r), r)),
            view: Vec::new(),
            input_words: Vec::new(),
            input_meta: Vec::new(),
            closing: Vec::new(),
        }
    }

    pub(crate) fn game_mut(&mut self) -> &mut dyn Game {
        self.game.as_mut()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.members.is_empty() && self.parked.is_empty()
    }

    /// Runs one tick: inputs, step, world, and a snapshot for each member.
    pub(crate) fn tick(
        &mut self,
        tick: u32,
        dt: f32,
        scratch: &mut EncodeScratch,
        stats: &ShardStats,
    ) {
        self.input_words.clear();
        self.input_meta.clear();
        for m in self.members.values_mut() {
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

        self.world.clear(&self.layout, tick);
        self.positions.clear();
        self.game.write_world(&mut WorldWriter {
            layout: &self.layout,
            snapshot: &mut self.world,
            positions: &mut self.positions,
        });
        if let Some((grid, _)) = &mut self.grid {
            grid.rebuild(&self.positions);
        }

        for (&conn, m) in &mut self.members {
            let center = match &self.grid {
                Some((grid, radius)) => self.game.view_center(m.client).map(|c| (grid, *radius, c)),
                None => None,
            };
            let world = &self.world;
            let (positions, view) = (&self.positions, &mut self.view);
            let before = m.session.stats();
            m.session
                .write_snapshot(tick, scratch, |snap| match center {
                    Some((grid, radius, c)) => {
                        grid.query(c, radius, positions, view);
                        snap.room_mut().copy_from_slice(world.room());
                        // Indices come sorted from a snapshot whose ids increase.
                        let _ = snap.extend_from(world, view);
                    }
                    None => snap.clone_from(world),
                });
            let after = m.session.stats();
            stats.snapshot_bytes.fetch_add(
                after.snapshot_bytes - before.snapshot_bytes,
                Ordering::Relaxed,
            );
            stats.full_snapshots.fetch_add(
                after.full_snapshots - before.full_snapshots,
                Ordering::Relaxed,
            );
            stats.delta_snapshots.fetch_add(
                after.delta_snapshots - before.delta_snapshots,
                Ordering::Relaxed,
            );
            match flush(&mut m.session, &m.outbox) {
                Ok(superseded) => {
                    stats.superseded.fetch_add(superseded, Ordering::Relaxed);
                }
                Err(reason) => self.closing.push((conn, reason)),
            }
        }
        for (conn, reason) in std::mem::take(&mut self.closing) {
            self.kick(conn, reason);
        }
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

    /// Parks a member whose transport dropped, for `grace_ticks`.
    pub(crate) fn park(&mut self, conn: ConnId, now_tick: u32, grace_ticks: u32) {
        if let Some(mut m) = self.members.remove(&conn) {
            if grace_ticks == 0 || m.session.is_closed() {
                self.game.leave(m.client);
                return;
            }
            let parked = Parked {
                client: m.client,
                player: m.player,
                repl: m.session.take_replication(),
                expires_tick: now_tick.saturating_add(grace_ticks),
            };
            self.parked.insert(m.token, parked);
        }
    }

    /// Drops parked clients whose grace period ended.
    pub(crate) fn expire_parked(&mut self, tick: u32) {
        let game = &mut self.game;
        self.parked.retain(|_, p| {
            let keep = p.expires_tick > tick;
            if !keep {
                game.leave(p.client);
            }
            keep
        });
    }
}

/// Moves a session's pending frames to its outbox and returns how many unsent snapshots were
/// replaced. `Err` when the client cannot keep up.
pub(crate) fn flush(session: &mut ServerSession, outbox: &Outbox) -> Result<u64, CloseReason> {
    if outbox.is_gone() {
        let mut sink = Vec::new();
        while session.poll_transmit(&mut sink).is_some() {}
        return Ok(0);
    }
    let mut superseded = 0;
    let mut result = Ok(());
    loop {
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
    outbox.wake();
    result.map(|()| superseded)
}
