//! The arena demo game, which is also the benchmark scenario.
//!
//! Rules: a 4000 × 4000 world. A player has a position, a heading and hp (starts at 100). An
//! input is a direction `(dx, dy)`, each in [-1, 1]; a non-zero direction moves the player at
//! 200 units/s along the normalized direction and sets its heading, and the player keeps moving
//! that way until the next input. Positions clamp to the world; players spawn uniformly at
//! random. Positions are quantized to 1/16 unit and the heading to 0.5°.

use std::collections::{BTreeMap, HashMap};

use glam::Vec2;
use rand_core::{RngCore as _, SeedableRng as _};
use rand_xoshiro::SplitMix64;
use tickwire_protocol::{EntityId, Schema};

use crate::game::{ClientId, Game, GameFactory, PlayerInput, StepContext, WorldWriter};
use crate::typed::{Entity, Input, RoomState};

/// World side length, in units.
pub const WORLD_SIZE: f32 = 4000.0;
/// Player speed, in units per second.
pub const SPEED: f32 = 200.0;
/// Starting hp.
pub const START_HP: i64 = 100;

/// Entity kind id of a player.
pub const PLAYER: u16 = 0;
/// Player field index of [`Player::pos`], for code that reads the layout by index.
pub const POS: usize = 0;
/// Player field index of [`Player::heading`].
pub const HEADING: usize = 1;
/// Player field index of [`Player::hp`].
pub const HP: usize = 2;
/// Room field index of [`ArenaRoom::players`].
pub const PLAYERS: usize = 0;
/// Input field index of [`Move::dx`].
pub const DX: usize = 0;
/// Input field index of [`Move::dy`].
pub const DY: usize = 1;

/// A player, as replicated.
#[derive(Entity, Debug, Clone, Copy, PartialEq)]
pub struct Player {
    /// Position, quantized to 1/16 unit.
    #[tw(position, range(0.0, WORLD_SIZE), precision = 1.0 / 16.0)]
    pub pos: Vec2,
    /// Heading in degrees, quantized to 0.5°.
    #[tw(range(-180.0, 180.0), precision = 0.5)]
    pub heading: f32,
    /// Hit points.
    #[tw(bits = 8)]
    pub hp: u8,
}

/// The room-wide state.
#[derive(RoomState, Debug, Clone, Copy, PartialEq)]
pub struct ArenaRoom {
    /// Number of players (the wire carries up to 65,535).
    #[tw(bits = 16)]
    pub players: u32,
}

/// A player's input: the direction to move in.
#[derive(Input, Debug, Clone, Copy, PartialEq)]
pub struct Move {
    /// x direction, in [-1, 1].
    #[tw(range(-1.0, 1.0), precision = 1.0 / 64.0)]
    pub dx: f32,
    /// y direction, in [-1, 1].
    #[tw(range(-1.0, 1.0), precision = 1.0 / 64.0)]
    pub dy: f32,
}

/// The arena's schema.
pub fn schema() -> Schema {
    Schema::typed::<ArenaRoom, Move>("arena")
        .kind::<Player>()
        .build()
        .expect("the arena schema is valid")
}

/// Creates arena rooms.
#[derive(Debug, Default, Clone, Copy)]
pub struct ArenaFactory;

impl GameFactory for ArenaFactory {
    fn schema(&self) -> Schema {
        schema()
    }

    fn create(&self, _room: &str, seed: u64) -> Box<dyn Game> {
        Box::new(Arena::new(seed))
    }
}

/// A player's replicated state and the direction it keeps moving in.
#[derive(Debug, Clone, Copy)]
struct Pawn {
    state: Player,
    dir: Vec2,
}

/// One arena room.
#[derive(Debug)]
pub struct Arena {
    players: BTreeMap<EntityId, Pawn>,
    by_client: HashMap<ClientId, EntityId>,
    next_id: EntityId,
    rng: SplitMix64,
}

impl Arena {
    /// An empty arena whose spawn points follow `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            players: BTreeMap::new(),
            by_client: HashMap::new(),
            next_id: 1,
            rng: SplitMix64::seed_from_u64(seed),
        }
    }

    fn unit(&mut self) -> f32 {
        (self.rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Every player: id, position, heading (degrees), hp; in id order.
    pub fn players(&self) -> impl Iterator<Item = (EntityId, Vec2, f32, u8)> + '_ {
        self.players
            .iter()
            .map(|(&id, p)| (id, p.state.pos, p.state.heading, p.state.hp))
    }

    /// The entity `client` controls.
    pub fn player_of(&self, client: ClientId) -> Option<EntityId> {
        self.by_client.get(&client).copied()
    }

    /// Position of `client`'s player.
    pub fn position(&self, client: ClientId) -> Option<Vec2> {
        self.by_client
            .get(&client)
            .and_then(|id| self.players.get(id))
            .map(|p| p.state.pos)
    }
}

impl Game for Arena {
    fn join(&mut self, client: ClientId) -> Option<EntityId> {
        let id = self.next_id;
        self.next_id += 1;
        let pos = Vec2::new(self.unit() * WORLD_SIZE, self.unit() * WORLD_SIZE);
        self.players.insert(
            id,
            Pawn {
                state: Player {
                    pos,
                    heading: 0.0,
                    hp: START_HP as u8,
                },
                dir: Vec2::ZERO,
            },
        );
        self.by_client.insert(client, id);
        Some(id)
    }

    fn leave(&mut self, client: ClientId) {
        if let Some(id) = self.by_client.remove(&client) {
            self.players.remove(&id);
        }
    }

    fn step(&mut self, ctx: &StepContext<'_>, inputs: &[PlayerInput<'_>]) {
        for input in inputs {
            let Some(p) = self
                .by_client
                .get(&input.client)
                .and_then(|id| self.players.get_mut(id))
            else {
                continue;
            };
            let m = match input.value::<Move>() {
                Ok(m) => m,
                Err(e) => {
                    tracing::error!(client = input.client, "arena input does not decode: {e}");
                    continue;
                }
            };
            let dir = Vec2::new(m.dx, m.dy);
            p.dir = if dir.is_finite() {
                dir.clamp(Vec2::splat(-1.0), Vec2::splat(1.0))
            } else {
                Vec2::ZERO
            };
        }
        let max = Vec2::splat(WORLD_SIZE);
        for p in self.players.values_mut() {
            if p.dir != Vec2::ZERO {
                let d = p.dir.normalize();
                let s = &mut p.state;
                s.pos = (s.pos + d * SPEED * ctx.dt).clamp(Vec2::ZERO, max);
                s.heading = d.y.atan2(d.x).to_degrees();
            }
        }
    }

    fn write_world(&self, out: &mut WorldWriter<'_>) {
        // Positions are kept in the world and hp in a u8, so nothing but a heading of ±180°
        // rounded a hair past its range is ever clamped; the clamp count carries no news.
        let room = ArenaRoom {
            players: self.players.len() as u32,
        };
        if let Err(e) = out.write_room(&room) {
            tracing::error!("arena room state does not encode: {e}");
        }
        for (&id, p) in &self.players {
            if let Err(e) = out.write_entity(id, &p.state) {
                tracing::error!(entity = id, "arena player does not encode: {e}");
            }
        }
    }

    fn view_center(&self, client: ClientId) -> Option<Vec2> {
        self.position(client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::typed::Fields as _;
    use tickwire_protocol::{EncodeScratch, Layout, Snapshot, encode_snapshot};

    /// The arena's schema as it was first declared, with the builder.
    fn built_schema() -> Schema {
        Schema::builder("arena")
            .kind("player", |k| {
                k.vec2("pos", 0.0, WORLD_SIZE, 1.0 / 16.0)
                    .f32("heading", -180.0, 180.0, 0.5)
                    .uint("hp", 8)
            })
            .room(|r| r.uint("players", 16))
            .input(|i| {
                i.f32("dx", -1.0, 1.0, 1.0 / 64.0)
                    .f32("dy", -1.0, 1.0, 1.0 / 64.0)
            })
            .build()
            .unwrap()
    }

    #[test]
    fn typed_schema_is_the_builder_schema() {
        let (typed, built) = (schema(), built_schema());
        assert_eq!(typed, built);
        assert_eq!(typed.to_bytes(), built.to_bytes());
        assert_eq!(typed.protocol_hash(), built.protocol_hash());
        let layout = Layout::new(&typed).unwrap();
        assert_eq!(layout.kinds[usize::from(PLAYER)].field("pos"), Some(POS));
        assert_eq!(
            layout.kinds[usize::from(PLAYER)].field("heading"),
            Some(HEADING)
        );
        assert_eq!(layout.kinds[usize::from(PLAYER)].field("hp"), Some(HP));
        assert_eq!(layout.room.field("players"), Some(PLAYERS));
        assert_eq!(layout.input.field("dx"), Some(DX));
        assert_eq!(layout.input.field("dy"), Some(DY));
    }

    #[test]
    fn typed_writes_encode_to_the_bytes_of_index_writes() {
        let layout = Layout::new(&schema()).unwrap();
        let mut a = Arena::new(3);
        for c in 0..20 {
            a.join(c);
        }
        a.step(
            &StepContext {
                tick: 1,
                dt: 1.0 / 30.0,
                layout: &layout,
            },
            &[],
        );

        let mut typed = Snapshot::new(&layout);
        typed.clear(&layout, 9);
        let mut positions = Vec::new();
        a.write_world(&mut WorldWriter {
            layout: &layout,
            snapshot: &mut typed,
            positions: &mut positions,
        });

        let mut indexed = Snapshot::new(&layout);
        indexed.clear(&layout, 9);
        let mut index_positions = Vec::new();
        let mut out = WorldWriter {
            layout: &layout,
            snapshot: &mut indexed,
            positions: &mut index_positions,
        };
        out.room().int(PLAYERS, 20).unwrap();
        for (id, pos, heading, hp) in a.players() {
            out.entity(id, PLAYER, pos)
                .unwrap()
                .vec2(POS, pos)
                .and_then(|e| e.f32(HEADING, heading))
                .and_then(|e| e.int(HP, i64::from(hp)))
                .unwrap();
        }

        assert_eq!(typed, indexed);
        assert_eq!(positions, index_positions);
        let encode = |s: &Snapshot| {
            let mut out = Vec::new();
            encode_snapshot(
                &layout,
                s,
                None,
                None,
                &mut EncodeScratch::default(),
                &mut out,
            );
            out
        };
        assert_eq!(encode(&typed), encode(&indexed));
    }

    #[test]
    fn moves_at_speed_and_clamps() {
        let layout = Layout::new(&schema()).unwrap();
        let mut a = Arena::new(1);
        let id = a.join(7).unwrap();
        let start = a.players[&id].state.pos;
        let mut w = vec![0u32; layout.input.words];
        let clamped = Move { dx: 1.0, dy: 0.0 }
            .write_words(&layout.input, &mut w)
            .unwrap();
        assert_eq!(clamped, 0);
        let input = PlayerInput {
            client: 7,
            seq: 0,
            words: &w,
            layout: &layout.input,
        };
        let ctx = StepContext {
            tick: 1,
            dt: 1.0 / 30.0,
            layout: &layout,
        };
        a.step(&ctx, &[input]);
        let p = a.players[&id].state;
        let expected = (start.x + SPEED / 30.0).min(WORLD_SIZE);
        assert!(
            (p.pos.x - expected).abs() < 1e-3,
            "{} vs {expected}",
            p.pos.x
        );
        assert_eq!(p.pos.y, start.y);
        assert_eq!(p.heading, 0.0);
        for t in 2..2000 {
            a.step(&StepContext { tick: t, ..ctx }, &[]);
        }
        assert_eq!(a.players[&id].state.pos.x, WORLD_SIZE);
        assert_eq!(a.players[&id].state.hp, 100);
    }
}
