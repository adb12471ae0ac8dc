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

/// World side length, in units.
pub const WORLD_SIZE: f32 = 4000.0;
/// Player speed, in units per second.
pub const SPEED: f32 = 200.0;
/// Starting hp.
pub const START_HP: i64 = 100;

/// Entity kind id of a player.
pub const PLAYER: u16 = 0;
/// Player field: position (`Vec2`).
pub const POS: usize = 0;
/// Player field: heading in degrees (`F32`, -180..180).
pub const HEADING: usize = 1;
/// Player field: hp (`Int`, 8 bits).
pub const HP: usize = 2;
/// Room field: number of players.
pub const PLAYERS: usize = 0;
/// Input field: x direction.
pub const DX: usize = 0;
/// Input field: y direction.
pub const DY: usize = 1;

/// The arena's schema.
pub fn schema() -> Schema {
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

#[derive(Debug, Clone, Copy)]
struct Player {
    pos: Vec2,
    heading: f32,
    hp: u8,
    dir: Vec2,
}

/// One arena room.
#[derive(Debug)]
pub struct Arena {
    players: BTreeMap<EntityId, Player>,
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
            .map(|(&id, p)| (id, p.pos, p.heading, p.hp))
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
            .map(|p| p.pos)
    }
}

impl Game for Arena {
    fn join(&mut self, client: ClientId) -> Option<EntityId> {
        let id = self.next_id;
        self.next_id += 1;
        let pos = Vec2::new(self.unit() * WORLD_SIZE, self.unit() * WORLD_SIZE);
        self.players.insert(
            id,
            Player {
                pos,
                heading: 0.0,
                hp: START_HP as u8,
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
            let dir = Vec2::new(input.field(DX).f32(), input.field(DY).f32());
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
                p.pos = (p.pos + d * SPEED * ctx.dt).clamp(Vec2::ZERO, max);
                p.heading = d.y.atan2(d.x).to_degrees();
            }
        }
    }

    fn write_world(&self, out: &mut WorldWriter<'_>) {
        // Setting a declared field of the right type cannot fail.
        let _ = out.room().int(PLAYERS, self.players.len() as i64);
        for (&id, p) in &self.players {
            if let Ok(mut e) = out.entity(id, PLAYER, p.pos) {
                let _ = e
                    .vec2(POS, p.pos)
                    .and_then(|e| e.f32(HEADING, p.heading))
                    .and_then(|e| e.int(HP, i64::from(p.hp)));
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
    use tickwire_protocol::Layout;

    #[test]
    fn moves_at_speed_and_clamps() {
        let layout = Layout::new(&schema()).unwrap();
        let mut a = Arena::new(1);
        let id = a.join(7).unwrap();
        let start = a.players[&id].pos;
        let mut w = vec![0u32; layout.input.words];
        layout.input.fields[DX].set_f32(&mut w, 1.0).unwrap();
        layout.input.fields[DY].set_f32(&mut w, 0.0).unwrap();
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
        let p = a.players[&id];
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
        assert_eq!(a.players[&id].pos.x, WORLD_SIZE);
        assert_eq!(a.players[&id].hp, 100);
    }
}
