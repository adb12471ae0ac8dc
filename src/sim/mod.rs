//! The simulation side: shard threads, their rooms, the outboxes they fill, and their counters.
//!
//! ```text
//!  net ──Inbound (crossbeam: control unbounded, frames bounded)──▶ shard thread
//!                                                                    │ every tick, per room:
//!                                                                    │  drain → Game::step →
//!                                                                    │  interest → encode
//!  net ◀──Outbox (newest snapshot + bounded reliable queue)──────────┘  (+ encode threads)
//! ```
//!
//! - `shard`: one std thread per shard; it owns its rooms and ticks them on a deadline
//!   schedule ([`TickClock`]). Large rooms borrow short-lived encode threads within a tick.
//! - `room`: one game, its members and parked sessions, and the per-client snapshots;
//!   [`LocalRoom`] is the same room without a network, for benches and tests.
//!
//! What a shard holds is bounded: its share of `max_rooms` and `max_parked_sessions` (the
//! oldest parked session goes first), members and parked sessions together within
//! `max_clients_per_room`, rooms with nobody connected paused after `empty_room_grace_ms`,
//! and a client that acknowledges nothing sent every 8th snapshot, then closed.
//! - [`outbox`]: what a shard hands a connection, and the one wake-up per tick
//!   ([`outbox::WakeBatch`]) that the network side runs.
//! - [`interest`]: the spatial grid behind `--view-radius`.
//! - [`stats`]: the shards' counters and tick histograms; `thread` sets the shard threads'
//!   priority and reads their CPU time.
//!
//! Nothing here imports the network side: the shard sees frames, outboxes and connection ids,
//! never a socket, and it never awaits or blocks on a connection.

pub mod interest;
pub mod outbox;
pub(crate) mod room;
pub(crate) mod shard;
pub mod stats;
pub(crate) mod thread;

use std::time::{Duration, Instant};

use tickwire_protocol::session::TickTime;

pub use room::LocalRoom;
pub(crate) use shard::{Inbound, ShardHandle};

/// Network connection id, unique on the server.
pub type ConnId = u64;

/// A map keyed by ids the server hands out itself (connections, rooms), which no peer chooses:
/// a multiply-based hash instead of SipHash on every inbound frame.
pub(crate) type IdMap<K, V> = rustc_hash::FxHashMap<K, V>;

/// The shard (of `shards`) that hosts the room named `room`.
pub(crate) fn shard_of(room: &str, shards: usize) -> usize {
    // FNV-1a: stable across runs, so a room is always on the same shard.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in room.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    (h % shards.max(1) as u64) as usize
}

/// The deadline schedule every shard follows: tick `n` starts at `t0 + n · period`.
#[derive(Debug, Clone, Copy)]
pub struct TickClock {
    /// When tick 0 started.
    pub t0: Instant,
    /// Tick period.
    pub period: Duration,
}

impl TickClock {
    /// Start time of tick `n`.
    pub fn tick_start(&self, n: u32) -> Instant {
        self.t0 + self.period * n
    }

    /// The tick running at `at`, and how far into it.
    pub fn tick_time(&self, at: Instant) -> TickTime {
        let elapsed =
            at.saturating_duration_since(self.t0).as_secs_f64() / self.period.as_secs_f64();
        TickTime {
            tick: elapsed.floor() as u32,
            fraction: (elapsed.fract() * 65536.0) as u16,
        }
    }
}
