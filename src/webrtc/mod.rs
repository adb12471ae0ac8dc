//! The WebRTC transport: data channels negotiated over the WebSocket, all peers on one UDP
//! port.
//!
//! ```text
//!  client ──WS: Signal::Offer/Candidate──▶ ws task ──Command──▶ driver thread (server.rs)
//!         ◀─WS: Signal::Answer/Abandon────          ◀─PeerEvent─   one UDP socket, demux.rs
//!         ◀═UDP: DTLS/SCTP "state" (unordered, maxRetransmits 0), "events" (reliable)═▶
//! ```
//!
//! The WebSocket stays open for the whole session: it carries signaling and every reliable
//! frame the server sends, and it is the fallback. While the data channels are open and
//! carrying traffic, the connection's snapshots go on `state` and the client sends its input
//! packets there; frames from either path enter the same session, so a switch in either
//! direction keeps the session, the player and the acknowledged baseline. See the
//! "WebRTC" section of the README for the reasons behind str0m and the demultiplexer.

pub mod client;
pub(crate) mod demux;
pub(crate) mod link;
pub(crate) mod server;
pub(crate) mod stun;
pub(crate) mod upgrade;

pub use server::WebRtcReport;
pub use upgrade::{WebRtcConfig, WebRtcStats};

pub use tickwire_protocol::session::{EVENTS_LABEL, STATE_LABEL};
