//! The WebRTC transport's server side: data channels negotiated over the WebSocket, all peers
//! on one UDP port.
//!
//! ```text
//!  client ──WS: Signal::Offer/Candidate──▶ ws task ──Command──▶ driver thread (driver.rs)
//!         ◀─WS: Signal::Answer/Abandon────  (link.rs) ◀─PeerEvent─   one UDP socket, demux.rs
//!         ◀═UDP: DTLS/SCTP "state" (unordered, maxRetransmits 0), "events" (reliable)═▶
//! ```
//!
//! - `driver`: one std thread owning the UDP socket (mio) and every str0m peer; input packets
//!   go from it straight to the shard, after the connection's `Admission`.
//! - `link`: one connection's side of the upgrade, inside its WebSocket task.
//! - `demux` and `stun`: which peer a datagram belongs to, by ICE username, then by address.
//!
//! The WebSocket stays open for the whole session: it carries signaling and every reliable
//! frame the server sends, and it is the fallback. While the data channels are open and
//! carrying traffic, the connection's snapshots go on `state` and the client sends its input
//! packets there; frames from either path enter the same session, so a switch in either
//! direction keeps the session, the player and the acknowledged baseline. See the
//! "WebRTC" section of the README for the reasons behind str0m and the demultiplexer.

pub(crate) mod demux;
pub(crate) mod driver;
pub(crate) mod link;
pub(crate) mod stun;

pub use driver::WebRtcReport;
pub(crate) use driver::{DriverConfig, RtcHandle, start};
