//! TLS on the game port: the certificate and key (PEM files) loaded into a rustls server
//! config, replaced on reload without touching the connections already open, and the stream
//! type every connection's task reads and writes, plain TCP or TLS.
//!
//! ```text
//!  accept ──▶ gate admits ──▶ Tls::acceptor() (one read lock, an Arc clone) ──▶ handshake
//!                                   ▲                                   (same deadline as the
//!  reload (SIGHUP) ── read + check ─┘ swap under the write lock           request head)
//! ```
//!
//! A reload that fails (a file missing, no certificate, no key, a key that does not match the
//! certificate) leaves the config in use as it was. Each connection keeps the config it was
//! accepted with: a reload changes only the connections accepted after it.
//!
//! rustls runs on the aws-lc-rs provider (the one str0m's DTLS already uses), with its default
//! protocol versions (TLS 1.2 and 1.3) and no ALPN: the port speaks HTTP/1.1 only.

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};

/// Why a certificate and key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The certificate file holds no PEM `CERTIFICATE` section, or one that does not decode.
    #[error("{path}: no PEM certificate ({why})")]
    Certificate {
        /// The file.
        path: PathBuf,
        /// What the PEM parser said.
        why: String,
    },
    /// The key file holds no PEM private key (PKCS#8, PKCS#1 or SEC1), or one that does not
    /// decode.
    #[error("{path}: no PEM private key ({why})")]
    Key {
        /// The file.
        path: PathBuf,
        /// What the PEM parser said.
        why: String,
    },
    /// rustls refused the pair: a key it cannot use, or one that is not the certificate's.
    #[error("certificate {cert} with key {key}: {source}")]
    Refused {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls's reason.
        source: rustls::Error,
    },
}

/// The TLS side of the game port: where the certificate and key are read from, and the
/// acceptor built from what was read last.
#[derive(Debug)]
pub(crate) struct Tls {
    cert: PathBuf,
    key: PathBuf,
    config: RwLock<Arc<ServerConfig>>,
}

impl Tls {
    /// Reads and checks `cert` and `key`.
    pub(crate) fn load(cert: &Path, key: &Path) -> Result<Self, TlsError> {
        let config = server_config(cert, key)?;
        Ok(Self {
            cert: cert.to_owned(),
            key: key.to_owned(),
            config: RwLock::new(config),
        })
    }

    /// The acceptor for a connection accepted now.
    pub(crate) fn acceptor(&self) -> TlsAcceptor {
        let config = self
            .config
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        TlsAcceptor::from(config)
    }

    /// Reads the files again; new connections use what they hold from now on. On an error
    /// the config in use stays.
    pub(crate) fn reload(&self) -> Result<(), TlsError> {
        let config = server_config(&self.cert, &self.key)?;
        *self
            .config
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = config;
        Ok(())
    }
}

/// A server config serving the chain in `cert` (leaf first) with the key in `key`.
fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|source| TlsError::Read {
            path: path.to_owned(),
            source,
        })
    };
    let cert_pem = read(cert)?;
    let key_pem = read(key)?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Certificate {
            path: cert.to_owned(),
            why: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::Certificate {
            path: cert.to_owned(),
            why: "no CERTIFICATE section".to_owned(),
        });
    }
    let private = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| TlsError::Key {
        path: key.to_owned(),
        why: e.to_string(),
    })?;
    let refused = |source| TlsError::Refused {
        cert: cert.to_owned(),
        key: key.to_owned(),
        source,
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(refused)?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(refused)?;
    Ok(Arc::new(config))
}

/// A connection's byte stream: the TCP socket, or TLS over it. The TLS state (some KB of
/// rustls buffers and keys) is boxed so that a plain connection pays one word for the choice.
#[derive(Debug)]
pub(crate) enum Stream {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS, handshake done.
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

impl Stream {
    /// The TCP socket under the stream, for socket options.
    pub(crate) fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => s.get_ref().0,
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(dir: &Path, name: &str, cn: &str) -> (PathBuf, PathBuf) {
        let key = rcgen::KeyPair::generate().expect("a key");
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("sans");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn);
        let cert = params.self_signed(&key).expect("a certificate");
        let c = dir.join(format!("{name}.crt"));
        let k = dir.join(format!("{name}.key"));
        std::fs::write(&c, cert.pem()).expect("write");
        std::fs::write(&k, key.serialize_pem()).expect("write");
        (c, k)
    }

    #[test]
    fn a_bad_pair_is_refused_and_a_bad_reload_keeps_the_old_config() {
        let dir = std::env::temp_dir().join(format!("tickwire-tls-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let (cert, key) = pair(&dir, "a", "a");
        let (_, other_key) = pair(&dir, "b", "b");
        let tls = Tls::load(&cert, &key).expect("a good pair loads");
        assert!(matches!(
            Tls::load(&cert, &other_key),
            Err(TlsError::Refused { .. })
        ));
        assert!(matches!(
            Tls::load(&key, &key),
            Err(TlsError::Certificate { .. })
        ));
        assert!(matches!(Tls::load(&cert, &cert), Err(TlsError::Key { .. })));
        assert!(matches!(
            Tls::load(&dir.join("missing"), &key),
            Err(TlsError::Read { .. })
        ));
        let before = Arc::as_ptr(tls.acceptor().config());
        std::fs::write(&cert, "not pem").expect("write");
        assert!(tls.reload().is_err());
        assert_eq!(
            Arc::as_ptr(tls.acceptor().config()),
            before,
            "the old config stays"
        );
        let (fresh, fresh_key) = pair(&dir, "c", "c");
        std::fs::copy(fresh, &cert).expect("copy");
        std::fs::copy(fresh_key, &key).expect("copy");
        tls.reload().expect("a good pair reloads");
        assert_ne!(Arc::as_ptr(tls.acceptor().config()), before);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
