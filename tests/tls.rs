//! TLS on the game port: wss sessions and https requests through a CA the test makes, the
//! certificate reloaded under open sessions, and what a plain client or a bad pair gets.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SerialNumber};
use tickwire::client::{Client, ClientConfig, tls_trusting};
use tickwire::server::ServerError;
use tickwire::{Config, Server};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};

use crate::harness::{self, next_snapshot, parse_response, within};

/// A CA, and the server certificates it signs for `localhost` and 127.0.0.1.
struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

impl Ca {
    fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "tickwire test CA");
        let key = KeyPair::generate().expect("a CA key");
        let cert = params.self_signed(&key).expect("the CA certificate");
        Self {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// Writes a server certificate (serial `serial`, CN naming it) and its key to `cert` and
    /// `key`; returns the certificate as served.
    fn issue(&self, serial: u64, cert: &Path, key: &Path) -> CertificateDer<'static> {
        let mut params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .expect("params");
        params.serial_number = Some(SerialNumber::from(serial));
        params
            .distinguished_name
            .push(DnType::CommonName, format!("tickwire test server {serial}"));
        let server_key = KeyPair::generate().expect("a server key");
        let signed = params
            .signed_by(&server_key, &self.issuer)
            .expect("signed by the CA");
        std::fs::write(cert, signed.pem()).expect("write the certificate");
        std::fs::write(key, server_key.serialize_pem()).expect("write the key");
        signed.der().clone()
    }
}

/// A fresh directory for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tickwire-tls-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn tls_config(cert: &Path, key: &Path) -> Config {
    Config {
        tls_cert: Some(cert.to_owned()),
        tls_key: Some(key.to_owned()),
        ..harness::test_config()
    }
}

/// `GET path` over https: the certificate the server presented, the status and the body.
async fn https_get(
    server: &Server,
    ca_pem: &str,
    path: &str,
) -> (CertificateDer<'static>, u16, String) {
    within("an https request", async {
        let connector = TlsConnector::from(tls_trusting(ca_pem.as_bytes()).expect("roots"));
        let tcp = TcpStream::connect(server.local_addr())
            .await
            .expect("connect");
        let name = ServerName::try_from("localhost").expect("a name");
        let mut tls = connector.connect(name, tcp).await.expect("tls handshake");
        let presented = tls.get_ref().1.peer_certificates().expect("a certificate")[0].clone();
        let req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");
        tls.write_all(req.as_bytes()).await.expect("write");
        let mut out = Vec::new();
        // The server closes after its answer, with or without a close_notify.
        let _ = tls.read_to_end(&mut out).await;
        let (status, body) = parse_response(out);
        (presented, status, body)
    })
    .await
}

async fn wss_client(server: &Server, ca_pem: &str, room: &str) -> Client {
    let mut config = ClientConfig::for_room(room);
    config.tls = Some(tls_trusting(ca_pem.as_bytes()).expect("roots"));
    let url = format!("wss://127.0.0.1:{}/ws", server.local_addr().port());
    within("a wss connect", Client::connect(&url, config))
        .await
        .expect("the client connects over wss")
}

#[tokio::test]
async fn wss_plays_https_answers_and_a_reload_serves_new_connections_only() {
    let dir = scratch("reload");
    let (cert, key) = (dir.join("server.crt"), dir.join("server.key"));
    let ca = Ca::new();
    let first = ca.issue(1, &cert, &key);
    let ts = harness::start(tls_config(&cert, &key)).await;
    assert!(ts.server.is_tls());

    let mut client = wss_client(&ts.server, &ca.pem, "tls").await;
    for _ in 0..3 {
        next_snapshot(&mut client).await;
    }
    let (presented, status, body) = https_get(&ts.server, &ca.pem, "/healthz").await;
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    assert_eq!(presented, first);

    let second = ca.issue(2, &cert, &key);
    assert_ne!(first, second);
    ts.server.reload_tls().expect("the new pair loads");
    let (presented, status, _) = https_get(&ts.server, &ca.pem, "/status.json").await;
    assert_eq!(status, 200);
    assert_eq!(
        presented, second,
        "a connection after the reload gets the new certificate"
    );
    let before = next_snapshot(&mut client).await.tick;
    let after = next_snapshot(&mut client).await.tick;
    assert!(
        after > before,
        "the session opened before the reload plays on"
    );

    // A pair that does not go together is refused; the certificate in use stays.
    std::fs::write(&key, KeyPair::generate().expect("a key").serialize_pem()).expect("write");
    assert!(ts.server.reload_tls().is_err());
    let (presented, _, _) = https_get(&ts.server, &ca.pem, "/healthz").await;
    assert_eq!(presented, second);
    let mut late = wss_client(&ts.server, &ca.pem, "tls").await;
    next_snapshot(&mut late).await;
    next_snapshot(&mut client).await;
    ts.server.shutdown(harness::PATIENCE).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn plain_http_on_the_tls_port_fails_the_handshake_and_is_counted() {
    let dir = scratch("plain");
    let (cert, key) = (dir.join("server.crt"), dir.join("server.key"));
    let ca = Ca::new();
    ca.issue(7, &cert, &key);
    let ts = harness::start(tls_config(&cert, &key)).await;
    let out = within("the close", async {
        let mut s = TcpStream::connect(ts.server.local_addr())
            .await
            .expect("connect");
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
            .await
            .expect("write");
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out).await;
        out
    })
    .await;
    assert!(
        !out.starts_with(b"HTTP/"),
        "no plain HTTP answer on the TLS port"
    );
    let refused = ts
        .server
        .report()
        .abuse
        .refused
        .iter()
        .find(|(name, _)| *name == "tls_handshake")
        .map_or(0, |(_, n)| *n);
    assert_eq!(refused, 1);
    // An untrusting client fails too, and the port still serves one that trusts the CA.
    let mut untrusting = ClientConfig::for_room("tls");
    untrusting.tls = Some(tls_trusting(Ca::new().pem.as_bytes()).expect("roots"));
    let url = format!("wss://127.0.0.1:{}/ws", ts.server.local_addr().port());
    assert!(Client::connect(&url, untrusting).await.is_err());
    let mut client = wss_client(&ts.server, &ca.pem, "tls").await;
    next_snapshot(&mut client).await;
    ts.server.shutdown(harness::PATIENCE).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_start_refuses_half_a_pair_or_unusable_files() {
    let dir = scratch("start");
    let (cert, key) = (dir.join("server.crt"), dir.join("server.key"));
    Ca::new().issue(3, &cert, &key);
    let start = |config: Config| async move {
        Server::start(config, Arc::new(harness::RecordingArena::default()))
            .await
            .map(drop)
    };
    let half = Config {
        tls_cert: Some(cert.clone()),
        ..harness::test_config()
    };
    let err = start(half).await.expect_err("a certificate without a key");
    assert!(
        matches!(err, ServerError::Config(_)) && err.to_string().contains("tls_key"),
        "{err}"
    );
    let missing = tls_config(&dir.join("missing.crt"), &key);
    let err = start(missing).await.expect_err("a missing file");
    assert!(err.to_string().contains("missing.crt"), "{err}");
    let swapped = tls_config(&key, &cert);
    let err = start(swapped).await.expect_err("files swapped");
    assert!(matches!(err, ServerError::Tls(_)), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
