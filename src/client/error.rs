//! How a [`super::Client`] operation fails and how its connection ends.

use std::sync::Arc;
use std::time::Duration;

use tickwire_protocol::CloseReason;
use tickwire_protocol::session::SessionError;
use tokio_tungstenite::tungstenite::Error as WsError;

#[cfg(doc)]
use {super::Client, super::ClientConfig, tickwire_protocol::Layout};

/// Why a [`Client`] operation failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The WebSocket failed: connect, upgrade, or I/O.
    #[error("websocket: {0}")]
    WebSocket(Arc<WsError>),
    /// No welcome arrived within [`ClientConfig::handshake_timeout`].
    #[error("no welcome within {0:?}")]
    HandshakeTimeout(Duration),
    /// The server refused or ended the session, for the reason given.
    #[error("server closed the session: {0}")]
    Refused(CloseReason),
    /// The session refused what the server sent (for example a protocol hash mismatch), or
    /// the call needs an established session.
    #[error("session: {0}")]
    Session(#[from] SessionError),
    /// The WebSocket closed without a tickwire close reason.
    #[error("websocket closed (code {code:?}) {reason}")]
    ConnectionClosed {
        /// WebSocket close code, if a close frame arrived.
        code: Option<u16>,
        /// WebSocket close text.
        reason: String,
    },
    /// The connection is over; see [`Client::end`].
    #[error("not connected")]
    NotConnected,
    /// [`Client::start_webrtc`] without [`ClientConfig::webrtc`].
    #[error("webrtc is not configured")]
    WebRtcNotConfigured,
    /// An input of the wrong length for the schema's input layout.
    #[error("input has {got} words, the schema's input has {expected}")]
    InputWords {
        /// Words given.
        got: usize,
        /// Words of [`Layout::input`].
        expected: usize,
    },
}

impl From<WsError> for ClientError {
    fn from(e: WsError) -> Self {
        Self::WebSocket(Arc::new(e))
    }
}

/// How a connection ended.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ConnectionEnd {
    /// The server ended the session: the reason from its close message or, when only a
    /// WebSocket close frame arrived, from its code (`4000 + reason code`).
    Server(CloseReason),
    /// This side ended it: [`Client::close`], or the session refused a server frame.
    Client(CloseReason),
    /// The WebSocket closed without a tickwire reason: a plain close frame, or none.
    WebSocketClosed {
        /// WebSocket close code, if a close frame arrived.
        code: Option<u16>,
        /// WebSocket close text.
        reason: String,
    },
    /// The transport failed.
    Transport(Arc<WsError>),
}

impl ConnectionEnd {
    pub(super) fn into_error(self) -> ClientError {
        match self {
            Self::Server(r) => ClientError::Refused(r),
            Self::Client(r) => ClientError::Session(SessionError::Closed(r)),
            Self::WebSocketClosed { code, reason } => {
                ClientError::ConnectionClosed { code, reason }
            }
            Self::Transport(e) => ClientError::WebSocket(e),
        }
    }
}
