//! `/metrics` after a scripted game: valid for `promtool check metrics`, and the same numbers
//! as `/status.json` read right after it.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::{Command, Stdio};

use futures_util::SinkExt as _;
use serde_json::Value;
use tickwire_protocol::CloseCode;
use tokio_tungstenite::tungstenite::Message;

use crate::harness::{
    close_code, connect, http_get, input, next_snapshot, raw, start, test_config, within,
};

/// `promtool`, installed from Debian's `prometheus` package when missing and this runs as root
/// with apt; otherwise the test fails saying what to install.
fn promtool() -> &'static str {
    let found = || {
        Command::new("promtool")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if found() {
        return "promtool";
    }
    #[cfg(target_os = "linux")]
    let root = rustix::process::geteuid().is_root();
    #[cfg(not(target_os = "linux"))]
    let root = false;
    if root && Command::new("apt-get").arg("--version").output().is_ok() {
        let install = || {
            Command::new("apt-get")
                .args([
                    "install",
                    "-y",
                    "-qq",
                    "--no-install-recommends",
                    "prometheus",
                ])
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status()
                .is_ok_and(|s| s.success())
        };
        if !install() {
            let _ = Command::new("apt-get").args(["update", "-qq"]).status();
            install();
        }
    }
    assert!(
        found(),
        "this test needs promtool: install Debian's `prometheus` package \
         (apt-get install -y --no-install-recommends prometheus), or put promtool on PATH"
    );
    "promtool"
}

/// Every sample of an exposition: `name{labels}` → value.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').expect("a sample line");
            (series.to_owned(), value.parse().expect("a number"))
        })
        .collect()
}

fn get(m: &BTreeMap<String, f64>, series: &str) -> u64 {
    match m.get(series) {
        Some(v) => *v as u64,
        None => panic!("no series {series} in /metrics"),
    }
}

fn u(v: &Value) -> u64 {
    v.as_u64().expect("a count")
}

#[tokio::test]
async fn metrics_pass_promtool_and_match_status_json() {
    let promtool = promtool();
    let ts = start(test_config()).await;
    let addr = ts.server.local_addr();
    let layout = ts.server.layout().clone();

    // A short game: three players in two rooms move for a while, then leave.
    let mut clients = Vec::new();
    for room in ["arena", "arena", "duel"] {
        clients.push(connect(&ts.url, room).await);
    }
    for (i, c) in clients.iter_mut().enumerate() {
        for step in 0..10 {
            let dx = if (i + step) % 2 == 0 { 1.0 } else { -1.0 };
            c.send_input(&input(&layout, dx, 0.5)).await.expect("input");
            next_snapshot(c).await;
        }
    }
    for c in &mut clients {
        within("leaving", c.close()).await.expect("close");
    }
    // And one that breaks the rules, for a counted close.
    let mut rude = raw(&ts.url).await;
    rude.send(Message::Text("hello?".into()))
        .await
        .expect("send");
    assert_eq!(
        close_code(&mut rude).await,
        CloseCode::BAD_HANDSHAKE.websocket_code()
    );
    // Once the rooms are gone and no connection is open, only ticks move.
    within("the clients to be gone", async {
        loop {
            let r = ts.server.report();
            let idle = r.open_connections == 0
                && r.tcp_open == 0
                && r.shards.iter().all(|s| s.rooms == 0 && s.clients == 0);
            if idle {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;

    let (status, text) = http_get(addr, "/metrics").await;
    assert_eq!(status, 200, "{text}");
    let (_, json) = http_get(addr, "/status.json").await;
    let s: Value = serde_json::from_str(&json).expect("status JSON");

    let mut check = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs");
    check
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write to promtool");
    let out = check.wait_with_output().expect("promtool ends");
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let m = samples(&text);
    // Counters that nothing moves once the clients are gone: equal.
    let ws = |name: &str| format!("{name}{{transport=\"websocket\"}}");
    let rtc = |name: &str| format!("{name}{{transport=\"webrtc\"}}");
    for (name, key) in [
        ("tickwire_bytes_sent_total", "bytes_out"),
        ("tickwire_bytes_received_total", "bytes_in"),
        ("tickwire_frames_sent_total", "frames_out"),
        ("tickwire_frames_received_total", "frames_in"),
    ] {
        assert_eq!(
            get(&m, &ws(name)) + get(&m, &rtc(name)),
            u(&s[key]),
            "{name}"
        );
        assert_eq!(
            get(&m, &rtc(name)),
            u(&s[&format!("webrtc_{key}")]),
            "{name}"
        );
    }
    assert!(get(&m, &ws("tickwire_bytes_sent_total")) > 0);
    assert_eq!(get(&m, "tickwire_websocket_sessions_total"), 4);
    assert_eq!(u(&s["connections"]), 4);
    // The /status.json request is one more TCP connection, accepted after /metrics rendered;
    // each request sees itself open.
    assert_eq!(
        get(&m, "tickwire_tcp_connections_total") + 1,
        u(&s["tcp_accepted"])
    );
    assert_eq!(get(&m, "tickwire_tcp_connections_open"), 1);
    assert_eq!(u(&s["tcp_open"]), 1);
    assert_eq!(get(&m, &ws("tickwire_connections")), 0);
    assert_eq!(get(&m, &rtc("tickwire_connections")), 0);
    assert_eq!(
        get(&m, "tickwire_inbound_dropped_total"),
        u(&s["inbound_dropped"])
    );
    assert_eq!(get(&m, "tickwire_draining"), 0);
    let closes: BTreeMap<String, u64> = s["closes"]
        .as_array()
        .expect("closes")
        .iter()
        .map(|c| (c[0].as_str().expect("name").to_owned(), u(&c[1])))
        .collect();
    assert_eq!(closes.get("bad_handshake"), Some(&1), "{closes:?}");
    for code in CloseCode::ALL {
        let series = format!("tickwire_closes_total{{reason=\"{}\"}}", code.name());
        assert_eq!(
            get(&m, &series),
            closes.get(code.name()).copied().unwrap_or(0),
            "{series}"
        );
    }
    let w = &s["webrtc"];
    assert_eq!(get(&m, "tickwire_webrtc_peers"), u(&w["peers"]));
    assert_eq!(
        get(&m, "tickwire_webrtc_datagrams_received_total"),
        u(&w["datagrams_in"])
    );

    let shards = s["shards"].as_array().expect("shards");
    let mut inputs = 0;
    for (i, sh) in shards.iter().enumerate() {
        let l = |name: &str| format!("{name}{{shard=\"{i}\"}}");
        let lk = |name: &str, k: &str, v: &str| format!("{name}{{shard=\"{i}\",{k}=\"{v}\"}}");
        for (name, key) in [
            ("tickwire_clients", "clients"),
            ("tickwire_rooms", "rooms"),
            ("tickwire_parked_sessions", "parked"),
        ] {
            assert_eq!(get(&m, &l(name)), 0, "{name}");
            assert_eq!(u(&sh[key]), 0, "{key}");
        }
        let full = get(&m, &lk("tickwire_snapshots_total", "kind", "full"));
        let delta = get(&m, &lk("tickwire_snapshots_total", "kind", "delta"));
        assert_eq!(full, u(&sh["full_snapshots"]));
        assert_eq!(delta, u(&sh["delta_snapshots"]));
        assert_eq!(get(&m, &l("tickwire_snapshot_bytes_count")), full + delta);
        assert_eq!(
            get(&m, &l("tickwire_snapshot_bytes_sum")),
            u(&sh["snapshot_bytes"])
        );
        let sizes = sh["snapshot_histogram_bytes"].as_array().expect("sizes");
        let mut below = 0;
        for b in sizes {
            below += u(&b[1]);
            let bound = u(&b[0]);
            if bound != u64::MAX {
                let series =
                    format!("tickwire_snapshot_bytes_bucket{{shard=\"{i}\",le=\"{bound}\"}}");
                assert_eq!(get(&m, &series), below, "{series}");
            }
        }
        assert_eq!(below, full + delta);
        let applied = get(&m, &lk("tickwire_inputs_total", "outcome", "applied"));
        assert_eq!(applied, u(&sh["inputs"]));
        assert_eq!(
            get(&m, &lk("tickwire_inputs_total", "outcome", "late")),
            u(&sh["late_inputs"])
        );
        inputs += applied;
        assert_eq!(
            get(&m, &l("tickwire_snapshots_superseded_total")),
            u(&sh["superseded"])
        );
        // The shards tick on between the two reads: never fewer in the later one.
        let ticks = get(&m, &l("tickwire_ticks_total"));
        assert!(ticks > 0 && ticks <= u(&sh["ticks"]));
        assert!(get(&m, &l("tickwire_tick_overruns_total")) <= u(&sh["overruns"]));
        let recorded: u64 = sh["tick_histogram_us"]
            .as_array()
            .expect("tick histogram")
            .iter()
            .map(|b| u(&b[1]))
            .sum();
        let count = get(&m, &l("tickwire_tick_duration_seconds_count"));
        assert!(
            count > 0 && count <= recorded,
            "{count} ticks, then {recorded}"
        );
        assert_eq!(
            get(
                &m,
                &format!("tickwire_tick_duration_seconds_bucket{{shard=\"{i}\",le=\"+Inf\"}}")
            ),
            count
        );
    }
    assert!(inputs > 0, "the players' inputs were applied");
}
