//! Shared test pieces: a small moving world and a lossy link (the seeded generator is the test
//! kit's).

use std::collections::BinaryHeap;
use std::sync::Arc;

use glam::Vec2;
pub(crate) use tickwire_protocol::testkit::rng::Rng;
use tickwire_protocol::{Layout, Schema, Snapshot};

pub(crate) const WORLD: f32 = 4000.0;
pub(crate) const SPEED: f32 = 200.0;

/// The arena's replicated state: 2D position, heading and hp per player; one room field.
pub(crate) fn arena_schema() -> Schema {
    Schema::builder("arena")
        .kind("player", |k| {
            k.vec2("pos", 0.0, WORLD, 1.0 / 16.0)
                .f32("heading", -180.0, 180.0, 0.5)
                .uint("hp", 8)
        })
        .room(|r| r.uint("round", 16))
        .input(|i| {
            i.f32("dx", -1.0, 1.0, 1.0 / 64.0)
                .f32("dy", -1.0, 1.0, 1.0 / 64.0)
        })
        .build()
        .expect("arena schema")
}

pub(crate) fn arena_layout() -> Arc<Layout> {
    Arc::new(Layout::new(&arena_schema()).expect("arena layout"))
}

pub(crate) const POS: usize = 0;
pub(crate) const HEADING: usize = 1;
pub(crate) const HP: usize = 2;

/// One player, exact values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Player {
    pub(crate) id: u32,
    pub(crate) pos: Vec2,
    pub(crate) heading: f32,
    pub(crate) hp: u8,
    pub(crate) dir: Vec2,
}

/// A tiny arena: players move along their direction at `SPEED`, clamped to the world.
#[derive(Debug, Clone, Default)]
pub(crate) struct TestWorld {
    pub(crate) players: Vec<Player>,
    pub(crate) round: u32,
    next_id: u32,
}

impl TestWorld {
    pub(crate) fn spawn(&mut self, rng: &mut Rng) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        self.players.push(Player {
            id,
            pos: Vec2::new(rng.range(0.0, WORLD), rng.range(0.0, WORLD)),
            heading: 0.0,
            hp: 100,
            dir: Vec2::ZERO,
        });
        id
    }

    pub(crate) fn despawn(&mut self, id: u32) {
        self.players.retain(|p| p.id != id);
    }

    pub(crate) fn steer(&mut self, id: u32, dir: Vec2) {
        if let Some(p) = self.players.iter_mut().find(|p| p.id == id) {
            p.dir = dir;
        }
    }

    pub(crate) fn step(&mut self, dt: f32) {
        for p in &mut self.players {
            if p.dir != Vec2::ZERO {
                let d = p.dir.normalize();
                p.pos = (p.pos + d * SPEED * dt).clamp(Vec2::ZERO, Vec2::splat(WORLD));
                p.heading = d.y.atan2(d.x).to_degrees();
            }
        }
    }

    pub(crate) fn fill(&self, layout: &Layout, snap: &mut Snapshot) {
        let kind = &layout.kinds[0];
        layout.room.fields[0]
            .set_int(snap.room_mut(), i64::from(self.round))
            .unwrap();
        for p in &self.players {
            let w = snap.push(layout, p.id, 0).expect("ids increase");
            kind.fields[POS].set_vec2(w, p.pos).unwrap();
            kind.fields[HEADING].set_f32(w, p.heading).unwrap();
            kind.fields[HP].set_int(w, i64::from(p.hp)).unwrap();
        }
    }
}

/// Checks `snap` (decoded by a client) against the exact world state within each field's
/// quantization step.
pub(crate) fn assert_within_quantization(layout: &Layout, exact: &[Player], snap: &Snapshot) {
    let kind = &layout.kinds[0];
    assert_eq!(
        snap.len(),
        exact.len(),
        "entity count at tick {}",
        snap.tick
    );
    for (p, (id, _, w)) in exact.iter().zip(snap.iter()) {
        assert_eq!(p.id, id);
        let pos = kind.fields[POS].get_vec2(w).unwrap();
        let tol = kind.fields[POS].tolerance();
        assert!(
            (pos - p.pos).abs().max_element() <= tol,
            "pos {pos} vs {} (tol {tol})",
            p.pos
        );
        let h = kind.fields[HEADING].get_f32(w).unwrap();
        assert!(
            (h - p.heading).abs() <= kind.fields[HEADING].tolerance(),
            "heading {h} vs {}",
            p.heading
        );
        assert_eq!(kind.fields[HP].get_int(w).unwrap(), i64::from(p.hp));
    }
}

#[derive(Debug, PartialEq, Eq)]
struct InFlight {
    at: u64,
    order: u64,
    frame: Vec<u8>,
}

impl Ord for InFlight {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (other.at, other.order).cmp(&(self.at, self.order))
    }
}

impl PartialOrd for InFlight {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Link impairment settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LinkConfig {
    pub(crate) loss: f64,
    pub(crate) duplicate: f64,
    pub(crate) delay_us: u64,
    /// Uniform extra delay in [0, jitter); large jitter reorders.
    pub(crate) jitter_us: u64,
}

/// One direction of a datagram link on a manual clock: seeded loss, duplication, delay and
/// jitter (which reorders). `reliable` links never lose and keep order, like a TCP stream.
#[derive(Debug)]
pub(crate) struct Link {
    pub(crate) config: LinkConfig,
    rng: Rng,
    queue: BinaryHeap<InFlight>,
    order: u64,
    last_reliable_at: u64,
    pub(crate) sent: u64,
    pub(crate) dropped: u64,
}

impl Link {
    pub(crate) fn new(config: LinkConfig, seed: u64) -> Self {
        Self {
            config,
            rng: Rng::new(seed),
            queue: BinaryHeap::new(),
            order: 0,
            last_reliable_at: 0,
            sent: 0,
            dropped: 0,
        }
    }

    fn push(&mut self, at: u64, frame: Vec<u8>) {
        self.order += 1;
        self.queue.push(InFlight {
            at,
            order: self.order,
            frame,
        });
    }

    /// Sends a frame that may be lost, duplicated or reordered.
    pub(crate) fn send(&mut self, now: u64, frame: &[u8]) {
        self.sent += 1;
        if self.rng.chance(self.config.loss) {
            self.dropped += 1;
            return;
        }
        let copies = if self.rng.chance(self.config.duplicate) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let at = now + self.config.delay_us + self.rng.below(self.config.jitter_us.max(1));
            self.push(at, frame.to_vec());
        }
    }

    /// Sends a frame that arrives, in order.
    pub(crate) fn send_reliable(&mut self, now: u64, frame: &[u8]) {
        self.sent += 1;
        let at = (now + self.config.delay_us).max(self.last_reliable_at);
        self.last_reliable_at = at;
        self.push(at, frame.to_vec());
    }

    /// The next frame due at or before `now`.
    pub(crate) fn poll(&mut self, now: u64) -> Option<Vec<u8>> {
        if self.queue.peek().is_some_and(|f| f.at <= now) {
            return self.queue.pop().map(|f| f.frame);
        }
        None
    }
}
