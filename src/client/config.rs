//! Settings of a [`super::Client`].

use std::time::Duration;

use tickwire_protocol::message::MAX_FRAME_LEN;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

#[cfg(doc)]
use super::Client;
use super::upgrade::WebRtcConfig;

/// Settings of the protocol session (room, auth token, protocol hash, input redundancy, ping
/// interval); see [`tickwire_protocol::session::ClientConfig`].
pub use tickwire_protocol::session::ClientConfig as SessionConfig;

/// Settings of a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The protocol session's settings. Default: [`SessionConfig::default`].
    pub session: SessionConfig,
    /// Longest time from starting the TCP connect to the server's welcome. Default 5 s.
    pub handshake_timeout: Duration,
    /// How long [`Client::close`] waits for the server's WebSocket close reply, and how long
    /// the client waits for the WebSocket close after the server's close message. Default 1 s.
    pub close_timeout: Duration,
    /// WebSocket read buffer in bytes (allocated up front per connection). Default 4 KiB.
    pub read_buffer_size: usize,
    /// Bytes buffered before a write reaches the socket; 0 writes each message at once. The
    /// client flushes after every batch anyway. Default 0.
    pub write_buffer_size: usize,
    /// Most bytes waiting to be written before writes fail. Default 64 KiB.
    pub max_write_buffer_size: usize,
    /// Largest message (and frame) accepted from the server, in bytes. Default 64 KiB, the
    /// protocol's frame limit.
    pub max_message_size: usize,
    /// Disable Nagle's algorithm: frames are small and latency matters. Default true.
    pub nodelay: bool,
    /// Upgrade to WebRTC data channels after the welcome; `None` stays on the WebSocket.
    /// Default `None`.
    pub webrtc: Option<WebRtcConfig>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            session: SessionConfig::default(),
            handshake_timeout: Duration::from_secs(5),
            close_timeout: Duration::from_secs(1),
            read_buffer_size: 4 * 1024,
            write_buffer_size: 0,
            max_write_buffer_size: 64 * 1024,
            max_message_size: MAX_FRAME_LEN,
            nodelay: true,
            webrtc: None,
        }
    }
}

impl ClientConfig {
    /// Default settings for joining `room`.
    pub fn for_room(room: impl Into<String>) -> Self {
        let mut c = Self::default();
        c.session.room = room.into();
        c
    }

    pub(super) fn websocket(&self) -> WebSocketConfig {
        WebSocketConfig::default()
            .read_buffer_size(self.read_buffer_size)
            .write_buffer_size(self.write_buffer_size)
            .max_write_buffer_size(self.max_write_buffer_size.max(self.write_buffer_size + 1))
            .max_message_size(Some(self.max_message_size))
            .max_frame_size(Some(self.max_message_size))
    }
}
