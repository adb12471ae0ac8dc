//! Attacks on the game port, each with a player alongside: the attacker is refused or cut with
//! its reason, the server's connections and sessions come back to their baseline, and the
//! player keeps getting snapshots.
//!
//! Attackers connect from other loopback addresses (127.0.0.2 and up; Linux routes all of
//! 127/8 to the loopback interface) so the per-address limits hit them and not the player.

use std::net::SocketAddr;

use futures_util::{SinkExt, StreamExt};
use tickwire::Server;
use tickwire::client::{ActiveTransport, Client, ClientConfig, RtcClientPeer, WebRtcConfig};
use tickwire_protocol::message::{ClientMessage, ServerMessage, Signal};
use tickwire_protocol::{CloseCode, FRAME_INPUT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::harness::{
    RawWs, close_code, connect, hello, next_snapshot, resume_hello, send, start, start_with_player,
    test_config, welcome, within,
};

/// A TCP connection to `addr` from the loopback address `from`.
async fn tcp_from(addr: SocketAddr, from: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::new(from.parse().expect("ip"), 0))
        .expect("bind");
    within("a TCP connect", socket.connect(addr))
        .await
        .expect("connect")
}

/// Sends an upgrade head to `/ws` with `extra` header lines; returns the status and stream.
async fn upgrade(mut s: TcpStream, host: &str, extra: &str) -> (u16, TcpStream) {
    let head = format!(
        "GET /ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    );
    s.write_all(head.as_bytes()).await.expect("write head");
    let mut got = Vec::new();
    within("a response head", async {
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            let mut b = [0u8; 1];
            match s.read(&mut b).await {
                Ok(1) => got.push(b[0]),
                _ => break,
            }
        }
    })
    .await;
    let text = String::from_utf8_lossy(&got);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, s)
}

/// A WebSocket from the loopback address `from` (no Origin, like a bot).
async fn ws_from(addr: SocketAddr, from: &str) -> RawWs {
    let (status, s) = upgrade(tcp_from(addr, from).await, &addr.to_string(), "").await;
    assert_eq!(status, 101, "upgraded");
    WebSocketStream::from_raw_socket(MaybeTlsStream::Plain(s), Role::Client, None).await
}

/// A refused connection reads a 429/503 head, the end, or a reset, and nothing else.
async fn is_refused(mut s: TcpStream) -> bool {
    let mut buf = Vec::new();
    let read = within("the refusal", s.read_to_end(&mut buf)).await;
    let text = String::from_utf8_lossy(&buf);
    read.is_err()
        || buf.is_empty()
        || text.starts_with("HTTP/1.1 429")
        || text.starts_with("HTTP/1.1 503")
}

fn refused(server: &Server, reason: &str) -> u64 {
    server
        .report()
        .abuse
        .refused
        .iter()
        .find(|(name, _)| *name == reason)
        .map_or(0, |(_, n)| *n)
}

/// Waits until `done` holds for the server's report.
async fn until(
    server: &Server,
    what: &str,
    done: impl Fn(&tickwire::net::stats::StatusReport) -> bool,
) {
    within(what, async {
        while !done(&server.report()) {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
}

/// Back to the player alone: one TCP connection, one session, nothing parked, one address.
/// The player keeps getting snapshots meanwhile (and is polled, so it keeps acking).
async fn back_to_the_player(server: &Server, player: &mut Client) {
    let baseline = |r: &tickwire::net::stats::StatusReport| {
        r.tcp_open == 1
            && r.open_connections == 1
            && r.shards.iter().map(|s| s.clients).sum::<u64>() == 1
            && r.shards.iter().map(|s| s.parked).sum::<u64>() == 0
            && r.abuse.tracked_ips == 1
            && r.abuse.pending_handshakes == 0
    };
    within("the baseline", async {
        while !baseline(&server.report()) {
            next_snapshot(player).await;
        }
    })
    .await;
}

/// Frames from the server until its close frame: whether a `Close` message with `code` came
/// last before it, and the close frame's code.
async fn close_message_then_frame<S>(read: &mut S) -> (Option<CloseCode>, u16)
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    within("the Close message and close frame", async {
        let mut last_close = None;
        loop {
            match read.next().await {
                Some(Ok(Message::Binary(b))) => {
                    last_close = match ServerMessage::decode(&b) {
                        Ok(ServerMessage::Close(r)) => Some(r.code),
                        _ => None,
                    };
                }
                Some(Ok(Message::Close(Some(f)))) => return (last_close, u16::from(f.code)),
                Some(Ok(_)) => {}
                other => panic!("ended without a close frame: {other:?}"),
            }
        }
    })
    .await
}

/// Loopback clients limited like any other (they are exempt by default); parked sessions
/// expire soon, so the baseline comes back within the test.
fn short_grace() -> tickwire::Config {
    tickwire::Config {
        resume_grace_ms: 100,
        admission_exempt: Vec::new(),
        ..test_config()
    }
}

#[tokio::test]
async fn connections_per_address_and_unfinished_handshakes_are_capped_at_accept() {
    let mut config = short_grace();
    config.max_connections_per_ip = 6;
    config.max_pending_handshakes_per_ip = 4;
    let (ts, mut player) = start_with_player(config).await;
    let addr = ts.server.local_addr();

    // Silent sockets: four are admitted and wait for their head, the rest are refused.
    let mut silent = Vec::new();
    for _ in 0..20 {
        silent.push(tcp_from(addr, "127.0.0.2").await);
    }
    until(&ts.server, "twenty accepts", |r| r.tcp_accepted >= 21).await;
    assert_eq!(refused(&ts.server, "ip_pending_handshakes"), 16);
    assert_eq!(ts.server.report().abuse.pending_handshakes, 4);
    assert!(is_refused(silent.pop().expect("a socket")).await);
    drop(silent);
    next_snapshot(&mut player).await;

    // Sessions: six are admitted, the seventh connection is refused before its head.
    let mut sessions = Vec::new();
    for _ in 0..6 {
        let mut ws = ws_from(addr, "127.0.0.3").await;
        send(&mut ws, hello("arena", None)).await;
        welcome(&mut ws).await;
        sessions.push(ws);
    }
    let seventh = tcp_from(addr, "127.0.0.3").await;
    assert!(is_refused(seventh).await);
    assert_eq!(refused(&ts.server, "ip_connections"), 1);
    next_snapshot(&mut player).await;
    drop(sessions);
    back_to_the_player(&ts.server, &mut player).await;
    let before = next_snapshot(&mut player).await.tick;
    assert!(next_snapshot(&mut player).await.tick > before);
}

#[tokio::test]
async fn a_connect_flood_from_one_address_is_rate_limited() {
    let mut config = short_grace();
    config.connection_rate_per_ip = 5;
    config.connection_burst_per_ip = 10;
    let (ts, mut player) = start_with_player(config).await;
    let addr = ts.server.local_addr();

    for _ in 0..50 {
        drop(tcp_from(addr, "127.0.0.4").await);
    }
    until(&ts.server, "fifty accepts", |r| r.tcp_accepted >= 51).await;
    assert!(refused(&ts.server, "ip_connection_rate") >= 35);
    next_snapshot(&mut player).await;
    // The flooder's bucket refills and its entry goes.
    back_to_the_player(&ts.server, &mut player).await;
    next_snapshot(&mut player).await;
}

#[tokio::test]
async fn unfinished_handshakes_are_capped_server_wide() {
    let mut config = short_grace();
    config.max_pending_handshakes = 8;
    let (ts, mut player) = start_with_player(config).await;
    let addr = ts.server.local_addr();

    let mut silent = Vec::new();
    for i in 0..8 {
        silent.push(tcp_from(addr, &format!("127.0.1.{}", i + 1)).await);
    }
    until(&ts.server, "eight pending", |r| {
        r.abuse.pending_handshakes == 8
    })
    .await;
    let ninth = tcp_from(addr, "127.0.2.1").await;
    assert!(is_refused(ninth).await);
    assert_eq!(refused(&ts.server, "pending_handshakes"), 1);
    next_snapshot(&mut player).await;
    drop(silent);
    back_to_the_player(&ts.server, &mut player).await;
    // Room again for a newcomer.
    let mut newcomer = connect(&ts.url, "arena").await;
    next_snapshot(&mut newcomer).await;
}

#[tokio::test]
async fn a_trusted_proxy_has_its_clients_limited_by_forwarded_for() {
    let mut config = short_grace();
    config.trusted_proxies = vec!["127.0.0.1/32".parse().expect("cidr")];
    config.max_connections_per_ip = 2;
    let ts = start(config).await;
    let addr = ts.server.local_addr();
    let host = addr.to_string();
    let mut player = connect(&ts.url, "arena").await;
    next_snapshot(&mut player).await;

    let via_proxy = |client: &'static str| {
        let host = host.clone();
        async move {
            let s = TcpStream::connect(addr).await.expect("connect");
            upgrade(s, &host, &format!("X-Forwarded-For: {client}\r\n")).await
        }
    };
    let (a, _a) = via_proxy("203.0.113.5").await;
    let (b, _b) = via_proxy("198.51.100.1, 203.0.113.5").await;
    let (c, _c) = via_proxy("203.0.113.5").await;
    let (d, _d) = via_proxy("203.0.113.6").await;
    assert_eq!((a, b, c, d), (101, 101, 429, 101));
    assert_eq!(refused(&ts.server, "ip_connections"), 1);

    // From a peer that is not a proxy, the header means nothing.
    let (e, _e) = upgrade(
        tcp_from(addr, "127.0.0.5").await,
        &host,
        "X-Forwarded-For: 203.0.113.5\r\n",
    )
    .await;
    assert_eq!(e, 101);
    next_snapshot(&mut player).await;
}

#[tokio::test]
async fn foreign_origins_get_403_at_the_upgrade() {
    let ts = start(short_grace()).await;
    let addr = ts.server.local_addr();
    let host = addr.to_string();
    let mut player = connect(&ts.url, "arena").await;
    next_snapshot(&mut player).await;

    let status = |origin: String| {
        let host = host.clone();
        async move {
            let s = TcpStream::connect(addr).await.expect("connect");
            upgrade(s, &host, &origin).await.0
        }
    };
    assert_eq!(status("Origin: https://evil.example\r\n".into()).await, 403);
    assert_eq!(status("Origin: null\r\n".into()).await, 403);
    assert_eq!(status(format!("Origin: http://{host}\r\n")).await, 101);
    assert_eq!(
        status("Origin: http://localhost:5173\r\n".into()).await,
        101
    );
    assert_eq!(status(String::new()).await, 101, "no Origin: not a browser");
    assert_eq!(refused(&ts.server, "origin"), 2);
    // The counters are in /status.json.
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(b"GET /status.json HTTP/1.1\r\nHost: a\r\n\r\n")
        .await
        .expect("write");
    let mut body = Vec::new();
    within("/status.json", s.read_to_end(&mut body))
        .await
        .expect("read");
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains(r#"["origin",2]"#), "{text}");
    back_to_the_player(&ts.server, &mut player).await;
    next_snapshot(&mut player).await;
}

/// Floods `ws` with `frame` from a writer task while the test reads; returns what the
/// server's last frames were.
async fn flood(ws: RawWs, frame: Message) -> (Option<CloseCode>, u16) {
    let (mut write, mut read) = ws.split();
    let writer = tokio::spawn(async move { while write.send(frame.clone()).await.is_ok() {} });
    let got = close_message_then_frame(&mut read).await;
    writer.abort();
    got
}

#[tokio::test]
async fn ping_and_byte_floods_are_cut_with_their_close_message() {
    let mut config = short_grace();
    config.client_byte_rate = 1024;
    config.client_byte_burst = 2048;
    config.max_message_size = 2048;
    let (ts, mut player) = start_with_player(config).await;
    let addr = ts.server.local_addr();

    async fn joined(addr: SocketAddr, from: &str) -> RawWs {
        let mut ws = ws_from(addr, from).await;
        send(&mut ws, hello("arena", None)).await;
        welcome(&mut ws).await;
        ws
    }
    let rate_limited = Some(CloseCode::RATE_LIMITED);
    let code = CloseCode::RATE_LIMITED.websocket_code();

    // Empty WebSocket pings pay the message rate.
    let got = flood(
        joined(addr, "127.0.0.6").await,
        Message::Ping(Vec::new().into()),
    )
    .await;
    assert_eq!(got, (rate_limited, code));
    assert_eq!(refused(&ts.server, "message_rate"), 1);

    // Full-size pings pay the byte rate long before the message rate.
    let got = flood(
        joined(addr, "127.0.0.7").await,
        Message::Ping(vec![7; 125].into()),
    )
    .await;
    assert_eq!(got, (rate_limited, code));
    assert_eq!(refused(&ts.server, "byte_rate"), 1);

    // Inputs, sent without pause: the Close message still comes before the close frame.
    let got = flood(
        joined(addr, "127.0.0.8").await,
        Message::Binary(vec![FRAME_INPUT, 0x00].into()),
    )
    .await;
    assert_eq!(got, (rate_limited, code));

    next_snapshot(&mut player).await;
    back_to_the_player(&ts.server, &mut player).await;
    next_snapshot(&mut player).await;
}

#[tokio::test]
async fn the_handshake_is_a_hello_and_inputs_wait_for_the_welcome() {
    let (ts, mut player) = start_with_player(short_grace()).await;
    let addr = ts.server.local_addr();
    let bad_handshake = CloseCode::BAD_HANDSHAKE.websocket_code();

    // An input as the first frame, a control frame that is not a hello, and text.
    let mut ws = ws_from(addr, "127.0.0.9").await;
    send(&mut ws, vec![FRAME_INPUT, 0]).await;
    assert_eq!(close_code(&mut ws).await, bad_handshake);
    let mut ws = ws_from(addr, "127.0.0.9").await;
    send(&mut ws, vec![tickwire_protocol::FRAME_CONTROL, 0xee]).await;
    assert_eq!(close_code(&mut ws).await, bad_handshake);
    let mut ws = ws_from(addr, "127.0.0.9").await;
    ws.send(Message::Text("hello".into())).await.expect("send");
    assert_eq!(close_code(&mut ws).await, bad_handshake);

    // A hello and an input right behind it, before any welcome could have arrived.
    let mut ws = ws_from(addr, "127.0.0.9").await;
    let mut both = hello("arena", None);
    let h = both.len();
    both.extend_from_slice(&[FRAME_INPUT, 0]);
    ws.feed(Message::Binary(both[..h].to_vec().into()))
        .await
        .expect("feed");
    ws.send(Message::Binary(both[h..].to_vec().into()))
        .await
        .expect("send");
    let (last, code) = close_message_then_frame(&mut ws).await;
    assert_eq!(
        (last, code),
        (Some(CloseCode::BAD_HANDSHAKE), bad_handshake)
    );

    next_snapshot(&mut player).await;
    back_to_the_player(&ts.server, &mut player).await;
}

#[tokio::test]
async fn resume_tokens_are_single_use_rotated_and_unknown_ones_fail() {
    let (ts, mut player) = start_with_player(short_grace()).await;
    let addr = ts.server.local_addr();
    let first = player.welcome().expect("welcome").resume_token;

    // A resume gets a fresh token; the one it used is spent.
    within("reconnect", player.reconnect(&ts.url))
        .await
        .expect("reconnect");
    let w = player.welcome().expect("welcome").clone();
    assert!(w.resumed);
    assert_ne!(w.resume_token, first, "rotated");
    within("reconnect again", player.reconnect(&ts.url))
        .await
        .expect("the client resumes with the newest token");
    assert!(player.welcome().expect("welcome").resumed);
    let newest = player.welcome().expect("welcome").resume_token;
    next_snapshot(&mut player).await;

    let resume_failed = CloseCode::RESUME_FAILED.websocket_code();
    for token in [first, w.resume_token, [0x5a; 16]] {
        let mut ws = ws_from(addr, "127.0.0.10").await;
        send(&mut ws, resume_hello("arena", token)).await;
        let (last, code) = close_message_then_frame(&mut ws).await;
        assert_eq!(
            (last, code),
            (Some(CloseCode::RESUME_FAILED), resume_failed)
        );
    }
    // In a room that does not exist, too (and none is made for it).
    let mut ws = ws_from(addr, "127.0.0.10").await;
    send(&mut ws, resume_hello("nowhere", newest)).await;
    assert_eq!(close_code(&mut ws).await, resume_failed);
    until(&ts.server, "four failures counted", |r| {
        r.abuse
            .refused
            .iter()
            .any(|(n, c)| *n == "resume_failed" && *c == 4)
    })
    .await;
    next_snapshot(&mut player).await;

    // The newest token from another connection takes the session over; the player is told.
    let mut thief = ws_from(addr, "127.0.0.11").await;
    send(&mut thief, resume_hello("arena", newest)).await;
    assert!(welcome(&mut thief).await.resumed);
    within("the replaced close", async {
        loop {
            match player.next_event().await {
                Some(tickwire_protocol::session::ClientEvent::Closed(r)) => {
                    assert_eq!(r.code, CloseCode::REPLACED);
                    return;
                }
                Some(_) => {}
                None => panic!("ended without the replaced close: {:?}", player.end()),
            }
        }
    })
    .await;
}

#[tokio::test]
async fn guessing_resume_tokens_is_rate_limited_per_address() {
    let (ts, mut player) = start_with_player(short_grace()).await;
    let addr = ts.server.local_addr();

    let resume_failed = CloseCode::RESUME_FAILED.websocket_code();
    let rate_limited = CloseCode::RATE_LIMITED.websocket_code();
    let mut failures = 0;
    within("the guesser to be rate limited", async {
        for guess in 0u8.. {
            let mut ws = ws_from(addr, "127.0.0.13").await;
            send(&mut ws, resume_hello("arena", [guess; 16])).await;
            let (last, code) = close_message_then_frame(&mut ws).await;
            if code == rate_limited {
                assert_eq!(last, Some(CloseCode::RATE_LIMITED));
                return;
            }
            assert_eq!(code, resume_failed);
            failures += 1;
        }
    })
    .await;
    assert!(failures >= 8, "a burst of failures is allowed: {failures}");
    assert!(refused(&ts.server, "resume_rate") >= 1);
    // Another address is not affected.
    let mut ws = ws_from(addr, "127.0.0.14").await;
    send(&mut ws, resume_hello("arena", [0xaa; 16])).await;
    assert_eq!(close_code(&mut ws).await, resume_failed);
    next_snapshot(&mut player).await;
    back_to_the_player(&ts.server, &mut player).await;
}

async fn signal(ws: &mut RawWs, s: Signal) -> bool {
    let mut buf = Vec::new();
    ClientMessage::Signal(s).encode(&mut buf);
    ws.send(Message::Binary(buf.into())).await.is_ok()
}

/// A connection that offers `sdp` as often as the server takes offers and never sends a
/// datagram; it reads (and drops) what the server sends so it is never a slow consumer.
async fn fake_offerer(addr: SocketAddr, from: String, sdp: String) {
    let mut ws = ws_from(addr, &from).await;
    send(&mut ws, hello("arena", None)).await;
    welcome(&mut ws).await;
    // The pace of the attack, not a wait for an event: just past the minimum offer interval.
    let mut pace = tokio::time::interval(std::time::Duration::from_millis(520));
    loop {
        tokio::select! {
            _ = pace.tick() => {
                if !signal(&mut ws, Signal::Offer { sdp: sdp.clone() }).await {
                    return;
                }
            }
            m = ws.next() => if !matches!(m, Some(Ok(_))) {
                return;
            },
        }
    }
}

#[tokio::test]
async fn offers_without_ice_do_not_keep_a_real_client_from_upgrading() {
    let mut config = short_grace();
    config.webrtc_max_pending = 8;
    config.webrtc_max_pending_per_ip = 2;
    let (ts, mut player) = start_with_player(config).await;
    let addr = ts.server.local_addr();

    // A real offer, made by the client's offerer, whose peer is never driven.
    let (_never_driven, sdp, _) = RtcClientPeer::offer([127, 0, 0, 1].into(), None)
        .await
        .expect("offer");
    // One address with five connections gets two negotiating slots, no more.
    let mut attackers: Vec<_> = (0..5)
        .map(|_| tokio::spawn(fake_offerer(addr, "127.0.4.1".into(), sdp.clone())))
        .collect();
    until(&ts.server, "the per-address cap", |r| {
        r.abuse
            .refused
            .iter()
            .any(|(n, c)| *n == "webrtc_pending_ip" && *c >= 3)
    })
    .await;
    // Ten more addresses fill the rest.
    attackers.extend((0..10).map(|i| {
        tokio::spawn(fake_offerer(
            addr,
            format!("127.0.3.{}", i + 1),
            sdp.clone(),
        ))
    }));
    until(&ts.server, "the negotiating slots full", |r| {
        r.webrtc.as_ref().is_some_and(|w| w.pending == 8)
    })
    .await;

    let mut cfg = ClientConfig::for_room("arena");
    cfg.webrtc = Some(WebRtcConfig {
        open_timeout: std::time::Duration::from_secs(10),
        retry_initial: std::time::Duration::from_millis(200),
        retry_max: std::time::Duration::from_secs(1),
        ..WebRtcConfig::default()
    });
    let mut upgrader = within("connect", Client::connect(&ts.url, cfg))
        .await
        .expect("connects");
    within("the upgrade", async {
        while upgrader.transport() != ActiveTransport::WebRtc {
            next_snapshot(&mut upgrader).await;
        }
    })
    .await;
    next_snapshot(&mut upgrader).await;
    next_snapshot(&mut player).await;
    // The slots it found were freed by reaping offers that never sent a datagram.
    assert!(refused(&ts.server, "webrtc_no_ice") >= 1);

    for a in attackers {
        a.abort();
    }
    drop(upgrader);
    back_to_the_player(&ts.server, &mut player).await;
    until(&ts.server, "no peer left", |r| {
        r.webrtc
            .as_ref()
            .is_some_and(|w| w.peers == 0 && w.pending == 0)
    })
    .await;
    next_snapshot(&mut player).await;
}
