//! tickwire: an authoritative multiplayer game state server.
//!
//! # Layout
//!
//! ```text
//!              net (tokio runtime, --io-threads)                       sim (std threads)
//!  clients ──▶ http accept ─/ws─▶ ws task per connection ──Inbound──▶ shard thread per shard
//!              (head deadline)    admission, pings, signaling         (crossbeam, bounded)
//!          ◀── WebSocket writes ◀──────────── outbox (newest snapshot   │ every tick: drain →
//!                                              + reliable queue) ◀──────┘ Game::step → interest
//!  peers  ◀═▶ webrtc driver thread (one UDP socket, str0m peers)          → delta per client
//!              inputs ─────────────────────────────────────Inbound──▶   (+ encode threads)
//! ```
//!
//! Who owns what:
//! - A **shard thread** ([`sim`]) owns its rooms: each game, its sessions, its snapshot history.
//!   It never awaits, never blocks on a connection, and imports nothing of the network side.
//! - The **tokio runtime** ([`net`]) owns the sockets: the accept loop, one task per
//!   connection (the only reader of its outbox), the HTTP endpoints.
//! - The **WebRTC driver thread** ([`net::webrtc`]) owns the UDP socket and every peer.
//! - [`server`] starts all of them and owns the drain and shutdown.
//!
//! The rest:
//! - [`game`]: the trait a game implements, over types declared with the derives of
//!   [`typed`] (re-exported here with [`glam`] and the schema types, so a game needs only this
//!   crate); [`arena`] is the demo game.
//! - [`config`]: the one config struct, from TOML, `TICKWIRE_*` variables and flags
//!   ([`cli`]).
//! - `client` (cargo feature `client`, on by default): the Rust client side (client, WebRTC
//!   offerer, upgrade machine, bot swarm), used by the `bots` command, tests and benches; no
//!   server code imports it.
//!
//! The wire protocol lives in the `tickwire-protocol` crate.

#![warn(missing_docs)]

// The derives name this crate by its absolute path, also from inside it.
extern crate self as tickwire;

pub mod arena;
pub mod cli;
pub mod config;
pub mod game;
pub mod net;
pub mod server;
pub mod sim;

pub use config::Config;
pub use net::tls::TlsError;
pub use server::Server;

/// The wire protocol crate, `tickwire-protocol`.
pub use tickwire_protocol as protocol;
/// The math types of field values (`Vec2`, `Vec3`, `Quat`).
pub use tickwire_protocol::glam;
/// Typed declarations: the derives and traits of entity kinds, room state, inputs and enums.
pub use tickwire_protocol::typed;
pub use tickwire_protocol::typed::{Entity, FieldEnum, Input, RoomState};
pub use tickwire_protocol::{EntityId, Schema};

#[cfg(feature = "client")]
pub mod client;
