//! Which channel a frame travels on, and the WebRTC data-channel labels that name them.

/// Label of the WebRTC data channel for [`Channel::Unreliable`] frames (unordered, no
/// retransmit: snapshots, input packets).
pub const STATE_LABEL: &str = "state";

/// Label of the WebRTC data channel for [`Channel::Reliable`] frames (ordered, reliable:
/// control frames and events).
pub const EVENTS_LABEL: &str = "events";

/// Which kind of channel a frame should go on.
///
/// Over a WebSocket both go on the one stream. Over WebRTC, `Unreliable` frames (snapshots,
/// input packets) go on the unordered, no-retransmit channel labelled [`STATE_LABEL`], and
/// `Reliable` ones on the channel labelled [`EVENTS_LABEL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Must arrive, in order: control frames.
    Reliable,
    /// Newest wins; loss is tolerated: snapshots and input packets.
    Unreliable,
}

impl Channel {
    /// The WebRTC data-channel label of this channel.
    pub fn label(self) -> &'static str {
        match self {
            Channel::Reliable => EVENTS_LABEL,
            Channel::Unreliable => STATE_LABEL,
        }
    }
}
