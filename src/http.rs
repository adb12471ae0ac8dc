//! The accept loop and the HTTP side of the game port: `/healthz`, `/` (status page),
//! `/status.json`, the browser demo (`/play`, built from `client-ts/` and embedded), and the
//! WebSocket upgrade on `/ws`.
//!
//! The request head is peeked, not read, so a WebSocket upgrade reaches the WebSocket
//! handshake with the stream untouched.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

use crate::server::Shared;

/// Longest request head accepted.
const MAX_HEAD: usize = 8 * 1024;

/// The browser demo's page and its bundle (`client-ts/dist/demo.js`, committed, rebuilt with
/// `npm run build` in `client-ts/`; its tests fail when the bundle is stale).
const PLAY_HTML: &str = include_str!("../client-ts/demo/play.html");
const PLAY_JS: &str = include_str!("../client-ts/dist/demo.js");

pub(crate) async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let shared = shared.clone();
                tokio::spawn(async move {
                    if let Err(e) = handle(stream, peer, shared).await {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                });
            }
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// The parts of a request head routing needs.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Head {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) upgrade: bool,
}

/// Parses a request head (everything up to the blank line).
pub(crate) fn parse_head(head: &[u8]) -> Option<Head> {
    let text = std::str::from_utf8(head).ok()?;
    let mut lines = text.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let target = first.next()?;
    let path = target.split('?').next().unwrap_or(target).to_owned();
    let upgrade = lines.any(|l| {
        let mut kv = l.splitn(2, ':');
        let k = kv.next().unwrap_or("").trim();
        let v = kv.next().unwrap_or("").trim();
        k.eq_ignore_ascii_case("upgrade") && v.eq_ignore_ascii_case("websocket")
    });
    Some(Head {
        method,
        path,
        upgrade,
    })
}

async fn peek_head(stream: &TcpStream, timeout: Duration) -> std::io::Result<Option<Head>> {
    let mut buf = vec![0u8; MAX_HEAD];
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let n = tokio::time::timeout_at(deadline, stream.peek(&mut buf))
            .await
            .map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::TimedOut, "request head timeout")
            })??;
        if n == 0 {
            return Ok(None);
        }
        if let Some(end) = buf[..n].windows(4).position(|w| w == b"\r\n\r\n") {
            return Ok(parse_head(&buf[..end]));
        }
        if n == buf.len() {
            return Ok(None);
        }
        // Part of the head is here. Peeking leaves the socket readable, so waiting for
        // readiness would spin: wait a little instead (clients send a head in one packet).
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn handle(
    mut stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
) -> std::io::Result<()> {
    let _ = stream.set_nodelay(true);
    let timeout = Duration::from_millis(shared.config.handshake_timeout_ms);
    let Some(head) = peek_head(&stream, timeout).await? else {
        return respond(&mut stream, 400, "text/plain", b"bad request\n").await;
    };
    match (head.method.as_str(), head.path.as_str()) {
        ("GET", "/ws") if head.upgrade => {
            crate::ws::serve(stream, peer, shared).await;
            Ok(())
        }
        ("GET", "/healthz") => {
            if shared.draining.load(Ordering::Acquire) {
                respond(&mut stream, 503, "text/plain", b"draining\n").await
            } else {
                respond(&mut stream, 200, "text/plain", b"ok\n").await
            }
        }
        ("GET", "/status.json") => {
            let body = serde_json::to_vec(&shared.report()).unwrap_or_default();
            respond(&mut stream, 200, "application/json", &body).await
        }
        ("GET", "/play") => {
            respond(
                &mut stream,
                200,
                "text/html; charset=utf-8",
                PLAY_HTML.as_bytes(),
            )
            .await
        }
        ("GET", "/play/demo.js") => {
            respond(
                &mut stream,
                200,
                "text/javascript; charset=utf-8",
                PLAY_JS.as_bytes(),
            )
            .await
        }
        ("GET", "/") => {
            let body = status_page(&shared);
            respond(
                &mut stream,
                200,
                "text/html; charset=utf-8",
                body.as_bytes(),
            )
            .await
        }
        ("GET", _) => respond(&mut stream, 404, "text/plain", b"not found\n").await,
        _ => respond(&mut stream, 405, "text/plain", b"method not allowed\n").await,
    }
}

async fn respond(
    stream: &mut TcpStream,
    status: u16,
    content_type: &str,
    body: &[u8],
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Service Unavailable",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    stream.shutdown().await
}

fn status_page(shared: &Shared) -> String {
    let r = shared.report();
    let mut s = String::new();
    let _ = write!(
        s,
        "<!doctype html><meta charset=utf-8><meta http-equiv=refresh content=2><title>tickwire</title>\
         <style>body{{font:14px system-ui,sans-serif;margin:2em;max-width:60em}}td,th{{padding:2px 10px;text-align:right}}\
         th{{text-align:left}}</style><h1>tickwire</h1>\
         <p>Game <b>{}</b> at {} Hz, up {:.0} s. WebSocket endpoint: <code>/ws</code>. Play in the browser: <a href=/play>/play</a>. \
         Counters as JSON: <a href=/status.json>/status.json</a>. Health: <a href=/healthz>/healthz</a>.</p>\
         <table><tr><th>connections open</th><td>{}</td></tr><tr><th>connections total</th><td>{}</td></tr>\
         <tr><th>bytes out</th><td>{}</td></tr><tr><th>bytes in</th><td>{}</td></tr>\
         <tr><th>inbound frames dropped</th><td>{}</td></tr></table>",
        html_escape(&shared.layout.schema().name),
        r.tick_rate,
        r.uptime_s,
        r.open_connections,
        r.connections,
        r.bytes_out,
        r.bytes_in,
        r.inbound_dropped,
    );
    s.push_str("<h2>Shards</h2><table><tr><th>#</th><th>rooms</th><th>clients</th><th>parked</th><th>ticks</th><th>overruns</th><th>tick p50 ms</th><th>tick p99 ms</th><th>queue</th><th>full / delta snapshots</th></tr>");
    for (i, sh) in r.shards.iter().enumerate() {
        let _ = write!(
            s,
            "<tr><td>{i}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.2}</td><td>{:.2}</td><td>{}</td><td>{} / {}</td></tr>",
            sh.rooms,
            sh.clients,
            sh.parked,
            sh.ticks,
            sh.overruns,
            sh.tick_p50_ms,
            sh.tick_p99_ms,
            sh.queue_depth,
            sh.full_snapshots,
            sh.delta_snapshots
        );
    }
    s.push_str("</table><h2>Closes by reason</h2><table>");
    for (name, n) in &r.closes {
        let _ = write!(s, "<tr><th>{name}</th><td>{n}</td></tr>");
    }
    s.push_str("</table>");
    s
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_heads() {
        let h = parse_head(
            b"GET /ws?x=1 HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade",
        )
        .unwrap();
        assert_eq!(
            h,
            Head {
                method: "GET".into(),
                path: "/ws".into(),
                upgrade: true
            }
        );
        let h = parse_head(b"GET /healthz HTTP/1.1\r\nHost: a").unwrap();
        assert!(!h.upgrade);
        assert!(parse_head(b"\xff\xfe").is_none());
        assert!(parse_head(b"").is_none());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// The request head is the one thing the HTTP side decodes itself: no bytes panic it.
        #[test]
        fn any_head_parses_or_is_refused(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            if let Some(h) = parse_head(&bytes) {
                proptest::prop_assert!(!h.method.contains(' '));
                proptest::prop_assert!(!h.path.contains('?'));
            }
        }

        #[test]
        fn mutated_upgrade_heads_never_panic(cut in 0usize..80, flip in 0usize..80, bit in 0u8..8) {
            let mut head = b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade".to_vec();
            if flip < head.len() {
                head[flip] ^= 1 << bit;
            }
            head.truncate(cut.min(head.len()));
            let _ = parse_head(&head);
        }
    }
}
