//! The WebRTC data channels' labels, shared by the server's driver and the Rust client.

pub use tickwire_protocol::session::{EVENTS_LABEL, STATE_LABEL};
