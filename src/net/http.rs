//! The accept loop and the HTTP side of the game port: `/healthz`, `/` (status page),
//! `/status.json`, `/metrics` (the same reading as Prometheus text), the browser demo
//! (`/play`, built from `client-ts/` and embedded), and the WebSocket upgrade on `/ws`.
//!
//! Every connection is admitted at its accept by the [`Gate`] (per-address caps, unfinished
//! handshakes) or refused before anything is read: a fixed 429 (503 when the server-wide cap
//! is the reason) is written if the socket takes it at once, and the socket is closed. A
//! connection from a trusted proxy is admitted per client once its head names the client
//! (`X-Forwarded-For`), with a 429 otherwise. A WebSocket upgrade from a browser origin that
//! is not allowed gets a 403.
//!
//! Every connection is counted from its accept to the end of its task, and has one deadline
//! (`handshake_timeout_ms`) for its whole request head, whatever the socket does meanwhile: a
//! head that trickles in, never ends, or ends in a hang-up costs one task for at most that
//! long. The head is read (not peeked) and parsed with `httparse`; the WebSocket handshake is
//! answered here, so a bad upgrade gets its 400 or 426 and a good one reaches the WebSocket
//! task with the bytes that followed the head.
//!
//! With TLS on (`tls_cert` and `tls_key`), the TLS handshake comes between the admission and
//! the request head, inside the same deadline; a handshake that fails (plain HTTP sent to the
//! TLS port among them) or does not finish in time is counted as `tls_handshake` and the
//! socket is closed. A connection refused at its accept on a TLS port is closed without the
//! plain-text answer, which a TLS client could not read.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::Shared;
use super::abuse::Abuse;
use super::gate::{Gate, Ticket};
use super::tls::Stream;

/// Longest request head accepted.
const MAX_HEAD: usize = 8 * 1024;
/// Most header lines in a request head.
const MAX_HEADERS: usize = 32;

/// The browser demo's page and its bundle (`client-ts/dist/demo.js`, committed, rebuilt with
/// `npm run build` in `client-ts/`; its tests fail when the bundle is stale).
const PLAY_HTML: &str = include_str!("../../client-ts/demo/play.html");
const PLAY_JS: &str = include_str!("../../client-ts/dist/demo.js");

/// Embedded files: path, content type, body.
const ASSETS: [(&str, &str, &str); 2] = [
    ("/play", "text/html; charset=utf-8", PLAY_HTML),
    ("/play/demo.js", "text/javascript; charset=utf-8", PLAY_JS),
];

/// Accepts connections until `stop` is cancelled; each one runs as a task in `tasks`.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    stop: CancellationToken,
    tasks: TaskTracker,
) {
    loop {
        let accepted = tokio::select! {
            () = stop.cancelled() => return,
            a = listener.accept() => a,
        };
        match accepted {
            Ok((stream, peer)) => {
                shared.stats.accepted.fetch_add(1, Ordering::Relaxed);
                let ticket = match shared.gate.admit(peer.ip(), std::time::Instant::now()) {
                    Ok(t) => t,
                    Err(why) => {
                        if shared.tls.is_none() {
                            refuse_at_accept(&stream, why);
                        }
                        continue;
                    }
                };
                let shared = shared.clone();
                shared.stats.tcp_open.fetch_add(1, Ordering::Relaxed);
                tasks.spawn(async move {
                    if let Err(e) = handle(stream, peer, ticket, &shared).await {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                    shared.stats.tcp_open.fetch_sub(1, Ordering::Relaxed);
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

/// The whole answer to a connection refused at its accept.
const REFUSED_429: &[u8] =
    b"HTTP/1.1 429 Too Many Requests\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
/// The same when the server as a whole has too many handshakes under way.
const REFUSED_503: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";

/// Refuses a connection just accepted: one write the socket takes at once or not at all, no
/// task, no read, then the close.
fn refuse_at_accept(stream: &TcpStream, why: Abuse) {
    let answer = match why {
        Abuse::PendingHandshakes | Abuse::IpTable => REFUSED_503,
        _ => REFUSED_429,
    };
    let _ = stream.try_write(answer);
}

/// The parts of a request head routing and the WebSocket handshake need.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Head {
    pub(crate) method: String,
    pub(crate) path: String,
    /// `Upgrade: websocket` was asked for.
    pub(crate) upgrade: bool,
    /// `Connection` names `upgrade`.
    pub(crate) connection_upgrade: bool,
    pub(crate) ws_key: Option<String>,
    pub(crate) ws_version: Option<String>,
    pub(crate) host: Option<String>,
    /// `Origin`, sent by browsers.
    pub(crate) origin: Option<String>,
    /// Every `X-Forwarded-For` header, joined with commas in order.
    pub(crate) forwarded_for: Option<String>,
}

/// What reading a head found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// A whole head of `len` bytes.
    Head(Head, usize),
    /// Not all of it is here yet.
    Partial,
    /// Not HTTP, or a head past the limits.
    Invalid,
}

/// Parses a request head at the start of `buf`.
pub(crate) fn parse_head(buf: &[u8]) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(_) => return Parsed::Invalid,
    };
    let (Some(method), Some(target)) = (req.method, req.path) else {
        return Parsed::Invalid;
    };
    let header = |name: &str| {
        req.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .and_then(|h| std::str::from_utf8(h.value).ok())
            .map(str::trim)
    };
    let head = Head {
        method: method.to_owned(),
        path: target.split('?').next().unwrap_or(target).to_owned(),
        upgrade: header("upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket")),
        connection_upgrade: header("connection").is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
        }),
        ws_key: header("sec-websocket-key").map(str::to_owned),
        ws_version: header("sec-websocket-version").map(str::to_owned),
        host: header("host").map(str::to_owned),
        origin: header("origin").map(str::to_owned),
        forwarded_for: {
            let hops: Vec<&str> = req
                .headers
                .iter()
                .filter(|h| h.name.eq_ignore_ascii_case("x-forwarded-for"))
                .filter_map(|h| std::str::from_utf8(h.value).ok())
                .map(str::trim)
                .collect();
            (!hops.is_empty()).then(|| hops.join(","))
        },
    };
    Parsed::Head(head, len)
}

/// Why no request head could be had.
#[derive(Debug, PartialEq, Eq)]
enum HeadError {
    /// The peer hung up (or reset) before the head was complete.
    HungUp,
    /// The deadline passed first.
    TimedOut,
    /// Not HTTP, or too long.
    Invalid,
}

/// Reads a request head by `deadline`. Returns it with whatever followed it in `buf`.
async fn read_head(
    stream: &mut Stream,
    buf: &mut Vec<u8>,
    deadline: Instant,
) -> Result<(Head, usize), HeadError> {
    loop {
        if buf.len() >= MAX_HEAD {
            return Err(HeadError::Invalid);
        }
        let start = buf.len();
        buf.resize(MAX_HEAD, 0);
        let read = tokio::time::timeout_at(deadline, stream.read(&mut buf[start..])).await;
        let n = match read {
            Err(_) => {
                buf.truncate(start);
                return Err(HeadError::TimedOut);
            }
            Ok(Ok(0) | Err(_)) => {
                buf.truncate(start);
                return Err(HeadError::HungUp);
            }
            Ok(Ok(n)) => n,
        };
        buf.truncate(start + n);
        match parse_head(buf) {
            Parsed::Head(head, len) => return Ok((head, len)),
            Parsed::Partial => {}
            Parsed::Invalid => return Err(HeadError::Invalid),
        }
    }
}

async fn handle(
    tcp: TcpStream,
    peer: SocketAddr,
    mut ticket: Ticket,
    shared: &Arc<Shared>,
) -> std::io::Result<()> {
    let _ = tcp.set_nodelay(true);
    let deadline = Instant::now() + shared.limits.handshake;
    let mut stream = match &shared.tls {
        None => Stream::Plain(tcp),
        Some(tls) => {
            let accepted = tokio::time::timeout_at(deadline, tls.acceptor().accept(tcp)).await;
            match accepted {
                Ok(Ok(s)) => Stream::Tls(Box::new(s)),
                failed => {
                    let why = match failed {
                        Ok(Err(e)) => e.to_string(),
                        _ => "timed out".to_owned(),
                    };
                    tracing::debug!(%peer, error = %why, "tls handshake failed");
                    shared.gate.abuse.record(
                        Abuse::TlsHandshake,
                        Some(ticket.ip()),
                        std::time::Instant::now(),
                    );
                    return Ok(());
                }
            }
        }
    };
    let mut buf = Vec::new();
    let (head, len) = match read_head(&mut stream, &mut buf, deadline).await {
        Ok(h) => h,
        Err(HeadError::Invalid) => {
            return respond(&mut stream, 400, "text/plain", b"bad request\n").await;
        }
        Err(e) => {
            tracing::debug!(%peer, error = ?e, "no request head");
            return Ok(());
        }
    };
    if shared.gate.is_trusted(peer.ip()) {
        let client = shared
            .gate
            .client_ip(peer.ip(), head.forwarded_for.as_deref());
        if ticket.rebind(client, std::time::Instant::now()).is_err() {
            return respond(&mut stream, 429, "text/plain", b"too many connections\n").await;
        }
    }
    match (head.method.as_str(), head.path.as_str()) {
        ("GET", "/ws") if head.upgrade => {
            if head.ws_version.as_deref() != Some("13") {
                return respond_with(
                    &mut stream,
                    426,
                    "sec-websocket-version: 13\r\n",
                    "text/plain",
                    b"websocket version 13 only\n",
                )
                .await;
            }
            if !allowed_origin(&shared.gate, &head, &ticket) {
                return respond(&mut stream, 403, "text/plain", b"origin not allowed\n").await;
            }
            let Some(key) = head.ws_key.as_deref().filter(|_| head.connection_upgrade) else {
                return respond(
                    &mut stream,
                    400,
                    "text/plain",
                    b"websocket upgrade needs Connection: upgrade and Sec-WebSocket-Key\n",
                )
                .await;
            };
            let accept = derive_accept_key(key.as_bytes());
            let answer = format!(
                "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: {accept}\r\n\r\n"
            );
            let written =
                tokio::time::timeout_at(deadline, stream.write_all(answer.as_bytes())).await;
            if !matches!(written, Ok(Ok(()))) {
                return Ok(());
            }
            let rest = buf.split_off(len);
            drop(buf);
            super::ws::serve(stream, rest, peer, ticket, shared, deadline).await;
            Ok(())
        }
        ("GET", "/healthz") => {
            if shared.draining.load(Ordering::Acquire) {
                respond(&mut stream, 503, "text/plain", b"draining\n").await
            } else {
                respond(&mut stream, 200, "text/plain", b"ok\n").await
            }
        }
        ("GET", "/metrics") => {
            let body = shared.metrics.render(&shared.report());
            respond(
                &mut stream,
                200,
                "text/plain; version=0.0.4; charset=utf-8",
                body.as_bytes(),
            )
            .await
        }
        ("GET", "/status.json") => {
            let body = serde_json::to_vec(&shared.report()).unwrap_or_default();
            respond(&mut stream, 200, "application/json", &body).await
        }
        ("GET", path)
            if let Some((_, content_type, body)) = ASSETS.iter().find(|a| a.0 == path) =>
        {
            respond(&mut stream, 200, content_type, body.as_bytes()).await
        }
        ("GET", "/") => {
            let body = status_page(shared);
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

/// Whether the upgrade's `Origin` may open the WebSocket; a refusal is counted.
fn allowed_origin(gate: &Gate, head: &Head, ticket: &Ticket) -> bool {
    let ok = gate.origin_allowed(head.origin.as_deref(), head.host.as_deref());
    if !ok {
        gate.abuse
            .record(Abuse::Origin, Some(ticket.ip()), std::time::Instant::now());
    }
    ok
}

async fn respond(
    stream: &mut Stream,
    status: u16,
    content_type: &str,
    body: &[u8],
) -> std::io::Result<()> {
    respond_with(stream, status, "", content_type, body).await
}

/// Answers with `status`, `headers` (whole lines) and `body`, then closes.
async fn respond_with(
    stream: &mut Stream,
    status: u16,
    headers: &str,
    content_type: &str,
    body: &[u8],
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        _ => "Service Unavailable",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\n{headers}content-type: {content_type}\r\ncontent-length: {}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n",
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
         Counters as JSON: <a href=/status.json>/status.json</a>, for Prometheus: <a href=/metrics>/metrics</a>. Health: <a href=/healthz>/healthz</a>.</p>\
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
    s.push_str("<h2>Shards</h2><table><tr><th>#</th><th>rooms</th><th>clients</th><th>parked</th><th>ticks</th><th>overruns</th><th>tick p50 ms</th><th>tick p99 ms</th><th>tick CPU p99 ms</th><th>queue</th><th>full / delta snapshots</th></tr>");
    for (i, sh) in r.shards.iter().enumerate() {
        let _ = write!(
            s,
            "<tr><td>{i}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{}</td><td>{} / {}</td></tr>",
            sh.rooms,
            sh.clients,
            sh.parked,
            sh.ticks,
            sh.overruns,
            sh.tick_p50_ms,
            sh.tick_p99_ms,
            sh.tick_cpu_p99_ms,
            sh.queue_depth,
            sh.full_snapshots,
            sh.delta_snapshots
        );
    }
    s.push_str("</table><h2>Closes by reason</h2><table>");
    for (name, n) in &r.closes {
        let _ = write!(s, "<tr><th>{name}</th><td>{n}</td></tr>");
    }
    let _ = write!(
        s,
        "</table><h2>Refused as abuse</h2><p>{} client addresses tracked, {} handshakes under way.</p><table>",
        r.abuse.tracked_ips, r.abuse.pending_handshakes
    );
    for (name, n) in r.abuse.refused.iter().filter(|(_, n)| *n > 0) {
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

    fn head(bytes: &[u8]) -> Option<Head> {
        match parse_head(bytes) {
            Parsed::Head(h, _) => Some(h),
            _ => None,
        }
    }

    #[test]
    fn parses_heads() {
        let h = head(
            b"GET /ws?x=1 HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        )
        .unwrap();
        assert_eq!(h.method, "GET");
        assert_eq!(h.path, "/ws");
        assert!(h.upgrade);
        let h = head(b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
        assert!(!h.upgrade);
        assert!(head(b"\xff\xfe").is_none());
        assert!(head(b"").is_none());
    }

    #[test]
    fn a_head_is_complete_only_at_its_blank_line() {
        let full = b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n\x82\x00";
        let len = full.len() - 2;
        for cut in 0..len {
            assert_eq!(parse_head(&full[..cut]), Parsed::Partial, "cut at {cut}");
        }
        let Parsed::Head(h, n) = parse_head(full) else {
            panic!("a whole head parses");
        };
        assert_eq!(n, len, "what follows the head is not part of it");
        assert!(h.upgrade && h.connection_upgrade);
        assert_eq!(h.ws_key.as_deref(), Some("dGhlIHNhbXBsZSBub25jZQ=="));
        assert_eq!(h.ws_version.as_deref(), Some("13"));
        assert_eq!(parse_head(b"\x16\x03\x01\x02\x00\x01\x00"), Parsed::Invalid);
        assert_eq!(parse_head(b"SSH-2.0-OpenSSH_9.2\r\n"), Parsed::Invalid);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// The request head is the one thing the HTTP side decodes itself: no bytes panic it.
        #[test]
        fn any_head_parses_or_is_refused(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            if let Parsed::Head(h, len) = parse_head(&bytes) {
                proptest::prop_assert!(!h.method.contains(' '));
                proptest::prop_assert!(!h.path.contains('?'));
                proptest::prop_assert!(len <= bytes.len());
            }
        }

        /// Any cut or bit flip of an upgrade head: a cut head is never taken for a whole one,
        /// and whatever parses whole is the head it ends with.
        #[test]
        fn mutated_upgrade_heads_parse_only_when_whole(cut in 0usize..80, flip in 0usize..80, bit in 0u8..8) {
            let mut head = b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n".to_vec();
            if flip < head.len() {
                head[flip] ^= 1 << bit;
            }
            head.truncate(cut.min(head.len()));
            match parse_head(&head) {
                // A line may end in a bare LF (httparse, like RFC 9112 section 2.2, allows it).
                Parsed::Head(_, len) => proptest::prop_assert!(head[..len].ends_with(b"\n\r\n") || head[..len].ends_with(b"\n\n")),
                Parsed::Partial => proptest::prop_assert!(!head.windows(4).any(|w| w == b"\r\n\r\n")),
                Parsed::Invalid => {}
            }
        }
    }
}
