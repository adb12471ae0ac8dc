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

pub(crate) mod clock;
pub(crate) mod ids;
pub mod interest;
pub mod outbox;
pub(crate) mod room;
pub(crate) mod shard;
pub mod stats;
pub(crate) mod thread;

pub use clock::TickClock;
pub use ids::ConnId;
pub(crate) use ids::shard_of;
pub use room::LocalRoom;
pub(crate) use shard::{Inbound, ShardHandle};
