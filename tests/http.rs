//! The game port's HTTP side under clients that never finish a request head, hang up halfway,
//! or are not HTTP at all, with a player alongside.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::{
    PATIENCE, connect, next_snapshot, start, start_with_player, test_config, within,
};

/// Heads that never complete: cut HTTP (CRLF and LF-only), a TLS ClientHello, an SSH banner.
const UNFINISHED: [&[u8]; 4] = [
    b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n",
    b"GET /healthz HTTP/1.1\nHost: a\n",
    b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
    b"SSH-2.0-OpenSSH_9.2p1\r\n",
];

/// Waits until the server has `n` TCP connections open, whatever kind.
async fn tcp_open_reaches(server: &tickwire::Server, n: u64) {
    within("the open TCP connections to come back", async {
        while server.report().tcp_open != n {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
}

/// Waits until the server has accepted `n` TCP connections in all.
async fn tcp_accepted_reaches(server: &tickwire::Server, n: u64) {
    within("the connections to be accepted", async {
        while server.report().tcp_accepted < n {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn a_head_cut_by_a_hang_up_ends_its_connection_at_once() {
    // A deadline far longer than the test: only the hang-up can end these connections.
    let mut config = test_config();
    config.handshake_timeout_ms = 10 * PATIENCE.as_millis() as u64;
    let (ts, mut player) = start_with_player(config).await;
    let addr = ts.server.local_addr();
    let baseline = ts.server.report().tcp_open;
    assert_eq!(baseline, 1, "the player's connection");

    for round in 0..50 {
        let mut attackers = Vec::new();
        for head in UNFINISHED {
            let mut s = TcpStream::connect(addr).await.expect("connect");
            s.write_all(head).await.expect("write");
            attackers.push(s);
        }
        // Every attacker is counted from its accept, before any upgrade. The heads that are not
        // HTTP are answered with a 400 at once; the cut HTTP ones wait for more.
        tcp_accepted_reaches(&ts.server, 1 + (round + 1) * UNFINISHED.len() as u64).await;
        drop(attackers);
        tcp_open_reaches(&ts.server, baseline).await;
        if round % 10 == 0 {
            next_snapshot(&mut player).await;
        }
    }
    let before = next_snapshot(&mut player).await.tick;
    let after = next_snapshot(&mut player).await.tick;
    assert!(after > before, "the player still gets every new tick");
    assert_eq!(
        ts.server.report().tcp_accepted,
        1 + 50 * UNFINISHED.len() as u64
    );
}

#[tokio::test]
async fn a_head_that_never_ends_is_cut_at_the_deadline() {
    let mut config = test_config();
    config.handshake_timeout_ms = 300;
    let ts = start(config).await;
    let addr = ts.server.local_addr();
    let mut player = connect(&ts.url, "arena").await;
    let mut attackers = Vec::new();
    for head in UNFINISHED {
        let mut s = TcpStream::connect(addr).await.expect("connect");
        s.write_all(head).await.expect("write");
        attackers.push(s);
    }
    // Slowloris: one more byte now and then does not move the deadline.
    let mut slow = TcpStream::connect(addr).await.expect("connect");
    let mut closed = within("the slow head to be cut", async {
        for b in b"GET / HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
            if slow.write_all(&[*b]).await.is_err() {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        false
    })
    .await;
    let mut buf = [0u8; 64];
    // The server closed the slow one: its read ends (or the write above already failed).
    if !closed {
        closed = matches!(within("EOF", slow.read(&mut buf)).await, Ok(0) | Err(_));
    }
    assert!(closed, "a slowloris head is cut at the deadline");
    for (mut s, head) in attackers.into_iter().zip(UNFINISHED) {
        let mut answer = Vec::new();
        let _ = within(
            "the server to close an unfinished head",
            s.read_to_end(&mut answer),
        )
        .await;
        let http = head.starts_with(b"GET");
        assert!(
            if http {
                answer.is_empty()
            } else {
                answer.starts_with(b"HTTP/1.1 400 ")
            },
            "a cut HTTP head is closed without an answer, anything else gets a 400: {:?}",
            String::from_utf8_lossy(&answer)
        );
    }
    tcp_open_reaches(&ts.server, 1).await;
    next_snapshot(&mut player).await;
}

#[tokio::test]
async fn bad_upgrades_get_400_or_426_and_bad_heads_400() {
    let ts = start(test_config()).await;
    let addr = ts.server.local_addr();
    let ask = |req: &'static [u8]| async move {
        let mut s = TcpStream::connect(addr).await.expect("connect");
        s.write_all(req).await.expect("write");
        let mut answer = Vec::new();
        within("an answer", s.read_to_end(&mut answer))
            .await
            .expect("read");
        String::from_utf8_lossy(&answer).into_owned()
    };
    let no_key = ask(b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n").await;
    assert!(no_key.starts_with("HTTP/1.1 400 "), "{no_key}");
    let old = ask(b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n").await;
    assert!(old.starts_with("HTTP/1.1 426 "), "{old}");
    assert!(
        old.to_ascii_lowercase()
            .contains("sec-websocket-version: 13"),
        "{old}"
    );
    let garbage = ask(b"\x00\x01\x02 not http\r\n\r\n").await;
    assert!(garbage.starts_with("HTTP/1.1 400 "), "{garbage}");
    let health = ask(b"GET /healthz HTTP/1.1\nHost: a\n\n").await;
    assert!(
        health.starts_with("HTTP/1.1 200 ") && health.ends_with("ok\n"),
        "{health}"
    );
    tcp_open_reaches(&ts.server, 0).await;
}
