//! The WebRTC data channels' labels, shared by the server's driver and the Rust client.

/// Label of the unreliable, unordered channel (snapshots, input packets).
pub const STATE_LABEL: &str = "state";
/// Label of the reliable, ordered channel (events).
pub const EVENTS_LABEL: &str = "events";
