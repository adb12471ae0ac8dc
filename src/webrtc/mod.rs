//! The client side of the WebRTC upgrade.

pub mod client;
pub(crate) mod upgrade;

pub use upgrade::{WebRtcConfig, WebRtcStats};

/// Label of the unreliable, unordered channel (snapshots, input packets).
pub const STATE_LABEL: &str = "state";
/// Label of the reliable, ordered channel (events).
pub const EVENTS_LABEL: &str = "events";
