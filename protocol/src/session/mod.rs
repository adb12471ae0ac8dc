//! Session state machines, server side and client side.
//!
//! Both follow one shape: push what arrived with `handle_*` (bytes and the current time or
//! tick as arguments), then pull what to do with `poll_*` until it returns `None`: frames to
//! send (written into a buffer the caller owns) and events for the application. Neither reads
//! a clock nor touches a socket.
//!
//! The pieces they are built from are public too, for servers that split the work between a
//! network task and a simulation thread: [`SnapshotHistory`] (ring of snapshots by tick),
//! [`InputBuffer`] (dedupe and per-tick delivery of inputs), [`pong`] (the one answer to a
//! ping) and [`crate::clock::ClockSync`].
//!
//! This file only declares and re-exports; every item lives in a submodule, and submodules
//! import each other by path (`super::channel::Channel`), never through this file:
//!
//! ```text
//! server ──▶ history, inputs, channel, error, time
//! client ──▶ history, channel, error
//! ```

mod channel;
mod client;
mod error;
mod history;
mod inputs;
mod server;
mod time;

pub use channel::{Channel, EVENTS_LABEL, STATE_LABEL};
pub use client::{ClientConfig, ClientEvent, ClientSession, ClientStats};
pub use error::SessionError;
pub use history::{DEFAULT_HISTORY, SnapshotHistory};
pub use inputs::{InputBuffer, InputStats};
pub use server::{Replication, ServerConfig, ServerEvent, ServerSession, ServerStats};
pub use time::{TickTime, pong};
