//! Draining: `/healthz` turns 503 at once, newcomers are refused with `draining`, connected
//! players keep getting snapshots until the last one leaves or the drain times out, and then
//! everyone left gets `server_shutdown`. Through `Server` and through the binary's signals.

use tickwire::server::DrainOutcome;
use tickwire_protocol::CloseCode;

use crate::harness::{
    PATIENCE, close_code, connect, http_get, next_snapshot, raw, snapshots_until_closed, start,
    start_with_player, test_config, within,
};

#[tokio::test]
async fn a_drain_keeps_players_playing_refuses_newcomers_then_shuts_down() {
    let mut config = test_config();
    config.drain_timeout_ms = 1_500;
    let ts = start(config).await;
    let addr = ts.server.local_addr();
    let mut players = vec![
        connect(&ts.url, "arena").await,
        connect(&ts.url, "arena").await,
    ];
    for p in &mut players {
        next_snapshot(p).await;
    }
    assert_eq!(http_get(addr, "/healthz").await.0, 200);

    ts.server.drain();
    // No wait: the flag is what /healthz and the upgrade read.
    let (status, body) = http_get(addr, "/healthz").await;
    assert_eq!((status, body.as_str()), (503, "draining\n"));
    assert!(ts.server.report().draining);
    let mut newcomer = raw(&ts.url).await;
    assert_eq!(
        close_code(&mut newcomer).await,
        CloseCode::DRAINING.websocket_code()
    );
    // The players play on through the drain, on new ticks.
    for p in &mut players {
        let before = next_snapshot(p).await.tick;
        assert!(next_snapshot(p).await.tick > before);
    }

    let server = ts.server;
    let drain = tokio::spawn(async move {
        server
            .drain_then_shutdown(std::time::Duration::from_secs(5))
            .await
    });
    for p in &mut players {
        let (reason, snapshots) = snapshots_until_closed(p).await;
        assert_eq!(reason.code, CloseCode::SERVER_SHUTDOWN, "{reason:?}");
        assert!(!reason.message.is_empty());
        assert!(
            snapshots > 0,
            "snapshots kept coming until the drain timed out"
        );
    }
    let outcome = within("the drain to end", drain).await.expect("drain task");
    assert_eq!(outcome, DrainOutcome::TimedOut);
}

#[tokio::test]
async fn the_draining_close_carries_a_retry_hint() {
    let ts = start(test_config()).await;
    ts.server.drain();
    let refused = within(
        "the refusal",
        tickwire::client::Client::connect(
            &ts.url,
            tickwire::client::ClientConfig::for_room("arena"),
        ),
    )
    .await;
    let reason = match refused {
        Err(tickwire::client::ClientError::Refused(reason)) => reason,
        Err(e) => panic!("refused with a reason, not {e}"),
        Ok(_) => panic!("a draining server admitted a session"),
    };
    assert_eq!(reason.code, CloseCode::DRAINING);
    assert_eq!(reason.code.name(), "draining");
    assert!(reason.message.contains("retry in"), "{}", reason.message);
}

#[tokio::test]
async fn a_drain_ends_when_the_last_player_leaves() {
    let mut config = test_config();
    // Far longer than the test may take: only the player leaving ends this drain.
    config.drain_timeout_ms = 10 * PATIENCE.as_millis() as u64;
    let (ts, mut player) = start_with_player(config).await;
    ts.server.drain();
    next_snapshot(&mut player).await;
    assert!(!ts.server.is_empty());
    within("leaving", player.close()).await.expect("close");
    let outcome = within(
        "the drain to end",
        ts.server
            .drain_then_shutdown(std::time::Duration::from_secs(5)),
    )
    .await;
    assert_eq!(outcome, DrainOutcome::Emptied);
}

/// The `tickwire` binary under SIGTERM.
#[cfg(target_os = "linux")]
mod binary {
    use std::io::BufRead as _;
    use std::net::SocketAddr;
    use std::process::{Child, Command, ExitStatus, Stdio};

    use rustix::process::{Pid, Signal, kill_process};
    use tickwire_protocol::CloseCode;

    use crate::harness::{
        PATIENCE, close_code, connect, http_get, next_snapshot, raw, snapshots_until_closed, within,
    };

    /// Starts the binary on port 0 with `drain_timeout_ms`; returns it and the address it
    /// logged.
    fn spawn(drain_timeout_ms: u64) -> (Child, SocketAddr) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tickwire"))
            .args([
                "--listen",
                "127.0.0.1:0",
                "--webrtc-udp",
                "off",
                "--shard-nice",
                "0",
                "--log-format",
                "json",
                "--drain-timeout-ms",
                &drain_timeout_ms.to_string(),
            ])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads the log to its end, so the binary never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
                    continue;
                };
                if v["fields"]["message"] == "tickwire listening"
                    && let Some(addr) = v["fields"]["local_addr"].as_str()
                {
                    let _ = tx.send(addr.parse::<SocketAddr>().expect("an address"));
                }
            }
        });
        let addr = rx
            .recv_timeout(PATIENCE)
            .expect("the binary logs the address it listens on");
        (child, addr)
    }

    fn signal(child: &Child) {
        kill_process(Pid::from_child(child), Signal::TERM).expect("SIGTERM");
    }

    async fn exit_status(mut child: Child) -> ExitStatus {
        within(
            "the binary to exit",
            tokio::task::spawn_blocking(move || child.wait()),
        )
        .await
        .expect("wait task")
        .expect("wait")
    }

    /// Polls `/healthz` until it answers 503 (the signal is handled on the binary's own time).
    async fn until_draining(addr: SocketAddr) {
        within("/healthz to answer 503", async {
            while http_get(addr, "/healthz").await.0 != 503 {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        })
        .await;
    }

    #[tokio::test]
    async fn sigterm_drains_then_tells_the_players_and_exits_zero() {
        let (child, addr) = spawn(1_500);
        let url = format!("ws://{addr}/ws");
        let mut player = connect(&url, "arena").await;
        next_snapshot(&mut player).await;
        signal(&child);
        until_draining(addr).await;
        let mut newcomer = raw(&url).await;
        assert_eq!(
            close_code(&mut newcomer).await,
            CloseCode::DRAINING.websocket_code()
        );
        let (reason, snapshots) = snapshots_until_closed(&mut player).await;
        assert_eq!(reason.code, CloseCode::SERVER_SHUTDOWN, "{reason:?}");
        assert!(snapshots > 0, "the player played on during the drain");
        let status = exit_status(child).await;
        assert!(status.success(), "{status}");
    }

    #[tokio::test]
    async fn a_second_sigterm_exits_at_once() {
        // A drain that outlasts the test: only the second signal can end the process in time.
        let (child, addr) = spawn(10 * PATIENCE.as_millis() as u64);
        let url = format!("ws://{addr}/ws");
        let mut player = connect(&url, "arena").await;
        next_snapshot(&mut player).await;
        signal(&child);
        until_draining(addr).await;
        next_snapshot(&mut player).await;
        signal(&child);
        let status = exit_status(child).await;
        assert_eq!(
            status.code(),
            Some(1),
            "a stop without the drain is a failure"
        );
    }
}
