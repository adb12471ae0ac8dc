//! tickwire: an authoritative multiplayer game state server.
//!
//! # Layout
//!
//! ```text
//!  clients ──WS frames──▶ ws task per connection ──inbound queue (crossbeam, bounded)──▶ shard thread
//!          ◀────────────  (limits, pings, writes)  ◀──outbox (newest snapshot + bounded
//!                                                     reliable queue, lock-free)───────── │
//!                                                                                          ▼
//!                                   every tick: drain inputs → Game::step → write_world →
//!                                   per client: interest grid query → delta vs acked baseline
//! ```
//!
//! - [`server`]: [`server::Server`] starts the shard threads and the accept loop.
//! - `http` / `ws`: the game port: `/healthz`, `/`, `/status.json` and the WebSocket on `/ws`.
//! - [`webrtc`]: data channels negotiated over the WebSocket; one UDP port, one driver thread.
//! - [`game`]: the trait a game implements; [`arena`] is the demo game.
//! - [`interest`]: the spatial grid behind `--view-radius`.
//! - [`config`]: the one config struct, from flags, env vars and TOML.
//! - `client` (feature `client`, on by default): the Rust game client and the bot swarm.
//!
//! The network side never touches a game; a shard never awaits and never blocks on a
//! connection. The wire protocol lives in the `tickwire-protocol` crate.

#![warn(missing_docs)]

pub mod arena;
pub mod config;
pub mod game;
mod http;
pub mod interest;
pub mod server;
pub mod webrtc;
mod ws;

pub use config::Config;
pub use server::Server;

#[cfg(feature = "client")]
pub mod client;
