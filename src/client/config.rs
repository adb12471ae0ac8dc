//! Settings of a [`super::Client`].

use std::sync::Arc;
use std::time::Duration;

use tickwire_protocol::message::MAX_FRAME_LEN;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
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
    /// TLS settings for a `wss://` URL (which roots to trust): [`tls_trusting`] makes one
    /// for a private CA or a self-signed server. Default `None`: a `wss://` URL trusts no
    /// certificate and fails its handshake; `ws://` URLs do not use it.
    pub tls: Option<Arc<rustls::ClientConfig>>,
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
            tls: None,
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

/// Why [`tls_trusting`] made no TLS config.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// The PEM text holds no certificate, or one that does not decode.
    #[error("no PEM certificate: {0}")]
    Pem(String),
    /// A certificate rustls cannot use as a root.
    #[error("not a usable root certificate: {0}")]
    Root(#[from] rustls::Error),
}

/// A TLS client config (aws-lc-rs provider, TLS 1.2 and 1.3) that trusts the certificates in
/// `pem` (one or more `CERTIFICATE` sections: a private CA, or a server's self-signed
/// certificate, which must then say `CA:FALSE`: webpki refuses a CA certificate as the
/// server's own) and nothing else, for [`ClientConfig::tls`].
pub fn tls_trusting(pem: &[u8]) -> Result<Arc<rustls::ClientConfig>, TrustError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TrustError::Pem(e.to_string()))?;
    if certs.is_empty() {
        return Err(TrustError::Pem("no CERTIFICATE section".to_owned()));
    }
    let mut roots = rustls::RootCertStore::empty();
    for cert in certs {
        roots.add(cert)?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
