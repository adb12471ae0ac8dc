//! Session state machines, server side and client side.
//!
//! Both follow one shape: push what arrived with `handle_*` (bytes and the current time or
//! tick as arguments), then pull what to do with `poll_*` until it returns `None`: frames to
//! send (written into a buffer the caller owns) and events for the application. Neither reads
//! a clock nor touches a socket.
//!
//! The pieces they are built from are public too, for servers that split the work between a
//! network task and a simulation thread: [`SnapshotHistory`] (ring of snapshots by tick),
//! [`InputBuffer`] (dedupe and per-tick delivery of inputs) and [`crate::clock::ClockSync`].

mod client;
mod history;
mod inputs;
mod server;

pub use client::{ClientConfig, ClientEvent, ClientSession, ClientStats};
pub use history::{DEFAULT_HISTORY, SnapshotHistory};
pub use inputs::{InputBuffer, InputStats};
pub use server::{Replication, ServerConfig, ServerEvent, ServerSession, ServerStats, TickTime};

use crate::message::CloseReason;

/// Which kind of channel a frame should go on.
///
/// Over a WebSocket both go on the one stream. Over WebRTC, `Unreliable` frames (snapshots,
/// input packets) go on the unordered, no-retransmit channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Must arrive, in order: control frames.
    Reliable,
    /// Newest wins; loss is tolerated: snapshots and input packets.
    Unreliable,
}

/// A session failure. The session is closed; when the reason is for the peer, a close frame
/// carrying it is queued, so keep polling transmits before dropping the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// This side closed the session for `0`.
    #[error("session closed: {0}")]
    Closed(CloseReason),
    /// The peer closed the session for `0`.
    #[error("peer closed the session: {0}")]
    PeerClosed(CloseReason),
    /// The call needs an established session.
    #[error("session is not established")]
    NotEstablished,
}
