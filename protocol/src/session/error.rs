//! How a session fails.

use crate::message::CloseReason;

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
